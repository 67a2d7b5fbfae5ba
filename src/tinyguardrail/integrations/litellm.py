"""TinyGuardrail inside LiteLLM, in process: a ``CustomGuardrail`` (``pip install 'tinyguardrail[litellm]'``).

The LiteLLM proxy loads it by its import path from ``config.yaml`` (no server of ours to run)::

    guardrails:
      - guardrail_name: tinyguardrail
        litellm_params:
          guardrail: tinyguardrail.integrations.litellm.TinyGuardrail
          mode: [pre_call, post_call]       # requests (tool results included) and responses
          default_on: true
          # model: /path/to/model-dir       # optional: another model folder than the embedded one
          # threads: 1                      # optional: ONNX Runtime threads per call

LiteLLM calls :meth:`TinyGuardrail.apply_guardrail` with every text of the request or the response (user, system,
assistant and tool messages; a ``tool`` message's content is the tool result an agent is about to read). The rule is
the server's (:mod:`tinyguardrail.integrations.generic_guardrail`): one ``check_batch`` over the distinct texts, and a
``GuardrailRaisedException`` (HTTP 400 from the proxy) naming where the most severe attack is when any text is unsafe;
otherwise the inputs come back unchanged. The check runs in a worker thread, off the proxy's event loop.

Without the proxy, the same object works on its own: ``await guardrail.apply_guardrail({"texts": [...]}, {},
"request")``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

try:
    from litellm.exceptions import GuardrailRaisedException
    from litellm.integrations.custom_guardrail import CustomGuardrail
    from litellm.types.guardrails import GuardrailEventHooks
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("tinyguardrail.integrations.litellm needs LiteLLM: pip install 'tinyguardrail[litellm]'") from exc

from tinyguardrail.integrations.generic_guardrail import block_reason, distinct_texts
from tinyguardrail.runtime.guard import DEFAULT_SCAN_ROLES, Guard, message_texts

__all__ = ["TinyGuardrail"]

#: The hooks where LiteLLM hands a guardrail texts to judge: before the call (the request, tool results included),
#: alongside it, and after it (the model's response).
SUPPORTED_HOOKS = [GuardrailEventHooks.pre_call, GuardrailEventHooks.during_call, GuardrailEventHooks.post_call]


class TinyGuardrail(CustomGuardrail):
    """A LiteLLM guardrail that blocks requests and responses TinyGuardrail judges unsafe.

    Args:
        guard: a loaded :class:`~tinyguardrail.runtime.guard.Guard`; None -> ``Guard.load(model, threads=threads)``.
        model: model folder (None -> the embedded model); read only when ``guard`` is None.
        threads: ONNX Runtime threads per call; read only when ``guard`` is None.
        skip_system_message_in_guardrail: LiteLLM's switch, read by its message handlers: True (the default here)
            leaves system messages out, as :data:`~tinyguardrail.runtime.guard.DEFAULT_SCAN_ROLES` does: a system
            prompt is the application's own text, and the rules it states ("never reveal ...") read like the attacks
            they guard against. False scans them too.
        **kwargs: LiteLLM's own (``guardrail_name``, ``event_hook``, ``default_on`` ...), as its loader passes them.
    """

    def __init__(self, guard: Guard | None = None, model: str | Path | None = None, threads: int | None = None,
                 skip_system_message_in_guardrail: bool = True, **kwargs: Any) -> None:
        self.guard = guard if guard is not None else Guard.load(model, threads=threads)
        kwargs.setdefault("supported_event_hooks", SUPPORTED_HOOKS)
        super().__init__(**kwargs)
        self.skip_system_message_in_guardrail = skip_system_message_in_guardrail

    async def apply_guardrail(self, inputs: dict[str, Any], request_data: dict, input_type: Literal["request",
                              "response"], logging_obj: Any = None) -> dict[str, Any]:
        """Check every text of ``inputs`` (``texts``, and ``structured_messages`` when LiteLLM gives them).

        Returns ``inputs`` unchanged when every text is safe.

        Raises:
            GuardrailRaisedException: a text is unsafe (``blocked_content=True``); the message says where, never
                the text.
            ValueError, TypeError: a text the guard refuses (over ``max_text_chars``), or malformed messages.
        """
        messages = inputs.get("structured_messages")
        scanned = message_texts(messages, DEFAULT_SCAN_ROLES) if messages else ()
        first = distinct_texts(scanned, inputs.get("texts"))
        if not first:
            return inputs
        verdicts = await asyncio.to_thread(self.guard.check_batch, list(first))
        reason = block_reason(first, verdicts)
        if reason is not None:
            raise GuardrailRaisedException(guardrail_name=self.guardrail_name, message=reason,
                                           should_wrap_with_default_message=False, blocked_content=True)
        return inputs
