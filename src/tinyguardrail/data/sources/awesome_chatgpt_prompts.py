"""awesome-chatgpt-prompts (prompts.chat): user-written "act as" role-play and system-style prompts.

Text: the ``prompt`` column of ``prompts_2026-03-20_1529rows.csv`` (community prompts: personas, agent roles,
review checklists, JSON image specs) and of ``prompts_2025-07-16_220rows.csv`` (the classic curated list), read
in that order; exact duplicates (whitespace/case-insensitive) are dropped, so the 207 classic prompts that recur in
the newer file appear once.

Labels:
- every prompt is ``benign`` with attack_type ``hard_negative_roleplay`` (benign text that shares surface features
  with jailbreaks: "act as", "you are", "from now on", rules, output formats);
- KNOWN MISLABEL: the "Unconstrained AI model DAN" prompt (one in each file; matched by title, since the
  published row indices shift after rows were removed from the staged copy) is a real DAN jailbreak and is
  emitted whole as ``jailbreak`` / attack_type ``dan`` (template ``awesome_chatgpt_prompts/dan``);
- DROPPED as ambiguous (neither label is clean): "SYSTEM PROMPT: THE INFINITE ROLE GENERATOR" (tells the model to
  "ignore all your generic AI assistant instructions"), "Random Girl" and "Dynamic character profile generator"
  (NSFW role-play with "rational filter collapse" levels). See ``DROP_TITLES``.
- "Chimera AI-Powered Prompt Optimization System" and the prompts that discuss injection defensively stay benign
  hard negatives, but any chunk that quotes an attack verbatim ("ignore previous instructions", "DAN", ...:
  ``chunking.quotes_attack``) is dropped, so no benign row carries a quoted attack string.

Long prompts (median ~920 chars, max 144k) are chunked with ``chunking.chunk_text`` (200-1500 chars) and at most
``MAX_CHUNKS_PER_PROMPT`` chunks, spread evenly, are kept per prompt; all chunks of a prompt share the template
``awesome_chatgpt_prompts/<hash of title>``. Language: mostly English; a script / stop-word guess tags the
Turkish, Chinese, Arabic, Russian, Indonesian ... prompts. ``split`` is None (the builder decides).
"""

from __future__ import annotations

import csv
import logging
import pathlib
import sys
from collections.abc import Iterator

from tinyguardrail.data.chunking import chunk_text, guess_lang, norm_key, quotes_attack, select_evenly
from tinyguardrail.data.record import Record, hash_text

NAME = "benign/awesome_chatgpt_prompts"
EVAL_ONLY = False
SOURCE = "awesome_chatgpt_prompts"

FILES = ("prompts_2026-03-20_1529rows.csv", "prompts_2025-07-16_220rows.csv")
#: Titles (``act`` column) of the DAN jailbreak hidden in the set.
JAILBREAK_TITLES = frozenset({"unconstrained ai model dan"})
#: Borderline rows dropped from both classes.
DROP_TITLES = frozenset(
    {
        "system prompt: the infinite role generator",
        "random girl",
        "dynamic character profile generator",
    }
)
#: At most this many chunks per prompt (evenly spread), so a 144k-character prompt does not dominate.
MAX_CHUNKS_PER_PROMPT = 6

log = logging.getLogger(__name__)


def _rows(root: pathlib.Path) -> Iterator[tuple[str, str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    folder = root / NAME
    for name in FILES:
        with open(folder / name, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                yield (row.get("act") or "").strip(), (row.get("prompt") or "").strip()


def load(root: pathlib.Path) -> Iterator[Record]:
    seen: set[str] = set()
    dropped_quotes = 0
    for act, prompt in _rows(pathlib.Path(root)):
        if not prompt:
            continue
        key = norm_key(prompt)
        if key in seen:
            continue
        seen.add(key)
        title = act.casefold()
        if title in DROP_TITLES:
            continue
        if title in JAILBREAK_TITLES:
            yield Record(
                text=prompt,
                label="jailbreak",
                source=SOURCE,
                attack_type="dan",
                lang="en",
                template_id=f"{SOURCE}/dan",
            )
            continue
        template_id = f"{SOURCE}/{hash_text(act or prompt)}"
        chunks = chunk_text(prompt)
        kept = [c for c in chunks if not quotes_attack(c)]
        dropped_quotes += len(chunks) - len(kept)
        for chunk in select_evenly(kept, MAX_CHUNKS_PER_PROMPT):
            yield Record(
                text=chunk,
                label="benign",
                source=SOURCE,
                attack_type="hard_negative_roleplay",
                lang=guess_lang(chunk, default="en"),
                template_id=template_id,
            )
    log.debug("%s: dropped %d chunks that quote attack strings", SOURCE, dropped_quotes)
