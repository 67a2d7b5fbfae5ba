"""Character-CNN vectors per token, cached across calls (for models shipped with ``char.onnx``).

A token's character vector depends only on its surface characters (the first ``max_chars`` of its span), so the
guard keeps the vectors of the tokens it has seen and runs ``char.onnx`` on new ones only
(``tinyguardrail.export.split`` cuts that graph out of the fast graph with the same arithmetic). The cache holds at
most ``capacity`` tokens; when full, the older half is dropped (insertion order). Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import islice
from typing import Any

import numpy as np

from tinyguardrail.features import token_char_ids

DEFAULT_CAPACITY = 16384
"""Tokens kept (384 float32 each: about 25 MB at the default)."""


class CharVectors:
    """``batch(texts, encodings, width) -> char_vecs [B, width, D]`` for the fast graph's ``char_vecs`` input.

    Args:
        session: an ONNX Runtime session of ``char.onnx`` (``char_ids`` int64 [U, C] -> ``char_vecs`` [U, D]).
        max_chars: characters per token (C, the model's ``max_chars``).
        capacity: tokens kept between calls (0: no cache, every call computes its distinct tokens).
    """

    def __init__(self, session: Any, max_chars: int, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError(f"char cache capacity must be >= 0, got {capacity}")
        self.session = session
        self.max_chars = int(max_chars)
        self.capacity = int(capacity)
        self._table: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._table)

    def batch(self, texts: Sequence[str], encodings: Sequence[Any], width: int) -> np.ndarray:
        """Vectors of every token of every encoding, padded to ``width`` with the empty token's vector (as the
        all-padding character row of a padded position gives in the fast graph)."""
        c = self.max_chars
        index = np.zeros((len(texts), width), dtype=np.int64)  # 0: the empty span "" (padding, special tokens)
        keys: dict[str, int] = {"": 0}
        for i, (text, enc) in enumerate(zip(texts, encodings, strict=True)):
            row = index[i]
            for t, (a, b) in enumerate(enc.offsets[:width]):
                key = text[a:b][:c]
                j = keys.get(key)
                if j is None:
                    j = keys[key] = len(keys)
                row[t] = j
        vectors = self._vectors(list(keys))
        return vectors[index]

    def _vectors(self, keys: list[str]) -> np.ndarray:
        """[len(keys), D]: cached vectors, and ``char.onnx`` run once on the keys not cached (all under one lock, so
        concurrent calls never see a half-updated table)."""
        with self._lock:
            table = self._table
            missing = [k for k in keys if k not in table]
            self.hits += len(keys) - len(missing)
            self.misses += len(missing)
            found: dict[str, np.ndarray] = {}
            if missing:
                joined, offsets, pos = "".join(missing), [], 0
                for k in missing:
                    offsets.append((pos, pos + len(k)))
                    pos += len(k)
                ids = token_char_ids(joined, offsets, self.max_chars)
                out = self.session.run(["char_vecs"], {"char_ids": ids})[0]
                found = dict(zip(missing, np.asarray(out, dtype=np.float32), strict=True))
            rows = [found[k] if k in found else table[k] for k in keys]
            if self.capacity and found:
                excess = len(table) + len(found) - self.capacity
                if excess > 0:  # drop the older half (or more, to make room)
                    for k in list(islice(table, max(len(table) // 2, excess))):
                        del table[k]
                for k, v in islice(found.items(), self.capacity):
                    table[k] = v
        return np.stack(rows)
