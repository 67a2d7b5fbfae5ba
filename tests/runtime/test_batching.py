"""How the guard groups rows into ONNX Runtime calls (``Guard._chunks``)."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from tinyguardrail.runtime.guard import Guard


def chunks(lengths, batch_rows=64, batch_tokens=2048):
    return Guard._chunks(SimpleNamespace(batch_rows=batch_rows, batch_tokens=batch_tokens), lengths)


def test_short_rows_are_not_padded_to_long_ones():
    lengths = [256, 12, 256, 10, 11, 256]
    got = chunks(lengths, batch_tokens=600)
    assert got == [[3, 4, 1], [0, 2], [5]]  # sorted by length; 3 x 256 > 600 tokens
    assert chunks([300], batch_tokens=100) == [[0]]  # one row longer than the budget still runs


@given(st.lists(st.integers(1, 256), max_size=200), st.integers(1, 70), st.integers(1, 5000))
def test_every_row_once_within_both_limits(lengths, batch_rows, batch_tokens):
    got = chunks(lengths, batch_rows, batch_tokens)
    assert sorted(r for c in got for r in c) == list(range(len(lengths)))
    for c in got:
        assert len(c) <= batch_rows
        assert len(c) == 1 or len(c) * max(lengths[r] for r in c) <= batch_tokens
