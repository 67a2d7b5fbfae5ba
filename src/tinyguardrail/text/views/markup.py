"""Decoder of payload splitting (``a = "..."; b = "..."; z = a + b`` concatenated): ``payload_split``; decoder of
the attacks in :mod:`tinyguardrail.data.synth.markup`. Hidden comments, the other attack there, need no decoder:
:mod:`tinyguardrail.text.normalize` surfaces them.
"""

from __future__ import annotations

import re

from tinyguardrail.text.views.core import _Cand, _Ctx, _literal, text_quality

_ASSIGN_RE = re.compile(r"^[ \t]*([A-Za-z_][A-Za-z0-9_]{0,30})[ \t]*=[ \t]*(\"(?:[^\"\\\n]|\\.){0,2000}\"|'(?:[^'\\\n]|\\.){0,2000}')[ \t;]*$",
                        re.M)
_CONCAT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}(?:[ \t]*\+[ \t]*[A-Za-z_][A-Za-z0-9_]{0,30}){1,30}")


def _dec_payload_split(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if text.count("=") < 2 or "+" not in text or not ('"' in text or "'" in text):
        return []
    values: dict[str, str] = {}
    for m in _ASSIGN_RE.finditer(text):
        v = _literal(m.group(2))
        if isinstance(v, str):
            values[m.group(1)] = v
        if len(values) > 64:
            break
    if len(values) < 2:
        return []
    best: list[str] = []
    for m in _CONCAT_RE.finditer(text):
        names = [n.strip() for n in m.group().split("+")]
        if all(n in values for n in names) and len(names) > len(best):
            best = names
    if not best:
        return []
    joined = "".join(values[n] for n in best)[: ctx.limits.max_view_chars]
    q = text_quality(joined, ctx.limits.script_marks)
    return [_Cand("payload_split", text + "\n" + joined, max(0.3, q), joined)]
