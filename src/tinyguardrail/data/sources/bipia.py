"""BIPIA (Benchmark of Indirect Prompt Injection Attacks): clean email / table / code contexts and the attack
instructions BIPIA inserts into them.

Rows (``load``), all ``benign``: the clean external contexts, which contain no injection:
- emails (``email_{train,test}.jsonl``): the ``SUBJECT: ...|EMAIL_FROM: ...|RECEIVED DATE: ...|CONTENT: ...``
  string is rendered as an ordinary email (``Subject:/From:/Date:`` headers, blank line, body) -> attack_type
  ``carrier_email``;
- tables (``table_*.jsonl``, Wikipedia Markdown pipe tables) -> ``carrier_table``, chunked by rows with the header
  repeated (``chunking.chunk_table``), since many tables are thousands of characters long;
- code (``code_*.jsonl``): the Stack Overflow answer lines of ``context`` joined with ``"\\n"`` -> ``carrier_code``.
Texts are chunked to <= 1500 characters; every chunk of one context shares the template
``bipia/<task>/<hash of the context>``.

Splits: ``*_train`` contexts -> ``split`` None (the builder decides); ``*_test`` contexts -> ``split`` ``"eval"``
(held-out, never train). ``EVAL_ONLY`` is False because the train halves are training material.

Materials (``materials``):
- the same contexts as ``carrier_email`` / ``carrier_table`` / ``carrier_code`` (same split rule);
- every attack string of ``text_attack_{train,test}.json`` (15 categories x 5) and ``code_attack_{train,test}.json``
  (10 x 5) as kind ``payload``: train files -> split None, test files -> split ``"eval"``. Templates
  ``bipia/<file stem>/<category>/<i>``.
The attack strings are NOT emitted as rows here: many are innocuous on their own ("What is the capital of
Brazil?") and are attacks only once placed inside a context, which is what the indirect-injection synthesiser
does with these materials. (The test attack strings are scored standalone, PIGuard-style, by the
``piguard_eval_sets`` loader.)

Traps handled:
- 11 email contexts occur in both ``email_train`` and ``email_test`` (and both files repeat some contexts):
  contexts are deduplicated, and a context present in a test file is emitted only once, with split ``"eval"``,
  so no test context reaches training. Table contexts repeat across questions (900 train rows, 617 distinct) and
  are deduplicated too.
- The unavailable WebQA / summarisation contexts are not expected.
Language ``en``.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator

from tinyguardrail.data.chunking import chunk_table, chunk_text, norm_key
from tinyguardrail.data.record import Material, Record, hash_text

NAME = "bench/bipia"
EVAL_ONLY = False
SOURCE = "bipia"

TASKS = {"email": "carrier_email", "table": "carrier_table", "code": "carrier_code"}
ATTACK_FILES = ("text_attack_train", "text_attack_test", "code_attack_train", "code_attack_test")

_EMAIL_FIELD_RE = re.compile(r"(?:^|\|)(SUBJECT|EMAIL_FROM|RECEIVED DATE|CONTENT): ")
_EMAIL_HEADERS = {"SUBJECT": "Subject", "EMAIL_FROM": "From", "RECEIVED DATE": "Date"}


def render_email(context: str) -> str:
    """``SUBJECT: s|EMAIL_FROM: f|RECEIVED DATE: d|CONTENT: c`` -> an ordinary email; other strings unchanged."""
    parts = _EMAIL_FIELD_RE.split(context)
    if len(parts) < 3:
        return context.strip()
    fields = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    head = [f"{_EMAIL_HEADERS[k]}: {fields[k]}" for k in ("EMAIL_FROM", "RECEIVED DATE", "SUBJECT") if fields.get(k)]
    body = fields.get("CONTENT", "")
    if parts[0].strip():
        body = parts[0].strip() + "\n" + body
    return ("\n".join(head) + "\n\n" + body).strip()


def _context(task: str, row: dict) -> str:
    ctx = row.get("context") or ""
    if isinstance(ctx, list):
        ctx = "\n".join(str(x) for x in ctx)
    return ctx.strip("\n")


def _chunks(task: str, ctx: str) -> list[str]:
    if task == "email":
        return chunk_text(render_email(ctx))
    if task == "table":
        return chunk_table(ctx)
    return chunk_text(ctx)


def _carriers(root: pathlib.Path) -> Iterator[tuple[str, str, str, str | None]]:
    """(chunk, kind, template_id, split) for every distinct clean context, test contexts first."""
    folder = pathlib.Path(root) / NAME
    for task, kind in TASKS.items():
        seen: set[str] = set()
        for file_split, split in (("test", "eval"), ("train", None)):
            path = folder / f"{task}_{file_split}.jsonl"
            if not path.exists():
                continue
            with open(path, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
            for row in rows:
                ctx = _context(task, row)
                key = norm_key(ctx)
                if not key or key in seen:
                    continue
                seen.add(key)
                tid = f"{SOURCE}/{task}/{hash_text(key)}"
                for chunk in _chunks(task, ctx):
                    yield chunk, kind, tid, split


def load(root: pathlib.Path) -> Iterator[Record]:
    for text, kind, tid, split in _carriers(root):
        yield Record(text, "benign", SOURCE, kind, "en", tid, split)


def materials(root: pathlib.Path) -> Iterator[Material]:
    for text, kind, tid, split in _carriers(root):
        yield Material(text, kind, SOURCE, "en", tid, split)
    folder = pathlib.Path(root) / NAME
    for stem in ATTACK_FILES:
        path = folder / f"{stem}.json"
        if not path.exists():
            continue
        split = "eval" if stem.endswith("_test") else None
        data = json.loads(path.read_text(encoding="utf-8"))
        for category, strings in data.items():
            for i, text in enumerate(strings or []):
                text = (text or "").strip()
                if text:
                    yield Material(text, "payload", SOURCE, "en", f"{SOURCE}/{stem}/{category}/{i}", split)
