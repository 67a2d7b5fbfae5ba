from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinyguardrail.runtime.windows import char_windows, max_tokens_bound, token_windows, window_starts


def test_short_text_is_one_window():
    assert window_starts(5, 14, 7) == [0]
    assert window_starts(14, 14, 7) == [0]


def test_fewest_windows_spread_evenly_end_aligned():
    assert window_starts(30, 14, 7) == [0, 5, 11, 16]  # 4 windows of 14 overlapping by >= 7
    assert window_starts(467, 254, 32) == [0, 213]  # 2 windows overlapping by 41 (>= 32)
    assert window_starts(467, 254, 64) == [0, 106, 213]


@given(st.integers(1, 3000), st.integers(1, 64), st.integers(0, 80), st.one_of(st.none(), st.integers(1, 50)))
def test_windows_cover_every_token_with_the_overlap(n, body, overlap, max_windows):
    starts = window_starts(n, body, overlap, max_windows)
    assert starts[0] == 0
    assert starts == sorted(set(starts))
    assert starts[-1] + body >= n
    covered_to = 0
    for prev, s in zip([None, *starts], starts, strict=False):
        assert s <= covered_to  # no gap
        if prev is not None and (max_windows is None or len(starts) < max_windows):
            assert prev + body - s >= min(overlap, body - 1)  # neighbours share at least `overlap` tokens
        covered_to = max(covered_to, min(n, s + body))
    assert covered_to == n
    if max_windows is not None and n > body:
        # the cap holds whenever the text can be covered within it
        assert len(starts) <= max(max_windows, -(-n // body), 2)


def test_token_windows_map_to_char_spans():
    text = "aa bb cc dd ee"
    offsets = [(0, 2), (3, 5), (6, 8), (9, 11), (12, 14)]
    spans = token_windows(offsets, body=2, overlap=0)
    assert [text[s:e] for s, e in spans] == ["aa bb", "cc dd", "dd ee"]
    assert token_windows([], 2, 1) == [(0, 0)]


def test_char_windows():
    assert char_windows(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]


def test_bounds():
    with pytest.raises(ValueError):
        window_starts(3, 0, 1)
    assert max_tokens_bound("abc") == 6
    assert max_tokens_bound("\ud800") >= 2
