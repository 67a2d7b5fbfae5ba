"""Self-Instruct: 175 seed tasks and 252 user-oriented evaluation instructions (English, human-written).

Text: a user prompt per (instruction, instance): the ``instruction``, plus ``"\\n"`` + the instance ``input`` when
that input is non-empty (SOURCE.md's recipe). Tasks whose instances have no input give the instruction alone;
model/human ``output`` fields are never used as prompts. Exact duplicates are dropped.

Labels: ``benign`` / attack_type ``instruction`` (imperative requests: "Rewrite the sentence ...", occasionally
"Ignore ..."-style phrasing, a benign counterpart to injected commands). ``seed_tasks.jsonl`` and
``user_oriented_instructions.jsonl`` are both read; all prompts of one task share the template
``self_instruct/<task id>``. Language ``en``. ``split`` is None (the source ships no train/test split of these).
The rare prompt over 1500 characters (a long pasted input) is chunked.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.chunking import chunk_text, norm_key
from tinyguardrail.data.record import Record

NAME = "benign/self_instruct"
EVAL_ONLY = False
SOURCE = "self_instruct"

FILES = ("seed_tasks.jsonl", "user_oriented_instructions.jsonl")


def load(root: pathlib.Path) -> Iterator[Record]:
    folder = pathlib.Path(root) / NAME
    seen: set[str] = set()
    for name in FILES:
        with open(folder / name, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                d = json.loads(line)
                instruction = (d.get("instruction") or "").strip()
                if not instruction:
                    continue
                inputs = [(inst.get("input") or "").strip() for inst in d.get("instances") or []] or [""]
                template_id = f"{SOURCE}/{d.get('id', instruction[:40])}"
                for inp in inputs:
                    prompt = f"{instruction}\n{inp}" if inp else instruction
                    if norm_key(prompt) in seen:
                        continue
                    seen.add(norm_key(prompt))
                    for chunk in chunk_text(prompt, min_keep=5):
                        yield Record(chunk, "benign", SOURCE, "instruction", "en", template_id)
