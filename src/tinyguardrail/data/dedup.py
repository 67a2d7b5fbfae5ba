"""Exact and near-duplicate detection across splits.

Exact duplicates are found on a canonical form: literal ``\\n`` / ``\\t`` / ``\\uXXXX`` escapes decoded, then the
text stage's comparison skeleton (``text.normalize.skeleton``: NFKC, invisible characters dropped, every confusable
folded to ASCII, accents stripped, case-folded, whitespace collapsed), so homoglyph and zero-width variants of one
text are one text. Near duplicates use MinHash over word 3-gram shingles with LSH banding, then
confirm each candidate pair with the true Jaccard similarity of the shingle sets, so a reported pair really shares
at least ``threshold`` of its shingles. ``ContainmentIndex`` finds a protected text of ``MIN_CONTAINED_WORDS`` or
more words copied whole inside a longer text (an evaluation e-mail reused as a training carrier, a goal inside a
goal + adversarial suffix).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_WS = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_MERSENNE = np.uint64((1 << 61) - 1)
_MAX_CHARS = 4000  # near-dup compares the first 4,000 characters: enough to tell templates apart, and bounded


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[ntr])")
_ESCAPED = {"n": "\n", "t": "\t", "r": "\n"}
MIN_CONTAINED_WORDS = 8


def unescape(text: str) -> str:
    """Literal escape sequences some sources carry (``\\u201c``, ``\\n``) as the characters they stand for."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" else _ESCAPED[m.group(1)], text)


def surface_key(text: str) -> str:
    """Key of exact duplicates as written: escapes decoded, NFKC, case-folded, whitespace collapsed. Unlike
    :func:`canonical` it keeps homoglyphs, invisible characters and punctuation, so a homoglyph or zero-width variant
    of a text (an obfuscation row made from it) is a row of its own."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", unescape(text)).casefold()).strip()


@functools.lru_cache(maxsize=1 << 19)
def canonical(text: str) -> str:
    """Canonical form for exact-duplicate detection: the skeleton's words, punctuation and spacing dropped."""
    from tinyguardrail.text.normalize import skeleton

    return " ".join(_WORD.findall(skeleton(unescape(text))))


_B64_BLOB = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HEX_BLOB = re.compile(r"(?<![0-9A-Za-z])(?:(?:0x)?[0-9a-fA-F]{2}[\s,:]*){12,}")


def _printable(raw: bytes) -> str | None:
    text = raw.decode("utf-8", "ignore")
    return text if len(text) >= 8 and sum(c.isprintable() or c.isspace() for c in text) >= 0.9 * len(text) else None


def readings(text: str) -> list[str]:
    """``text`` and the plain text of what is encoded in it (Base64 and hex blobs, URL escapes): an encoded copy of a
    protected text is a copy of it. Cheap: a text with nothing that looks encoded has only itself."""
    import base64
    import binascii
    from urllib.parse import unquote_plus

    text = text[:_MAX_CHARS]
    out = [text]
    for rx, dec in ((_B64_BLOB, lambda b: base64.b64decode(b + "=" * (-len(b) % 4))),
                    (_HEX_BLOB, lambda b: bytes.fromhex(re.sub(r"0x|[^0-9a-fA-F]", "", b)))):
        for m in rx.finditer(text):
            try:
                plain = _printable(dec(m.group(0)))
            except (binascii.Error, ValueError):
                plain = None
            if plain:
                out.append(plain)
    if "%" in text or "+" in text:
        url = unquote_plus(text)
        if url != text:
            out.append(url)
    return out


def mirror_keys(text: str) -> list[str]:
    """Canonical keys of the reversed text and of its ROT13 (a protected text flipped or rotated in training)."""
    import codecs

    text = text[:_MAX_CHARS]
    return [canonical(text[::-1]), canonical(" ".join(reversed(text.split()))), canonical(codecs.encode(text, "rot13"))]


#: Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, kana, CJK): one token per character.
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _tokens(canon: str) -> list[str]:
    out: list[str] = []
    for w in canon.split():
        if _UNSPACED.search(w):
            out += _UNSPACED.sub(lambda m: f" {m.group(0)} ", w).split()
        else:
            out.append(w)
    return out


@functools.lru_cache(maxsize=1 << 12)
def _text_tokens(text: str) -> tuple[str, ...]:
    """Tokens of the first ``_MAX_CHARS`` characters' canonical form. Cached: the build asks the exact, containment,
    passage and near-duplicate indexes about each text in turn."""
    return tuple(_tokens(canonical(text[:_MAX_CHARS])))


