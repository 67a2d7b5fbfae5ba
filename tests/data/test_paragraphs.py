"""Benign paragraphs (data.paragraphs): one language, one split, benign rows only, lengths that match attacks."""

from __future__ import annotations

import random

import pytest

from tinyguardrail.data.paragraphs import benign_paragraphs
from tinyguardrail.data.record import Record


def _rows(lang: str, n: int, split: str = "train", label: str = "benign") -> list[Record]:
    return [Record(f"{lang} sentence number {i} is ordinary.", label, "tatoeba_laser", "none", lang, f"t/{lang}/{i}",
                   split) for i in range(n)]  # fmt: skip


def test_paragraphs_keep_language_split_and_label():
    rows = _rows("mr", 40) + _rows("ne", 40) + _rows("en", 400) + _rows("mr", 40, label="direct_injection")
    rows += [Record("x" * 400, "benign", "s", "none", "mr", "long/1", "train")]  # too long to be a sentence
    out = benign_paragraphs(rows, random.Random(0), 50)
    assert len(out) == 50 and {r.lang for r in out} == {"mr", "ne"}  # English left out; both languages share
    assert sum(r.lang == "mr" for r in out) == 25
    for r in out:
        parts = [p for p in r.text.replace("\n", " ").split(" is ordinary.") if p.strip()]
        assert 3 <= len(parts) <= 10
        assert all(p.strip().startswith(r.lang) for p in parts)  # only rows of its own language
        assert r.label == "benign" and r.split == "train" and r.attack_type == "paragraph"
        assert r.template_id.startswith(f"paragraph/{r.lang}/t/{r.lang}/") and "x" * 50 not in r.text


def test_paragraphs_are_deterministic_and_off_when_asked():
    rows = _rows("sw", 30)
    assert benign_paragraphs(rows, random.Random(3), 5) == benign_paragraphs(rows, random.Random(3), 5)
    rng = random.Random(3)
    state = rng.getstate()
    assert benign_paragraphs(rows, rng, 0) == [] and rng.getstate() == state  # the build is unchanged when off
    assert benign_paragraphs(_rows("sw", 5), random.Random(0), 5) == []  # too few rows in the language
    with pytest.raises(ValueError, match="min_sentences"):
        benign_paragraphs(rows, random.Random(0), 5, min_sentences=5, max_sentences=3)
