"""Split texts longer than the model window into overlapping token windows.

A text is tokenized once without special tokens; if its ``n`` tokens do not fit in ``body = max_len - specials``,
it is covered by the fewest windows of ``body`` tokens that overlap by at least ``overlap`` tokens, spread evenly from
the first token to the last, and each window is cut from the text by the tokens' character offsets. The runtime scores every window and the
most severe one wins, so one injected sentence inside a long benign document is not diluted by the rest.

Windows are character spans of the *normalized* text; the runtime re-encodes each window with
``features.encode_batch`` (the shared preprocessing), which truncates to ``max_len`` should a window re-tokenize a
token or two longer at its edges; the overlap between windows covers those edges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def window_starts(n_tokens: int, body: int, overlap: int, max_windows: int | None = None) -> list[int]:
    """Start token of each window so that windows of ``body`` tokens cover ``n_tokens`` tokens.

    The fewest windows in which neighbours overlap by at least ``overlap`` tokens, spread evenly from the first token
    to the last (so the real overlap is usually larger): any run of ``overlap + 1`` tokens lies wholly inside one
    window. With ``max_windows`` the count is capped, but never below what covers the text without gaps (the overlap
    then shrinks, down to none).
    """
    if body < 1:
        raise ValueError(f"window body must be at least one token, got {body}")
    if n_tokens <= body:
        return [0]
    overlap = max(0, min(overlap, body - 1))
    count = math.ceil((n_tokens - overlap) / (body - overlap))
    if max_windows is not None and max_windows >= 1:
        count = max(math.ceil(n_tokens / body), min(count, max_windows))
    count = max(count, 2)
    last = n_tokens - body
    return sorted({round(i * last / (count - 1)) for i in range(count)})


def token_windows(
    offsets: Sequence[tuple[int, int]], body: int, overlap: int, max_windows: int | None = None
) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the windows of a text whose tokens (no special tokens) have ``offsets``."""
    n = len(offsets)
    if n == 0:
        return [(0, 0)]
    return spans_at(offsets, window_starts(n, body, overlap, max_windows), body)


def spans_at(offsets: Sequence[tuple[int, int]], starts: Sequence[int], body: int) -> list[tuple[int, int]]:
    """Character spans of the windows of ``body`` tokens that start at the token indices ``starts``."""
    n = len(offsets)
    return [(offsets[start][0], offsets[min(n, start + body) - 1][1]) for start in starts]


def char_windows(text_len: int, size: int, overlap: int, max_windows: int | None = None) -> list[tuple[int, int]]:
    """Character windows of ``size`` characters: the fallback when no token offsets are available."""
    return [(s, min(text_len, s + size)) for s in window_starts(text_len, size, overlap, max_windows)]


def max_tokens_bound(text: str) -> int:
    """An upper bound on the number of tokens any subword tokenizer we ship gives ``text`` (before special tokens).

    Every token covers at least one UTF-8 byte, except SentencePiece's lone word-start marker, which precedes a
    character; so two per byte is safe. Used to skip the windowing tokenization for short texts.
    """
    return 2 * len(text.encode("utf-8", errors="replace"))
