"""Homoglyphs and invisible characters: ``homoglyph`` (Cyrillic / Greek / fullwidth look-alikes) and
``zero_width`` (U+200B and friends inside words), with their inverses. No twin in
:mod:`tinyguardrail.text.views`: :mod:`tinyguardrail.text.normalize` folds confusables and drops invisible
characters before the views run.
"""

from __future__ import annotations

import random
import re

_CYRILLIC = dict(zip("aceopxyijsABCEHKMOPTXYIJS", "асеорхуіјѕАВСЕНКМОРТХУІЈЅ", strict=True))
_GREEK = dict(zip("ovikABEHIKMNOPTXYZ", "ονικΑΒΕΗΙΚΜΝΟΡΤΧΥΖ", strict=True))
_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}
_HOMOGLYPH_TABLES = {"cyrillic": _CYRILLIC, "greek": _GREEK, "fullwidth": _FULLWIDTH}
HOMOGLYPH_REVERSE: dict[str, str] = {v: k for t in _HOMOGLYPH_TABLES.values() for k, v in t.items()}


def homoglyph(text: str, rng: random.Random, *, benign: bool = False) -> str:
    """Swap letters for Cyrillic / Greek / fullwidth look-alikes at a seeded rate (at least one swap)."""
    del benign  # no wrapper either way
    style = rng.choice(["cyrillic", "cyrillic", "greek", "fullwidth", "mixed", "mixed"])
    tables = list(_HOMOGLYPH_TABLES.values()) if style == "mixed" else [_HOMOGLYPH_TABLES[style]]
    rate = rng.uniform(0.2, 1.0)
    chars = list(text)
    candidates = [i for i, c in enumerate(chars) if any(c in t for t in tables)]
    if not candidates:
        return text
    chosen = {i for i in candidates if rng.random() < rate} or {rng.choice(candidates)}
    for i in sorted(chosen):
        options = [t[chars[i]] for t in tables if chars[i] in t]
        chars[i] = rng.choice(options)
    return "".join(chars)


def unhomoglyph(text: str) -> str:
    """Map every look-alike produced by ``homoglyph`` back to its ASCII letter."""
    return "".join(HOMOGLYPH_REVERSE.get(c, c) for c in text)


ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
_ZW_RE = re.compile("[" + "".join(ZERO_WIDTH) + "]")

#: Words that naive keyword filters look for; zero-width characters go inside them to break the match.
TRIGGER_WORDS = (
    "ignore", "previous", "instructions", "instruction", "system", "prompt", "disregard", "forget", "override",
    "bypass", "jailbreak", "developer", "mode", "password", "secret", "reveal", "print", "rules", "unrestricted",
    "pretend", "act", "above", "now", "say", "pwned", "hack", "bomb", "weapon", "kill", "steal", "malware",
)
_TRIGGER_RE = re.compile(r"\b(" + "|".join(sorted(TRIGGER_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def zero_width(text: str, rng: random.Random, *, benign: bool = False) -> str:
    """Insert U+200B/200C/200D/2060/FEFF between characters, at a seeded rate or inside trigger words."""
    del benign
    pool = list(ZERO_WIDTH) if rng.random() < 0.5 else [rng.choice(ZERO_WIDTH)]
    mode = rng.choice(["every", "rate", "triggers", "triggers"])
    if mode == "triggers" and _TRIGGER_RE.search(text):

        def split(m: re.Match) -> str:
            w = m.group(0)
            return "".join(c + (rng.choice(pool) if i < len(w) - 1 else "") for i, c in enumerate(w))

        return _TRIGGER_RE.sub(split, text)
    rate = 1.0 if mode == "every" else rng.uniform(0.15, 0.6)
    out: list[str] = []
    inserted = False
    for i, c in enumerate(text):
        out.append(c)
        if i < len(text) - 1 and rng.random() < rate:
            out.append(rng.choice(pool))
            inserted = True
    if not inserted:  # always hide something
        k = rng.randrange(1, len(text)) if len(text) > 1 else 1
        out.insert(k, rng.choice(pool))
    return "".join(out)


def remove_zero_width(text: str) -> str:
    """Strip the invisible characters ``zero_width`` inserts."""
    return _ZW_RE.sub("", text)
