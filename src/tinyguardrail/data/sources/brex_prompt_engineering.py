"""Brex's Prompt Engineering Guide: one long (~65k characters) English README about writing prompts and
system prompts (LLM history, hidden prompts, command grammars, embedding data, few-shot, chain of thought, and a
section on jailbreaks / prompt injection).

Text: ``brex_prompt_engineering_readme.jsonl`` (the README verbatim, one JSON line), cut into 200-1500-character
chunks at section / paragraph boundaries (``chunking.chunk_text``). All chunks share one template
(``brex_prompt_engineering/README``): the document lands in one split.

Labels: ``benign`` / attack_type ``hard_negative_prompt_doc`` (system-prompt-writing prose full of trigger
vocabulary).

Trap handled: the document is flagged ``flag_quotes_attack_examples`` because its jailbreak / injection section
quotes attack strings. Every chunk that matches ``chunking.quotes_attack`` (verbatim override phrases, DAN,
developer mode ...) is DROPPED; the explanatory prose around them stays. ``split`` is None.
"""

from __future__ import annotations

import json
import logging
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.chunking import chunk_text, quotes_attack
from tinyguardrail.data.record import Record

NAME = "benign/brex_prompt_engineering"
EVAL_ONLY = False
SOURCE = "brex_prompt_engineering"

FILE = "brex_prompt_engineering_readme.jsonl"

log = logging.getLogger(__name__)


def load(root: pathlib.Path) -> Iterator[Record]:
    dropped = 0
    with open(pathlib.Path(root) / NAME / FILE, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    for d in docs:
        template_id = f"{SOURCE}/{(d.get('path') or 'README').rsplit('.', 1)[0]}"
        lang = d.get("lang") or "en"
        for c in chunk_text(d.get("text") or ""):
            if quotes_attack(c):
                dropped += 1
                continue
            yield Record(c, "benign", SOURCE, "hard_negative_prompt_doc", lang, template_id)
    log.debug("%s: dropped %d chunks that quote attack strings", SOURCE, dropped)
