"""Request bodies: UTF-8 JSON with bounded nesting and bounded numbers.

``json.loads`` on an untrusted body has two failure modes besides ``JSONDecodeError``: a deeply nested document
(``[[[[...``) exhausts the recursion limit (``RecursionError``), and an integer of more than 4,300 digits trips
Python's int-to-string guard (``ValueError``). Here the nesting depth is measured *before* parsing, in linear time,
and numbers are checked *during* parsing (``parse_int`` / ``parse_float`` hooks), so every malformed body becomes
a :class:`BodyError` (answered 400) and nothing else escapes.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

MAX_DEPTH = 32
"""Deepest accepted nesting of arrays and objects (the API's own bodies need 2)."""
MAX_NUMBER_CHARS = 64
"""Longest accepted number literal, in characters (the API takes no numbers; this bounds what it skips)."""

_QUOTE, _OPEN_SQUARE, _CLOSE_SQUARE, _OPEN_CURLY, _CLOSE_CURLY = b'"[]{}'


class BodyError(ValueError):
    """A body that is not acceptable JSON; ``code`` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in the JSON document ``raw``, brackets inside strings not counted.

    Linear time, no recursion, no per-byte Python loop: escaped backslashes and escaped quotes are blanked first
    (left to right, which is how JSON pairs them), so every quote left opens or closes a string; a bracket is outside
    every string when an even number of quotes precede it, and the depth is the running sum of +1 per opening and
    -1 per closing bracket outside strings. For invalid JSON the figure bounds the depth a parser reaches before it
    fails (a string left open hides the brackets after it, as it would from the parser).
    """
    if not raw:
        return 0
    blanked = raw.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    codes = np.frombuffer(blanked, dtype=np.uint8)
    outside = (np.cumsum(codes == _QUOTE, dtype=np.int64) & 1) == 0
    opens = (codes == _OPEN_SQUARE) | (codes == _OPEN_CURLY)
    closes = (codes == _CLOSE_SQUARE) | (codes == _CLOSE_CURLY)
    steps = (opens.astype(np.int8) - closes.astype(np.int8)) * outside
    return max(0, int(np.cumsum(steps, dtype=np.int64).max()))


def _bounded(convert):
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise BodyError("number_too_long", f"a number of {len(literal)} characters in the body; at most "
                                               f"{MAX_NUMBER_CHARS} are accepted")
        return convert(literal)

    return parse


def _no_constant(name: str) -> Any:
    raise BodyError("invalid_json", f"request body is not valid JSON: {name} is not a JSON value")


_PARSE_INT = _bounded(int)
_PARSE_FLOAT = _bounded(float)


def parse_json(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Decode ``raw`` as UTF-8 JSON. Raises :class:`BodyError` (and only that) for anything unacceptable:
    ``invalid_utf8``, ``invalid_json``, ``json_too_deep`` or ``number_too_long``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError("invalid_utf8", f"request body is not valid UTF-8 (byte {exc.start})") from None
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise BodyError("json_too_deep", f"request body nests {depth} levels deep; at most {max_depth} are accepted")
    try:
        return json.loads(text, parse_int=_PARSE_INT, parse_float=_PARSE_FLOAT, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BodyError("invalid_json", f"request body is not valid JSON: {exc.msg} at line {exc.lineno} "
                                        f"column {exc.colno}") from None
    except RecursionError:  # not reachable past the depth check; kept so no input can turn into a 500
        raise BodyError("json_too_deep", "request body nests too deep") from None
