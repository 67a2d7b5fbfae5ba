"""Berkeley Function Calling Leaderboard (BFCL v4): user requests to tool-using assistants and the tool (function)
schemas those assistants see.

Files are JSON Lines despite ``.json``: ``BFCL_v4_*.json`` rows are ``{id, question: [[{role, content}, ...] per
turn], function: [schemas]}`` (``multi_turn_base`` has no ``function``), ``multi_turn_func_doc__*.json`` rows are
one tool schema each.

Rows (all ``benign``):
- every ``user`` message -> attack_type ``tool_request`` ("Move 'final_report.pdf' within document directory to
  'temp' ..."): benign commands to agents, including the *_irrelevance sets (requests the tools cannot answer);
  all turns of one conversation share the template ``bfcl_function_calling/<id>``; the few pasted-data requests
  over 1500 characters are chunked;
- every distinct ``system`` message -> attack_type ``system_prompt`` (benign operator instructions such as
  "Don't make assumptions about what values to plug into functions");
- every distinct tool schema, serialised as compact JSON (``json.dumps``) -> attack_type ``tool_schema`` (benign
  tool metadata: the negative class for tool-description injection), template ``bfcl_function_calling/tool/<name>``.
  Schemas longer than ``MAX_SCHEMA_CHARS`` are skipped and at most ``MAX_SCHEMAS`` are kept (stable hash rank).
  ``assistant`` turns are not used.

Materials: the same tool schemas as ``carrier_tool_output`` (tool metadata into which a tool-description injection
can be embedded). Language: script / stop-word guess (mostly English; the live sets hold some Chinese and other
requests). ``split`` is None.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.chunking import cap_by_rank, chunk_text, guess_lang, norm_key
from tinyguardrail.data.record import Material, Record, hash_text

NAME = "benign/bfcl_function_calling"
EVAL_ONLY = False
SOURCE = "bfcl_function_calling"

#: Tool schemas longer than this (serialised) are skipped.
MAX_SCHEMA_CHARS = 3000
#: At most this many distinct tool schemas.
MAX_SCHEMAS = 1500


def _jsonl(path: pathlib.Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _schemas(folder: pathlib.Path) -> list[tuple[str, str]]:
    """(json text, tool name) of every distinct schema, capped."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []

    def add(schema: dict) -> None:
        text = json.dumps(schema, ensure_ascii=False)
        if text in seen or len(text) > MAX_SCHEMA_CHARS:
            return
        seen.add(text)
        out.append((text, str(schema.get("name", ""))))

    for path in sorted(folder.glob("BFCL_v4_*.json")):
        for d in _jsonl(path):
            for schema in d.get("function") or []:
                if isinstance(schema, dict):
                    add(schema)
    for path in sorted(folder.glob("multi_turn_func_doc__*.json")):
        for schema in _jsonl(path):
            add(schema)
    return cap_by_rank(out, MAX_SCHEMAS, key=lambda s: s[0])


def load(root: pathlib.Path) -> Iterator[Record]:
    folder = pathlib.Path(root) / NAME
    seen: set[str] = set()
    for path in sorted(folder.glob("BFCL_v4_*.json")):
        for d in _jsonl(path):
            template_id = f"{SOURCE}/{d.get('id', path.stem)}"
            for turn in d.get("question") or []:
                for msg in turn or []:
                    role = msg.get("role")
                    content = (msg.get("content") or "").strip()
                    if role not in ("user", "system") or not content or norm_key(content) in seen:
                        continue
                    seen.add(norm_key(content))
                    attack_type = "tool_request" if role == "user" else "system_prompt"
                    if role == "system":
                        template_id_msg = f"{SOURCE}/system/{hash_text(norm_key(content))}"
                    else:
                        template_id_msg = template_id
                    for chunk in chunk_text(content, min_keep=2):
                        yield Record(chunk, "benign", SOURCE, attack_type, guess_lang(chunk, "en"), template_id_msg)
    for text, name in _schemas(folder):
        yield Record(text, "benign", SOURCE, "tool_schema", "en", f"{SOURCE}/tool/{name}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    for text, name in _schemas(pathlib.Path(root) / NAME):
        yield Material(text, "carrier_tool_output", SOURCE, "en", f"{SOURCE}/tool/{name}")
