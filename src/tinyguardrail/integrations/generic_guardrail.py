"""LiteLLM's guardrail rule, written once for the HTTP endpoint and the in-process guardrail (no dependency).

LiteLLM hands a guardrail the texts of a request or a response (``texts``: every message's text, tool results
included) and, when it has them, the conversation (``structured_messages``). Both TinyGuardrail adapters, the
server's ``POST /beta/litellm_basic_guardrail_api`` and :class:`tinyguardrail.integrations.litellm.TinyGuardrail`,
answer the same way:

1. :func:`distinct_texts`: the conversation's texts (named by message, role and channel), then ``texts``; a text
   sent twice is scanned once, under the first name it had;
2. one ``check_batch`` over those texts;
3. :func:`block_reason`: None when every text is safe, else a reason naming where the most severe unsafe text is
   (never the text itself: reasons end up in logs and in the client's error), its label, P(attack), action and
   code, and how many texts were flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from tinyguardrail.runtime.guard import severity_key

if TYPE_CHECKING:  # pragma: no cover
    from tinyguardrail.runtime.guard import MessageText, Verdict


def distinct_texts(scanned: Iterable[MessageText], texts: Sequence[str] | None) -> dict[str, str]:
    """Text -> where it first appears: ``messages[i] (role, channel)`` for the conversation, ``texts[i]`` after."""
    items = [(f"{m.where} ({m.role}, {m.channel})", m.text) for m in scanned]
    items += [(f"texts[{i}]", text) for i, text in enumerate(texts or ())]
    first: dict[str, str] = {}
    for where, text in items:
        first.setdefault(text, where)
    return first


def block_reason(first: Mapping[str, str], verdicts: Sequence[Verdict]) -> str | None:
    """None if every verdict is safe; else why the request is blocked (``first`` and ``verdicts`` in one order)."""
    flagged = [(where, v) for where, v in zip(first.values(), verdicts, strict=True) if not v.is_safe]
    if not flagged:
        return None
    where, worst = flagged[0]
    for candidate in flagged[1:]:  # strict: ties keep the earlier one
        if severity_key(candidate[1]) > severity_key(worst):
            where, worst = candidate
    p_attack = 1.0 - float(worst.scores["benign"])
    return (f"TinyGuardrail: {where} is {worst.label} (P(attack)={p_attack:.3f}, action={worst.action}, "
            f"code=0x{worst.code:04X}); {len(flagged)} of {len(first)} distinct texts flagged")
