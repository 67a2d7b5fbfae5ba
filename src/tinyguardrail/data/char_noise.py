"""Character-level noise on non-English training rows, attack and benign alike (opt-in: ``BuildConfig.char_noise_share``).

A guard trained on Spanish and French phrasings of an attack should also catch the Italian or Portuguese one, whose
words differ by a letter or two ("revela la directiva principal" / "rivela la direttiva principale"). A subword model
may learn the pieces of the spellings it saw instead: v0.15 scores that Spanish request 0.96 and its Italian twin 0.34
(``scripts/cognate_probe.py``, docs/ablations/v25/cognate_probe_v015.json). Aepli & Sennrich (2022, "Improving
zero-shot cross-lingual transfer between closely related languages by injecting character-level noise") train on
copies of the source-language rows with a share of their letters substituted, deleted or inserted, so the model
stops relying on one spelling.

Here the noise draws its letters from the row's own alphabet (nothing is known of the held-out languages), only the
training split gets noised copies, and both classes get the same share of their eligible rows. Eligible: short rows
(at most ``MAX_CHARS``) whose language tag is known and not English, except obfuscation rows and the transforms'
benign twins (their characters are the attack) and the carrier-based rows (``attack_type`` ``indirect_*``: an
English e-mail, tool output or table with a non-English payload, whose clean twins are tagged English; noising them
would make misspelled English carriers a sign of the attack class). The length cap keeps the noised rows to prompts
and sentences, which both classes have; the long non-English rows are benign documents only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from tinyguardrail.data.record import Record

NOISE_ATTACK_TYPE_PREFIX = "char_noise/"
"""Prefix of a noised copy's ``attack_type``: ``char_noise/<the original's attack_type>``."""
SKIP_LANGS = frozenset({"en", "und"})
MAX_CHARS = 600
"""Longer rows get no noised copy (see the module docstring)."""


def noise_text(text: str, rng: random.Random, rate: float) -> str:
    """Each letter, with probability ``rate``: substituted, deleted, or followed by an inserted letter (one of three,
    equally likely). The letters put in are drawn from the text's own letters (lower case), so the script stays."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    alphabet = sorted({c.lower() for c in text if c.isalpha()})
    if not alphabet or rate == 0.0:
        return text
    out: list[str] = []
    for c in text:
        if not c.isalpha() or rng.random() >= rate:
            out.append(c)
            continue
        op = rng.randrange(3)
        if op == 0:
            out.append(rng.choice(alphabet))
        elif op == 2:
            out += [c, rng.choice(alphabet)]
        # op == 1: deleted
    return "".join(out)


def eligible(r: Record) -> bool:
    """A training row that may get a noised copy (the module docstring says which and why)."""
    return (r.split == "train" and r.lang not in SKIP_LANGS and r.label != "obfuscation" and len(r.text) <= MAX_CHARS
            and not r.attack_type.startswith(("benign_", "indirect")))


def char_noise_rows(records: Sequence[Record], share: float, rate: float, seed: int) -> list[Record]:
    """Noised copies of ``share`` of the eligible rows of each class (drawn per class, so both get the same share),
    from a generator of their own: the build's other rows do not move. Copies equal to their original are dropped."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share!r}")
    out: list[Record] = []
    if share == 0.0:
        return out
    for benign in (True, False):
        pool = sorted((r for r in records if eligible(r) and (r.label == "benign") == benign),
                      key=lambda r: (r.source, r.template_id, r.text))
        rng = random.Random(f"{seed}:char_noise:{'benign' if benign else 'attack'}")
        for r in rng.sample(pool, round(share * len(pool))):
            text = noise_text(r.text, rng, rate)
            if text != r.text:
                out.append(replace(r, text=text, attack_type=NOISE_ATTACK_TYPE_PREFIX + r.attack_type))
    return out
