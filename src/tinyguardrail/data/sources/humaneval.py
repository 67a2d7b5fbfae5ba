"""OpenAI HumanEval: 164 Python problems (signature + docstring with doctests, and a reference solution).

Text (read from ``HumanEval.jsonl.gz`` without decompressing to disk; nothing is executed):
- the ``prompt`` (function signature, docstring, doctests) -> ``benign`` / attack_type ``code``;
- ``prompt`` + ``canonical_solution`` (the complete function) -> ``benign`` / attack_type ``code``, and the same
  text as a ``carrier_code`` material (code into which an indirect injection can be embedded, e.g. a comment).
The unit tests (``test``) are not used. Both texts of one problem share the template ``humaneval/<n>``. Code is a
control for "looks like a command" false positives (return / raise / skip ...). Language ``en``; ``split`` None.
Texts over 1500 characters are chunked at blank lines / line boundaries.
"""

from __future__ import annotations

import gzip
import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.chunking import chunk_text
from tinyguardrail.data.record import Material, Record

NAME = "benign/humaneval"
EVAL_ONLY = False
SOURCE = "humaneval"

FILE = "HumanEval.jsonl.gz"


def _problems(root: pathlib.Path) -> Iterator[tuple[str, str, str]]:
    """(template_id, prompt, full function) per problem."""
    with gzip.open(pathlib.Path(root) / NAME / FILE, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            prompt = (d.get("prompt") or "").strip("\n")
            full = (d.get("prompt") or "") + (d.get("canonical_solution") or "")
            tid = f"{SOURCE}/{str(d.get('task_id', '')).rsplit('/', 1)[-1]}"
            yield tid, prompt, full.strip("\n")


def load(root: pathlib.Path) -> Iterator[Record]:
    for tid, prompt, full in _problems(root):
        for text in (prompt, full):
            for chunk in chunk_text(text):
                yield Record(chunk, "benign", SOURCE, "code", "en", tid)


def materials(root: pathlib.Path) -> Iterator[Material]:
    for tid, _prompt, full in _problems(root):
        for chunk in chunk_text(full):
            yield Material(chunk, "carrier_code", SOURCE, "en", tid)
