"""Which part of a text decided its verdict: the deciding view's text and the deciding window's character span.

A verdict names the view that decided (``original`` or a decoder's view, e.g. ``base64``) and the index of the
window within it, not the characters. :class:`Explainer` recomputes them from the guard's public parts, the way the
guard does: sanitize lone surrogates, normalize, build the views (``guard.frontend``), then cut the deciding view
into token windows (``guard.model_dir``'s tokenizer, ``guard.window_body``, ``guard.window_overlap``,
``guard.max_windows`` and ``runtime.windows``). The answer is checked against the verdict (same view found, same
number of windows); when they disagree, or for an empty text, there is no explanation rather than a wrong one.

The span is in the *view's* text (what the model read: the normalized input, or the decoded text), which is
returned with it, so a client can highlight it without mapping positions back through normalization.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from tinyguardrail.features import sanitize
from tinyguardrail.runtime.windows import max_tokens_bound, spans_at, window_starts


@dataclass(frozen=True)
class Explanation:
    """The deciding view's text and the deciding window ``[start, end)`` as character offsets into it."""

    view_text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"view_text": self.view_text, "span": [self.start, self.end]}


class Explainer:
    """Recomputes the deciding view and window of a guard's verdicts (thread-safe)."""

    def __init__(self, guard: Any) -> None:
        self._guard = guard
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _encode(self, text: str) -> Any:
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                guard = self._guard
                self._tokenizer = Tokenizer.from_file(str(guard.model_dir / guard.files["tokenizer"]))
                self._tokenizer.no_truncation()
                self._tokenizer.no_padding()
            return self._tokenizer.encode(text, add_special_tokens=False)

    def view_text(self, text: str, view: str) -> str | None:
        """The text of the view named ``view`` for the input ``text`` (``original``: the normalized input)."""
        frontend = self._guard.frontend
        normalized = frontend.normalize(sanitize(text)).text
        if view == "original":
            return normalized
        seen = {normalized}
        for candidate in frontend.make_views(normalized):
            body = getattr(candidate, "text", "")
            if not body or not body.strip() or body in seen:
                continue
            seen.add(body)
            if str(getattr(candidate, "name", "view")) == view:
                return body
        return None

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the token windows the guard cuts ``text`` into."""
        guard = self._guard
        if max_tokens_bound(text) <= guard.window_body:
            return [(0, len(text))]
        encoding = self._encode(text)
        if len(encoding.offsets) <= guard.window_body:
            return [(0, len(text))]
        starts = window_starts(len(encoding.ids), guard.window_body, guard.window_overlap, guard.max_windows)
        return spans_at(encoding.offsets, starts, guard.window_body)

    def explain(self, text: str, verdict: Any) -> Explanation | None:
        """The deciding view's text and window span for ``verdict`` (a verdict of ``text``), or None."""
        if verdict.windows < 1 or not text.strip():
            return None
        body = self.view_text(text, verdict.view)
        if body is None:
            return None
        spans = self.windows(body)
        if len(spans) != verdict.windows or not 0 <= verdict.window < len(spans):
            return None
        start, end = spans[verdict.window]
        return Explanation(body, start, end)
