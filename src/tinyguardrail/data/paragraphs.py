"""Benign paragraphs: several benign sentences of one language and one split joined into one longer text.

Why. Most benign rows of the non-English languages are short (Tatoeba sentences, the bank's benign phrasings), while
the attacks in those languages are longer (the bank's injections with goals and payloads, jailbreak frames). In the
v0.10 build the rows written in Devanagari were 574 attacks (median 158 characters, 89 of them over 300) against 399
benign (median 57 characters, 5 over 300), and models trained on it flagged 8 % of the OOD-dev suite's clean Hindi
XQuAD paragraphs (``indirect/doc`` benign) where v0.9 flagged 0.4 %: "long text in this script" had become evidence
of an attack (``docs/ablations.md``). Paragraphs of ordinary sentences give every language benign text as long as
its attacks, so length and script stop telling the classes apart.

Each paragraph takes 3-10 benign rows of 15-300 characters of one language from the rows of the split it is written
to, joined by spaces or line breaks, and keeps the language; ``attack_type`` is ``paragraph`` and ``template_id``
``paragraph/<lang>/<first row's template id>``. Languages with fewer than ``min_rows`` such rows are skipped; the
others share the requested number evenly. English is left out by default: it has long benign text of its own.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from tinyguardrail.data.record import Record

MIN_CHARS, MAX_CHARS = 15, 300
"""Length of a row that may go into a paragraph."""


def benign_paragraphs(rows: Sequence[Record], rng: random.Random, n: int, min_sentences: int = 3,
                      max_sentences: int = 10, min_rows: int = 20, skip_langs: Sequence[str] = ("en", "und"),
                      ) -> list[Record]:  # fmt: skip
    """Up to ``n`` benign paragraphs built from the benign ``rows`` (all of one split: the caller's)."""
    if n <= 0:
        return []
    if not 2 <= min_sentences <= max_sentences:
        raise ValueError(f"need 2 <= min_sentences <= max_sentences, got {min_sentences}, {max_sentences}")
    by_lang: dict[str, list[Record]] = defaultdict(list)
    for r in rows:
        if r.label == "benign" and r.lang not in skip_langs and MIN_CHARS <= len(r.text) <= MAX_CHARS:
            by_lang[r.lang].append(r)
    langs = sorted(lang for lang, rs in by_lang.items() if len(rs) >= max(min_rows, max_sentences))
    if not langs:
        return []
    out: list[Record] = []
    for i in range(n):  # round robin over the languages: each gets n / len(langs)
        lang = langs[i % len(langs)]
        pool = by_lang[lang]
        parts = rng.sample(pool, rng.randint(min_sentences, max_sentences))
        sep = rng.choice((" ", " ", "\n"))
        text = sep.join(p.text.strip() for p in parts)
        out.append(Record(text, "benign", "paragraphs", "paragraph", lang, f"paragraph/{lang}/{parts[0].template_id}",
                          parts[0].split))
    return out