@functools.lru_cache(maxsize=1 << 12)
def shingles(text: str, n: int = 3) -> frozenset[int]:
    """Hashed token n-grams of the canonical form; tokens are words, single characters in unspaced scripts."""
    toks = _text_tokens(text)
    if len(toks) >= n:
        grams = (" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    else:
        grams = iter([" ".join(toks)])
    return frozenset(zlib.crc32(g.encode("utf-8", "replace")) for g in grams)


class NearDupIndex:
    """MinHash-LSH index of reference texts; ``query`` returns the ids of near duplicates of a text.

    Args:
        threshold: Jaccard similarity of shingle sets at or above which two texts are near duplicates.
        bands, rows: LSH banding (bands x rows = number of hash functions); 32 x 4 catches pairs with
            Jaccard 0.6 with probability > 0.98 (0.7: > 0.999) and every candidate is verified exactly.
        seed: seed of the hash functions (the index is deterministic).
    """

    def __init__(self, threshold: float = 0.6, bands: int = 32, rows: int = 4, seed: int = 1234) -> None:
        self.threshold = threshold
        self.bands, self.rows = bands, rows
        rng = np.random.default_rng(seed)
        n = bands * rows
        self._a = rng.integers(1, int(_MERSENNE), size=n, dtype=np.uint64)
        self._b = rng.integers(0, int(_MERSENNE), size=n, dtype=np.uint64)
        self._buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
        self._sets: list[frozenset[int]] = []

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


class ContainmentIndex:
    """Protected texts of at least ``MIN_CONTAINED_WORDS`` words; ``contains(text)`` tells whether ``text`` holds
    (almost) all of one of them: at least ``containment`` of its word 3-gram shingles. Shingles shared by more than
    ``max_postings`` protected texts (stock phrases) are not counted on either side."""

    def __init__(self, texts: Iterable[str] = (), containment: float = 0.8, max_postings: int = 200) -> None:
        self.containment, self.max_postings = containment, max_postings
        self._sets: list[frozenset[int]] = []
        self._postings: dict[int, list[int]] = {}
        self._common: set[int] = set()
        self._own: dict[int, tuple[int, int]] = {}
        for t in texts:
            self.add(t)

    def add(self, text: str) -> None:
        if len(_text_tokens(text)) < MIN_CONTAINED_WORDS:
            return
        sh = shingles(text)
        idx = len(self._sets)
        self._sets.append(sh)
        for s in sh:
            post = self._postings.setdefault(s, [])
            post.append(idx)
            if len(post) > self.max_postings:
                self._common.add(s)

    def contains(self, text: str) -> bool:
        postings = self._postings
        hits = Counter(itertools.chain.from_iterable(postings.get(s, ()) for s in shingles(text) - self._common))
        for idx, h in hits.items():
            own = self._own_size(idx)
            if own and h >= self.containment * own:
                return True
        return False

    def _own_size(self, idx: int) -> int:
        """Shingles of protected text ``idx`` outside the stock phrases; cached until the stock set grows."""
        version = len(self._common)
        cached = self._own.get(idx)
        if cached is None or cached[0] != version:
            cached = (version, len(self._sets[idx] - self._common))
            self._own[idx] = cached
        return cached[1]


#: Shared-passage length (tokens) of ``PassageIndex``: 13 words, as GPT-3's decontamination used; twice that in
#: scripts written without spaces, where a token is one character.
PASSAGE_WORDS = 13
PASSAGE_CHARS = 26


def passages(text: str) -> set[int]:
    """64-bit hashes of every run of ``PASSAGE_WORDS`` tokens (``PASSAGE_CHARS`` when most tokens are single
    characters of an unspaced script)."""
    toks = _text_tokens(text)
    unspaced = sum(len(t) == 1 and bool(_UNSPACED.match(t)) for t in toks) * 2 > len(toks)
    n = PASSAGE_CHARS if unspaced else PASSAGE_WORDS
    return {hash(tuple(toks[i : i + n])) for i in range(len(toks) - n + 1)}


class PassageIndex:
    """Decontamination by shared passages: ``shares(text)`` tells whether ``text`` repeats a run of 13 words (26
    characters of an unspaced script) of a protected text. Runs found in more than ``max_df`` protected texts are
    the protected sets' own boilerplate and do not count."""

    def __init__(self, max_df: int = 20) -> None:
        self.max_df = max_df
        self._df: dict[int, int] = {}

    def add(self, text: str) -> None:
        for h in passages(text):
            self._df[h] = self._df.get(h, 0) + 1

    def shares(self, text: str) -> bool:
        df = self._df
        return any(0 < df.get(h, 0) <= self.max_df for h in passages(text))


def jaccard(a: str, b: str) -> float:
    """Jaccard similarity of the shingle sets of two texts."""
    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / max(1, len(sa | sb))


def find_leaks(reference: Sequence[str], candidates: Iterable[str], threshold: float = 0.6) -> list[int]:
    """Positions in ``candidates`` that exactly or nearly duplicate any text in ``reference``."""
    exact = {canonical(t) for t in reference}
    index = NearDupIndex(threshold=threshold)
    for t in reference:
        index.add(t)
    return [i for i, t in enumerate(candidates) if canonical(t) in exact or index.query(t)]
