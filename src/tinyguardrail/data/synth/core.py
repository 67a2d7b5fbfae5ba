"""Helpers shared by the transforms: the payload slot ``P`` of the wrapper templates, ``_wrap`` / ``_unwrap``
(fill a template, find the payload again), ``_pick`` (attack or benign wrapper) and ``_norm`` (the
whitespace-normalized equality the inverses guarantee).

No twin module in :mod:`tinyguardrail.text.views` (whose shared ground is ``views.core``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

#: Marker of the payload slot inside wrapper templates (templates are not ``str.format`` strings because the
#: CodeChameleon prompt is full of braces).
P = "{P}"


def _norm(text: str) -> str:
    """Whitespace-normalized text: the equality the inverses guarantee."""
    return " ".join(text.split())


def _wrap(template: str, payload: str) -> str:
    return template.replace(P, payload, 1)


def _unwrap(text: str, templates: Sequence[str]) -> str:
    """The payload slot of whichever template produced ``text``.

    A template ``prefix{P}suffix`` matches when ``prefix`` occurs in ``text`` (its first occurrence; prefixes never
    occur in the fixed text before the slot) and ``text`` ends with ``suffix``. The earliest, then longest, match
    wins; the bare template ``{P}`` is the fallback.
    """
    best: tuple[int, int, int, str] | None = None
    for t in templates:
        prefix, suffix = t.split(P, 1)
        if not prefix and not suffix:
            continue
        i = text.find(prefix) if prefix else 0
        if i < 0 or not text.endswith(suffix):
            continue
        start, end = i + len(prefix), len(text) - len(suffix)
        if start > end:
            continue
        key = (i, -len(prefix), -len(suffix), text[start:end])
        if best is None or key[:3] < best[:3]:
            best = key
    return best[3] if best is not None else text


def _pick(rng: random.Random, attack: Sequence[str], benign_: Sequence[str], benign: bool) -> str:
    return rng.choice(list(benign_ if benign else attack))
