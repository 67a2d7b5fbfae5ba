"""Exact and near-duplicate detection across splits.

Exact duplicates are found on a canonical form (NFKC, case-folded, whitespace collapsed). Near duplicates use
MinHash over word 3-gram shingles with LSH banding, then confirm each candidate pair with the true Jaccard
similarity of the shingle sets, so a reported pair really shares at least ``threshold`` of its shingles.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+", re.UNICODE)
_MERSENNE = np.uint64((1 << 61) - 1)
_MAX_CHARS = 4000  # near-dup compares the first 4,000 characters: enough to tell templates apart, and bounded


def canonical(text: str) -> str:
    """Canonical form for exact-duplicate detection."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def shingles(text: str, n: int = 3) -> set[int]:
    """Hashed word n-grams (character 4-grams for texts without word boundaries, e.g. Chinese)."""
    text = canonical(text[:_MAX_CHARS])
    words = _WORD.findall(text)
    if len(words) >= n and len(words) * 3 >= len(text) // 8:
        grams = (" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    elif len(text) >= 4:
        grams = (text[i : i + 4] for i in range(len(text) - 3))
    else:
        grams = iter([text])
    return {zlib.crc32(g.encode("utf-8", "replace")) for g in grams}


class NearDupIndex:
    """MinHash-LSH index of reference texts; ``query`` returns the ids of near duplicates of a text.

    Args:
        threshold: Jaccard similarity of shingle sets at or above which two texts are near duplicates.
        bands, rows: LSH banding (bands x rows = number of hash functions); 16 x 4 catches pairs with
            Jaccard 0.7 with probability > 0.99 and every candidate is verified exactly.
        seed: seed of the hash functions (the index is deterministic).
    """

    def __init__(self, threshold: float = 0.8, bands: int = 16, rows: int = 4, seed: int = 1234) -> None:
        self.threshold = threshold
        self.bands, self.rows = bands, rows
        rng = np.random.default_rng(seed)
        n = bands * rows
        self._a = rng.integers(1, int(_MERSENNE), size=n, dtype=np.uint64)
        self._b = rng.integers(0, int(_MERSENNE), size=n, dtype=np.uint64)
        self._buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
        self._sets: list[set[int]] = []

    def _signature(self, sh: set[int]) -> np.ndarray:
        h = np.fromiter(sh, dtype=np.uint64, count=len(sh))[:, None]
        # (a*h + b) mod p on uint64 wraps, which is fine for hashing purposes.
        return ((h * self._a + self._b) % _MERSENNE).min(axis=0)

    def add(self, text: str) -> int:
        """Index a reference text; returns its id (0, 1, 2, ... in insertion order)."""
        sh = shingles(text)
        idx = len(self._sets)
        self._sets.append(sh)
        if sh:
            sig = self._signature(sh)
            for band in range(self.bands):
                key = sig[band * self.rows : (band + 1) * self.rows].tobytes()
                self._buckets[band].setdefault(key, []).append(idx)
        return idx

    def query(self, text: str) -> list[int]:
        """Ids of indexed texts whose shingle-set Jaccard similarity with ``text`` is >= threshold."""
        sh = shingles(text)
        if not sh:
            return []
        sig = self._signature(sh)
        candidates: set[int] = set()
        for band in range(self.bands):
            key = sig[band * self.rows : (band + 1) * self.rows].tobytes()
            candidates.update(self._buckets[band].get(key, ()))
        out = []
        for c in sorted(candidates):
            other = self._sets[c]
            inter = len(sh & other)
            if inter and inter / (len(sh) + len(other) - inter) >= self.threshold:
                out.append(c)
        return out

    def __len__(self) -> int:
        return len(self._sets)


def jaccard(a: str, b: str) -> float:
    """Jaccard similarity of the shingle sets of two texts."""
    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / max(1, len(sa | sb))


def find_leaks(reference: Sequence[str], candidates: Iterable[str], threshold: float = 0.8) -> list[int]:
    """Positions in ``candidates`` that exactly or nearly duplicate any text in ``reference``."""
    exact = {canonical(t) for t in reference}
    index = NearDupIndex(threshold=threshold)
    for t in reference:
        index.add(t)
    return [i for i, t in enumerate(candidates) if canonical(t) in exact or index.query(t)]
