"""OWASP Top 10 for LLM Applications (v2025, v1.1, 16 translations) and the Agentic Top-10 candidates.

Text: ``owasp_llm_top10_docs.jsonl`` (one verbatim Markdown entry per line), chunked at section / paragraph
boundaries into 200-1500-character pieces (``chunking.chunk_text``), at most ``MAX_CHUNKS_PER_DOC`` per entry.

Labels: every kept chunk is ``benign`` / attack_type ``hard_negative_security_doc``: security guidance dense
with "prompt injection", "system prompt", "bypass", "override", "jailbreak", "exfiltrate".

Traps handled:
- ``flag_quotes_attack_examples`` (LLM01 Prompt Injection, LLM07 System Prompt Leakage, ASI06 ...): attack
  scenarios sometimes quote payload fragments. Decision: every chunk, flagged entry or not, that matches
  ``chunking.quotes_attack`` (verbatim "ignore previous instructions"-style strings, DAN, developer mode, in
  several languages) is DROPPED; prose that describes attacks stays as a hard negative. This also covers the
  pt-BR entries whose Portuguese file names (``LLM01_InjecaodePrompt.md``) escaped the upstream path-based flag.
- Translations: all language versions of one entry share the template ``owasp_llm_top10/<version>/<entry>``
  (``2_0/LLM01``, ``1_1/LLM01``, ``agentic/<draft>/ASI06``), matched by the entry number, so a translation never
  lands in another split than its original (pt-BR uses translated file names; the number still matches).
- The 11 "Sprint 1" Agentic drafts are one unfilled template with different titles: documents whose body
  (everything after the first line) repeats an earlier one are skipped; exact duplicate chunks too.
- Tiny cover / table-of-contents stubs fall under the 20-character minimum and vanish.
- Language: the translation folder name reduced to ISO 639-1 (``zh-TW`` -> ``zh``, ``pt-BR`` -> ``pt``).

Materials: none (security docs make poor carriers: they already talk about injections). ``split`` is None.
"""

from __future__ import annotations

import json
import logging
import pathlib
import re
from collections.abc import Iterator

from tinyguardrail.data.chunking import chunk_text, norm_key, quotes_attack, select_evenly
from tinyguardrail.data.record import Record

NAME = "benign/owasp_llm_top10"
EVAL_ONLY = False
SOURCE = "owasp_llm_top10"

FILE = "owasp_llm_top10_docs.jsonl"
#: At most this many chunks per entry (evenly spread).
MAX_CHUNKS_PER_DOC = 12

log = logging.getLogger(__name__)
_ENTRY_RE = re.compile(r"^(LLM\d\d|ADD\d\d|ASI\d\d)", re.IGNORECASE)


def _template(path: str) -> str:
    parts = path.split("/")
    stem = parts[-1].rsplit(".", 1)[0].strip()
    m = _ENTRY_RE.match(stem)
    entry = m.group(1).upper() if m else ("ADD04" if "supplemental" in stem.lower() else stem)
    if parts[0] == "2_0_vulns":
        version = "2_0"
    elif parts[0] == "Archive":
        version = "1_1"
    else:
        version = "agentic/" + (parts[-2] if len(parts) >= 2 else "")
    return f"{SOURCE}/{version}/{entry}"


def _lang(code: str | None) -> str:
    return (code or "und").split("-")[0].split("_")[0].lower() or "und"


def load(root: pathlib.Path) -> Iterator[Record]:
    seen_docs: set[str] = set()
    seen_chunks: set[str] = set()
    dropped = 0
    with open(pathlib.Path(root) / NAME / FILE, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    for d in docs:
        text = (d.get("text") or "").replace("\r\n", "\n").strip()
        body_key = norm_key(text.split("\n", 1)[1] if "\n" in text else text)
        if not text or body_key in seen_docs:
            continue
        seen_docs.add(body_key)
        kept = []
        for c in chunk_text(text):
            if quotes_attack(c):
                dropped += 1
                continue
            if norm_key(c) in seen_chunks:
                continue
            seen_chunks.add(norm_key(c))
            kept.append(c)
        template_id = _template(d.get("path", ""))
        for c in select_evenly(kept, MAX_CHUNKS_PER_DOC):
            yield Record(c, "benign", SOURCE, "hard_negative_security_doc", _lang(d.get("lang")), template_id)
    log.debug("%s: dropped %d chunks that quote attack strings", SOURCE, dropped)
