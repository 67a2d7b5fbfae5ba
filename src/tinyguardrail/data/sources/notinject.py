"""NotInject (PIGuard / InjecGuard): the over-defense benchmark. EVALUATION ONLY: never train on it.

Text: the ``prompt`` of every entry of ``NotInject_one.json``, ``NotInject_two.json`` and ``NotInject_three.json``
(JSON lists of ``{prompt, word_list, category}``; 113 entries each, 339 in all). Benign sentences built around
trigger words of injection attacks ("Can I ignore this warning appeared in my code?").

Labels: every row is ``benign`` (no label field: benign by construction). attack_type encodes the trigger-word
level from the file name: ``notinject_1`` / ``notinject_2`` / ``notinject_3`` (1, 2 or 3 trigger words), so the
harness can report the over-defense accuracy per level. ``split`` is ``"eval"`` on every row; ``EVAL_ONLY``.

Template: ``notinject/<level>/<index>``. Language: English except the "Multilingual" category (81 Chinese, 2
Russian rows), tagged by a script guess (``chunking.guess_lang``). Texts are kept exactly (stripped only; no
chunking: the benchmark scores whole sentences). 48 rows also occur in PIGuard's ``valid.json`` (not staged).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.chunking import guess_lang
from tinyguardrail.data.record import Record

NAME = "bench/notinject"
EVAL_ONLY = True
SOURCE = "notinject"

LEVELS = {"one": 1, "two": 2, "three": 3}


def load(root: pathlib.Path) -> Iterator[Record]:
    folder = pathlib.Path(root) / NAME
    for word, level in LEVELS.items():
        entries = json.loads((folder / f"NotInject_{word}.json").read_text(encoding="utf-8"))
        for i, entry in enumerate(entries):
            text = (entry.get("prompt") or "").strip()
            if not text:
                continue
            yield Record(
                text=text,
                label="benign",
                source=SOURCE,
                attack_type=f"notinject_{level}",
                lang=guess_lang(text, default="en"),
                template_id=f"{SOURCE}/{level}/{i}",
                split="eval",
            )
