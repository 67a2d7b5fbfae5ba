"""bastioncorpus (``bench/bastioncorpus``): hand-written attacks and benign false-positive traps. EVALUATION ONLY.

Text: ``text`` of every line of ``injections.jsonl`` (181 rows, 180 unique).

Labels: ``label: benign`` -> ``benign`` (false-positive traps: "ignore my previous email", "act as", encoded-looking
strings). ``label: malicious`` -> ``jailbreak`` for ``jailbreak_persona``, ``obfuscation`` for ``obfuscation``,
``direct_injection`` for every other category (direct / indirect injection, override, exfiltration, delimiter
injection). ``attack_type`` = the ``category``; ``template_id`` = ``bastion/<channel>/<id>`` so the report can break
recall down by channel (``user_input``, ``tool_output``, ``memory``). ``split`` is ``"eval"`` on every row.

Traps handled (SOURCE.md):
- 15 malicious rows carry a ``{canary}`` slot: filled with a fixed random-looking token (never left literal, or the
  braces become a label shortcut).
- ``hp-010`` is tagged ``en`` but is Spanish: tagged ``es``.
- ``ob-enc-001`` and ``ob-enc-002`` have identical text: the second is skipped.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Record

NAME = "bench/bastioncorpus"
EVAL_ONLY = True
SOURCE = "bastioncorpus"
CANARY = "TRACE-7f3a91"
_LANG_FIX = {"hp-010": "es"}
_LABEL = {"jailbreak_persona": "jailbreak", "obfuscation": "obfuscation"}


def load(root: pathlib.Path) -> Iterator[Record]:
    seen: set[str] = set()
    for line in (pathlib.Path(root) / NAME / "injections.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        text = row["text"].replace("{canary}", CANARY).strip()
        if text in seen:
            continue
        seen.add(text)
        label = "benign" if row["label"] == "benign" else _LABEL.get(row["category"], "direct_injection")
        lang = _LANG_FIX.get(row["id"], row.get("lang") or "en")
        yield Record(text, label, SOURCE, row["category"], lang, f"bastion/{row['channel']}/{row['id']}", split="eval")
