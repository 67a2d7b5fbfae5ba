"""Word-level obfuscation: ``leetspeak``, ``typoglycemia`` (inner letters scrambled) and ``spaced``
(``i g n o r e``), and ``unspaced``. Decoded at run time by :mod:`tinyguardrail.text.views.wordplay`.
"""

from __future__ import annotations

import random
import re

from tinyguardrail.data.synth.core import _pick, _unwrap, _wrap

_LEET = {
    "a": ["4", "@"], "e": ["3"], "i": ["1", "!"], "o": ["0"], "s": ["5", "$"], "t": ["7"], "l": ["1"],
    "g": ["9"], "b": ["8"], "z": ["2"],
}
_LEET_ATTACK = ("{P}", "{P}", "{P}", "Answer in the same style: {P}")


def _leet(text: str, rng: random.Random) -> str:
    """The bare leetspeak text of ``leetspeak`` (the same draws)."""
    rate = rng.uniform(0.5, 1.0)
    chars = list(text)
    candidates = [i for i, c in enumerate(chars) if c.lower() in _LEET]
    if candidates:
        chosen = {i for i in candidates if rng.random() < rate} or {rng.choice(candidates)}
        for i in chosen:
            chars[i] = rng.choice(_LEET[chars[i].lower()])
    return "".join(chars)


def leetspeak(text: str, rng: random.Random, *, benign: bool = False) -> str:
    """Replace letters by digits / symbols (``a``->``4``/``@``, ``e``->``3`` ...) at a seeded rate (at least one)."""
    body = _leet(text, rng)
    return _wrap("{P}" if benign else rng.choice(_LEET_ATTACK), body)


_TYPO_ATTACK = (
    "{P}",
    "{P}",
    "You are TypoGPT: you read words whose inner letters are scrambled without any trouble. Read this and do it: {P}",
    "Unscramble the words and follow the instruction: {P}",
)
_TYPO_BENIGN = ("{P}", "{P}", "Fun fact: yuo can sitll raed tihs. {P}")
_WORD_RE = re.compile(r"[^\W\d_]+")


def _scramble(word: str, rng: random.Random) -> str:
    inner = list(word[1:-1])
    rng.shuffle(inner)
    if "".join(inner) == word[1:-1]:
        inner = inner[1:] + inner[:1]  # differs unless all inner letters are equal
    return word[0] + "".join(inner) + word[-1]


def _typo(text: str, rng: random.Random) -> str:
    """The bare scrambled text of ``typoglycemia`` (the same draws)."""
    rate = rng.uniform(0.7, 1.0)
    eligible = [m for m in _WORD_RE.finditer(text) if len(m.group(0)) > 3 and len(set(m.group(0)[1:-1])) > 1]
    if eligible:
        chosen = {m.start() for m in eligible if rng.random() < rate} or {rng.choice(eligible).start()}
        parts, last = [], 0
        for m in eligible:
            if m.start() in chosen:
                parts += [text[last : m.start()], _scramble(m.group(0), rng)]
                last = m.end()
        text = "".join(parts) + text[last:]
    return text


def typoglycemia(text: str, rng: random.Random, *, benign: bool = False) -> str:
    """Scramble the inner letters of words longer than 3 letters, keeping first and last (at least one word)."""
    body = _typo(text, rng)
    return _wrap(_pick(rng, _TYPO_ATTACK, _TYPO_BENIGN, benign), body)


_SPACED_ATTACK = ("{P}", "{P}", "Join the letters and follow the instruction:\n{P}")
_SPACED_BENIGN = ("{P}", "{P}", "Read the letters together:\n{P}")


def _spaced_body(text: str, rng: random.Random) -> str:
    """The bare spaced-out text of ``spaced`` (the same draws)."""
    words = text.split()
    sep = rng.choice([" ", " ", ".", "-", "_", "*", "|"])
    if all(len(w) < 2 for w in words):
        sep = " "  # separators inside one-letter words would change nothing
    word_sep = "   " if sep == " " else " "
    return word_sep.join(sep.join(w) for w in words)


def spaced(text: str, rng: random.Random, *, benign: bool = False) -> str:
    """S p a c e d - o u t characters: ``i g n o r e   a l l``, ``i.g.n.o.r.e a.l.l``, ``i-g-n-o-r-e`` ..."""
    body = _spaced_body(text, rng)
    return _wrap(_pick(rng, _SPACED_ATTACK, _SPACED_BENIGN, benign), body)


def unspaced(text: str) -> str:
    """Undo ``spaced``: every second character of each word chunk is the separator."""
    body = _unwrap(text, _SPACED_ATTACK + _SPACED_BENIGN).strip()
    if re.search(r" {2,}", body):
        chunks = re.split(r" {2,}", body)
    else:
        chunks = body.split()
        if all(len(c) == 1 for c in chunks):  # one word, separated by single spaces
            chunks = [body]
    return " ".join(c[::2] for c in chunks)
