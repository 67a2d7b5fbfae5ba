"""PIGuard evaluation sets: WildGuard-benign prompts and BIPIA injected-instruction strings. EVALUATION ONLY.

Files and rows (``split`` ``"eval"`` on every row; ``EVAL_ONLY``):
- ``wildguard.json`` (971 ``{prompt, label: 0}``): benign user prompts from WildGuardTest that touch sensitive
  topics but are harmless -> ``benign`` / attack_type ``wildguard_benign``. A row with a non-zero label (none
  today) would be skipped and logged, since the file is documented as benign-only.
- ``BIPIA_text.json`` (15 categories x 5) -> ``direct_injection`` / attack_type ``bipia_text``;
- ``BIPIA_code.json`` (10 categories x 5 code-insertion instructions) -> ``direct_injection`` / attack_type
  ``bipia_code``. PIGuard's eval.py scores both as "injection". CAVEAT for readers of the results: many
  ``bipia_text`` strings are innocuous tasks on their own ("Analyze the trend of electric car sales over the past decade"-like business
  questions) that are attacks only by placement inside a document; report ``bipia_text`` separately.
  Templates ``piguard_eval_sets/bipia_text/<category>/<i>``. These files equal BIPIA's ``*_attack_test.json``.
- ``valid.json`` is listed in SOURCE.md but is not staged (and it holds private PINT rows: never train on it);
  it is not read.

Language ``en``. Texts are kept whole (no chunking).
"""

from __future__ import annotations

import json
import logging
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Record

NAME = "bench/piguard_eval_sets"
EVAL_ONLY = True
SOURCE = "piguard_eval_sets"

BIPIA_FILES = {"BIPIA_text.json": "bipia_text", "BIPIA_code.json": "bipia_code"}

log = logging.getLogger(__name__)


def load(root: pathlib.Path) -> Iterator[Record]:
    folder = pathlib.Path(root) / NAME
    rows = json.loads((folder / "wildguard.json").read_text(encoding="utf-8"))
    skipped = 0
    for i, row in enumerate(rows):
        text = (row.get("prompt") or "").strip()
        if not text:
            continue
        if int(row.get("label", 0)) != 0:
            skipped += 1
            continue
        yield Record(text, "benign", SOURCE, "wildguard_benign", "en", f"{SOURCE}/wildguard/{i}", "eval")
    if skipped:
        log.warning("%s: skipped %d wildguard rows with a non-zero label", SOURCE, skipped)
    for name, attack_type in BIPIA_FILES.items():
        data = json.loads((folder / name).read_text(encoding="utf-8"))
        for category, strings in data.items():
            for i, text in enumerate(strings or []):
                text = (text or "").strip()
                if text:
                    tid = f"{SOURCE}/{attack_type}/{category}/{i}"
                    yield Record(text, "direct_injection", SOURCE, attack_type, "en", tid, "eval")
