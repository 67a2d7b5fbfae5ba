"""The per-token cache of character-CNN vectors (runtime.charcache)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from tinyguardrail.features import token_char_ids
from tinyguardrail.runtime.charcache import CharVectors

D, C = 6, 4


class FakeCharSession:
    """char_ids [U, C] -> a vector that encodes the ids (so a wrong row is visible), counting the rows it ran."""

    def __init__(self):
        self.rows = 0

    def run(self, names, feeds):
        ids = feeds["char_ids"]
        assert names == ["char_vecs"] and ids.dtype == np.int64 and ids.shape[1] == C
        self.rows += len(ids)
        return [np.concatenate([ids, ids[:, :2] * 2], axis=1).astype(np.float32)]


def enc(text, spans):
    return SimpleNamespace(offsets=[(0, 0), *spans, (0, 0)])  # [CLS] ... [SEP]: empty spans


def expected(text, offsets, width):
    ids = np.zeros((width, C), dtype=np.int64)
    ids[: len(offsets)] = token_char_ids(text, offsets, C)
    return np.concatenate([ids, ids[:, :2] * 2], axis=1).astype(np.float32)


def test_vectors_match_the_graph_on_the_token_characters_and_are_cached():
    session = FakeCharSession()
    cache = CharVectors(session, max_chars=C, capacity=100)
    texts = ["hello world hello", "world peace"]
    encs = [enc(texts[0], [(0, 5), (6, 11), (12, 17)]), enc(texts[1], [(0, 5), (6, 11)])]
    out = cache.batch(texts, encs, width=6)
    assert out.shape == (2, 6, D)
    for i, e in enumerate(encs):
        np.testing.assert_array_equal(out[i], expected(texts[i], e.offsets, 6))  # padding: the empty token's vector
    assert session.rows == 4  # "", hello, world, peace: each distinct token once
    again = cache.batch(texts[:1], encs[:1], width=5)
    np.testing.assert_array_equal(again[0], expected(texts[0], encs[0].offsets, 5))
    assert session.rows == 4 and cache.hits >= 3  # nothing new to compute


def test_tokens_longer_than_max_chars_share_their_prefix():
    cache = CharVectors(FakeCharSession(), max_chars=C, capacity=10)
    text = "abcdefgh abcdxyz"
    out = cache.batch([text], [enc(text, [(0, 8), (9, 16)])], width=4)
    np.testing.assert_array_equal(out[0, 1], out[0, 2])  # both start with "abcd"


def test_capacity_is_respected_and_zero_disables_the_cache():
    session = FakeCharSession()
    cache = CharVectors(session, max_chars=C, capacity=8)
    for n in range(30):
        word = f"w{n:03d}"
        cache.batch([word], [enc(word, [(0, 4)])], width=3)
        assert len(cache) <= 8
    none = CharVectors(FakeCharSession(), max_chars=C, capacity=0)
    none.batch(["ab"], [enc("ab", [(0, 2)])], width=3)
    assert len(none) == 0
    with pytest.raises(ValueError):
        CharVectors(session, max_chars=C, capacity=-1)


def test_concurrent_calls_agree():
    cache = CharVectors(FakeCharSession(), max_chars=C, capacity=16)
    words = [f"t{n:02d}" for n in range(40)]
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for _ in range(50):
            picked = [words[i] for i in rng.integers(0, len(words), 5)]
            text = " ".join(picked)
            spans = [(4 * i, 4 * i + 3) for i in range(5)]
            got = cache.batch([text], [enc(text, spans)], width=7)
            if not np.array_equal(got[0], expected(text, [(0, 0), *spans, (0, 0)], 7)):
                errors.append(seed)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
