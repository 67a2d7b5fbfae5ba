"""garak-multilingual payloads (``bench/garak_multilingual``): Turkish and multilingual injections, jailbreaks and
dotted-İ casefold evasions. EVALUATION ONLY (no benign rows).

Text: ``prompt`` of every line of ``payloads.jsonl`` (56 rows, converted from the package's ``payloads.py``).

Labels: ``TURKISH_JAILBREAK`` -> ``jailbreak``; ``TURKISH_INJECTION``, ``MULTILINGUAL_INJECTION`` and
``TURKISH_CASEFOLD_EVASION`` -> ``direct_injection``. ``attack_type`` = the list name in lower case; ``lang`` = the
row's ``lang`` (``tr`` for the Turkish lists; the casefold rows are English spelled with Turkish ``İ``/``ı``).
``template_id`` = ``garak_ml/<list>/<index>``; ``split`` is ``"eval"``. The canary ``INJECTION-OK-7F3A`` is kept.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Record

NAME = "bench/garak_multilingual"
EVAL_ONLY = True
SOURCE = "garak_multilingual"


def load(root: pathlib.Path) -> Iterator[Record]:
    for line in (pathlib.Path(root) / NAME / "payloads.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        label = "jailbreak" if row["list"] == "TURKISH_JAILBREAK" else "direct_injection"
        yield Record(row["prompt"].strip(), label, SOURCE, row["list"].lower(), row.get("lang") or "tr",
                     f"garak_ml/{row['list'].lower()}/{row['index']}", split="eval")
