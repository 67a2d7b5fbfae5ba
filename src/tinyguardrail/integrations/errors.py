"""The exception that framework adapters raise when the guard flags an input (no third-party dependency)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from tinyguardrail.runtime.guard import MessagesVerdict, Verdict


class PromptInjectionError(Exception):
    """Raised by an adapter when TinyGuardrail judged its input (or a tool's output) unsafe.

    The message names where the attack was found (``messages[i]``, its role and channel) and the verdict's label,
    action and response code, never the flagged text itself: exceptions end up in logs and traces, and the text is
    the attacker's.

    Attributes:
        result: the :class:`~tinyguardrail.runtime.guard.MessagesVerdict` of the whole input: which messages were
            flagged (``flagged``, ``flagged_documents``), each one's verdict, and the deciding one.
        verdict: ``result.verdict``, the most severe unsafe :class:`~tinyguardrail.runtime.guard.Verdict`.
        source: what was checked, e.g. ``"input"`` or ``"tool 'fetch'"``.
    """

    def __init__(self, result: MessagesVerdict, source: str = "input") -> None:
        self.result = result
        self.verdict: Verdict = result.verdict
        self.source = source
        deciding = result.deciding
        where = "" if deciding is None else (
            f" at {'documents' if deciding.role == 'document' else 'messages'}[{deciding.index}] "
            f"({deciding.role}, {deciding.channel} channel)"
        )
        v = self.verdict
        super().__init__(f"TinyGuardrail flagged the {source}{where} as {v.label} "
                         f"(action {v.action}, code 0x{v.code:04X})")

    def __reduce__(self):  # keep pickling (multiprocessing, some tracers) working with the custom __init__
        return (type(self), (self.result, self.source))
