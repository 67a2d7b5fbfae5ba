"""LangChain adapter: a guard ``Runnable`` for chains and an agent middleware for tool results.

    from tinyguardrail import Guard
    from tinyguardrail.integrations.langchain import TinyGuardrailRunnable, PromptInjectionError

    guard = TinyGuardrailRunnable(Guard.load())
    chain = guard | prompt | llm              # the guard passes its input on unchanged, or raises
    chain.invoke({"input": "Ignore previous instructions ..."})   # -> PromptInjectionError(e.verdict, e.result)

    from langchain.agents import create_agent
    from tinyguardrail.integrations.langchain import TinyGuardrailMiddleware
    agent = create_agent(model, tools, middleware=[TinyGuardrailMiddleware(Guard.load())])

Why: the guard has to sit where the text enters the model. In a chain that is the chain's input (a string, a
prompt value, a list of messages or the dict a prompt template reads); in an agent it is also every tool result,
the indirect-injection channel, which the middleware scans before the model reads it.

LangChain messages are mapped to OpenAI roles (``HumanMessage`` -> user, ``AIMessage`` -> assistant,
``SystemMessage`` -> system, ``ToolMessage`` -> tool, ``FunctionMessage`` -> function, ``ChatMessage`` -> its role)
and checked as :meth:`Guard.check_messages` does (:func:`~tinyguardrail.runtime.guard.message_texts`, one
``check_batch``, :meth:`MessagesVerdict.from_verdicts`), so tool outputs are judged on the indirect channel.

Needs ``langchain-core`` (the runnable) and, for the middleware only, ``langchain`` v1:
``pip install 'tinyguardrail[langchain]'``. The middleware is imported on first use of its name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

try:
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        ChatMessage,
        FunctionMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        convert_to_messages,
    )
    from langchain_core.prompt_values import PromptValue
    from langchain_core.runnables import Runnable, RunnableConfig
    from langchain_core.runnables.config import run_in_executor
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "tinyguardrail.integrations.langchain needs langchain-core: pip install 'tinyguardrail[langchain]' "
        f"({exc})"
    ) from exc

from tinyguardrail.integrations.errors import PromptInjectionError
from tinyguardrail.runtime.guard import (
    DEFAULT_SCAN_ROLES,
    MESSAGE_ROLES,
    MessagesVerdict,
    MessageText,
    Verdict,
    message_texts,
)

if TYPE_CHECKING:  # pragma: no cover
    from tinyguardrail.integrations._langchain_agents import TinyGuardrailMiddleware
    from tinyguardrail.runtime.guard import Guard

__all__ = [
    "BlockedInput",
    "PromptInjectionError",
    "TinyGuardrailMiddleware",
    "TinyGuardrailRunnable",
    "check_langchain_messages",
    "is_blocked",
    "message_role",
    "to_openai_messages",
]

DEFAULT_INPUT_KEYS = ("input", "question", "messages")
"""Keys of a dict input that hold what to check, tried in order: LangChain's prompt, RAG and agent (LangGraph
``{"messages": [...]}``) conventions."""

_CHAT_ROLE_ALIASES = {"human": "user", "ai": "assistant"}


def __getattr__(name: str) -> Any:
    """``TinyGuardrailMiddleware`` needs the ``langchain`` package (v1), not just ``langchain-core``: import it on
    first use so the runnable works with ``langchain-core`` alone."""
    if name == "TinyGuardrailMiddleware":
        from tinyguardrail.integrations._langchain_agents import TinyGuardrailMiddleware

        globals()[name] = TinyGuardrailMiddleware
        return TinyGuardrailMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------------ messages


def message_role(message: BaseMessage) -> str:
    """The OpenAI role of a LangChain message: ``HumanMessage`` -> ``user``, ``AIMessage`` -> ``assistant``,
    ``SystemMessage`` -> ``system``, ``ToolMessage`` -> ``tool``, ``FunctionMessage`` -> ``function``, a
    ``ChatMessage`` -> its own ``role`` (``human``/``ai`` mapped to ``user``/``assistant``). Chunks map like their
    message class. ``TypeError`` for any other message type (unknown text is never silently skipped)."""
    # ToolMessage first: order matters only for classes that subclass several of these (none do today)
    for cls, role in ((ToolMessage, "tool"), (FunctionMessage, "function"), (SystemMessage, "system"),
                      (HumanMessage, "user"), (AIMessage, "assistant")):
        if isinstance(message, cls):
            return role
    if isinstance(message, ChatMessage):
        return _CHAT_ROLE_ALIASES.get(message.role, message.role)
    raise TypeError(f"cannot check a {type(message).__name__}: expected a Human, AI, System, Tool, Function or "
                    "Chat message")


def _content_parts(content: Any) -> str | list[dict[str, str]]:
    """A LangChain message's ``content`` as the guard reads it: a str, or its text blocks as OpenAI text parts.

    LangChain content lists mix plain strings and dict blocks (``{"type": "text", "text": ...}``, images, tool
    uses, reasoning ...). Every string and every block's str ``text`` is kept; blocks without text are not text the
    model reads as instructions here, so they are dropped rather than rejected."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
        elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
            parts.append({"type": "text", "text": block["text"]})
    return parts


def to_openai_messages(value: Any, text_role: str = "user") -> list[dict[str, Any]]:
    """Turn what a LangChain chain passes around into OpenAI-style ``{"role", "content"}`` dicts.

    Accepts a str (one message of role ``text_role``), a ``PromptValue`` (its ``to_messages()``), one
    ``BaseMessage``, an OpenAI message dict (``{"role": ..., "content": ...}``), or a list of any of these and of
    LangChain message tuples such as ``("human", "hi")``. ``TypeError`` for anything else.
    """
    if isinstance(value, str):
        return [{"role": text_role, "content": value}]
    if isinstance(value, PromptValue):
        value = value.to_messages()
    if isinstance(value, BaseMessage):
        return [{"role": message_role(value), "content": _content_parts(value.content)}]
    if isinstance(value, Mapping):
        if "role" not in value:
            raise TypeError("a dict message needs 'role' and 'content' (an OpenAI-style chat message)")
        return [dict(value)]
    if isinstance(value, bytes) or not isinstance(value, Sequence):
        raise TypeError(f"cannot check a {type(value).__name__}: expected a str, a PromptValue, a message or a "
                        "list of messages")
    out: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, BaseMessage | Mapping):
            out.extend(to_openai_messages(item, text_role))
        elif isinstance(item, tuple | list):  # ("human", "text") and the like: LangChain's own conversion
            out.extend(to_openai_messages(convert_to_messages([tuple(item)]), text_role))
        elif isinstance(item, str):
            out.append({"role": text_role, "content": item})
        else:
            raise TypeError(f"cannot check a list item of type {type(item).__name__}: expected messages")
    return out


def _document_text(doc: Any) -> str:
    """A retrieved document's text: a str, or a LangChain ``Document``'s ``page_content``."""
    if isinstance(doc, str):
        return doc
    text = getattr(doc, "page_content", None)
    if isinstance(text, str):
        return text
    raise TypeError(f"cannot check a document of type {type(doc).__name__}: expected a str or a Document")


def _scan_plan(guard: Any, messages: Sequence[Mapping[str, Any]], roles: Iterable[str],
               documents: Sequence[str]) -> list[MessageText]:
    """What :meth:`Guard.check_messages` would scan, validated the same way (roles, content, length)."""
    scanned = message_texts(messages, roles=roles, documents=documents)
    limit = getattr(guard, "max_text_chars", None)
    for item in scanned:
        if limit is not None and len(item.text) > limit:
            raise ValueError(f"{item.where} has {len(item.text)} characters, more than max_text_chars={limit}; "
                             "split it or raise the limit (Guard.load(max_text_chars=...))")
    return scanned


def _check_plans(guard: Any, plans: Sequence[list[MessageText] | Exception]) -> list[MessagesVerdict | Exception]:
    """Every plan's texts through ONE ``guard.check_batch`` call; one :class:`MessagesVerdict` per plan (plans that
    already failed are passed through, so one bad input does not fail the others)."""
    start = time.perf_counter()
    texts = [m.text for plan in plans if not isinstance(plan, Exception) for m in plan]
    verdicts: list[Verdict] = list(guard.check_batch(texts)) if texts else []
    if len(verdicts) != len(texts):
        raise RuntimeError(f"guard.check_batch returned {len(verdicts)} verdicts for {len(texts)} texts")
    latency_ms = (time.perf_counter() - start) * 1000.0
    out: list[MessagesVerdict | Exception] = []
    at = 0
    for plan in plans:
        if isinstance(plan, Exception):
            out.append(plan)
            continue
        out.append(MessagesVerdict.from_verdicts(plan, verdicts[at:at + len(plan)], latency_ms))
        at += len(plan)
    return out


def check_langchain_messages(guard: Guard, messages: Any, *, roles: Iterable[str] = DEFAULT_SCAN_ROLES,
                             documents: Sequence[Any] = (), text_role: str = "user") -> MessagesVerdict:
    """:meth:`Guard.check_messages` for LangChain values: messages, a prompt value or a str (see
    :func:`to_openai_messages`) and documents (str or ``Document``). Tool messages are the indirect channel."""
    plan = _scan_plan(guard, to_openai_messages(messages, text_role), roles, [_document_text(d) for d in documents])
    result = _check_plans(guard, [plan])[0]
    if isinstance(result, Exception):  # pragma: no cover - a plan that was built never fails here
        raise result
    return result


# ------------------------------------------------------------------------------------------------ the runnable


@dataclass(frozen=True)
class BlockedInput:
    """What :class:`TinyGuardrailRunnable` returns for an attack when ``on_attack="route"``: route on it with
    :func:`is_blocked` (e.g. in a ``RunnableBranch``) instead of catching an exception.

    Attributes:
        input: the input as the guard received it (so a refusal branch can still log or quote it).
        result: the :class:`MessagesVerdict` of the input.
    """

    input: Any
    result: MessagesVerdict

    @property
    def verdict(self) -> Verdict:
        """The most severe unsafe verdict (``result.verdict``)."""
        return self.result.verdict

    @property
    def is_safe(self) -> bool:
        return False


def is_blocked(value: Any) -> bool:
    """True for a :class:`BlockedInput`: the condition of the refusal branch of a ``RunnableBranch``."""
    return isinstance(value, BlockedInput)


def _unsafe(result: MessagesVerdict) -> bool:
    return not result.is_safe


class TinyGuardrailRunnable(Runnable[Any, Any]):
    """A LangChain ``Runnable`` that checks its input with TinyGuardrail and passes it on unchanged when it is
    safe, so it composes in front of anything: ``TinyGuardrailRunnable(guard) | prompt | llm``.

    Inputs: a str, a ``PromptValue``, a ``BaseMessage`` or a list of messages (any mix of LangChain messages,
    OpenAI-style dicts and ``(role, text)`` tuples), or a dict whose first present key in ``input_keys`` holds one of
    those (the other keys are not checked; ``documents_key`` names a list of retrieved documents to check as the
    indirect channel). ``ToolMessage`` contents are checked as role ``tool``: the indirect channel.

    On an attack (by default: the input's :class:`MessagesVerdict` is not safe, which includes ``uncertain``):
    ``on_attack="raise"`` raises :class:`PromptInjectionError` carrying the verdict; ``on_attack="route"`` returns a
    :class:`BlockedInput` instead, to route with ``RunnableBranch((is_blocked, refusal), chain)``.

    ``batch``/``abatch`` check all inputs with ONE ``guard.check_batch`` call (one batched inference) and follow
    LangChain's ``return_exceptions`` semantics: a malformed input or an attack fails only its own slot.
    ``ainvoke``/``abatch`` run the blocking check in the config's executor (``run_in_executor``), off the event loop.

    Args:
        guard: a loaded :class:`~tinyguardrail.runtime.guard.Guard` (anything with its ``check_batch``).
        on_attack: ``"raise"`` (default) or ``"route"``.
        input_keys: for dict inputs, the keys tried in order (default ``("input", "question", "messages")``); a
            dict without any of them is a ``KeyError``.
        documents_key: for dict inputs, an optional key holding retrieved documents (str or ``Document``).
        roles: message roles to scan (default user, tool, function: what the user typed and tools returned).
        text_role: the role given to a plain str input (default ``user``; ``tool`` to guard a tool's output,
            e.g. ``tool | TinyGuardrailRunnable(guard, text_role="tool")``).
        should_block: ``MessagesVerdict -> bool`` deciding what counts as an attack (default: not ``is_safe``;
            e.g. ``lambda r: r.verdict.action == "block"`` lets ``human_review`` through).
        name: the run name shown in LangChain traces (default the class name).
    """

    def __init__(
        self,
        guard: Guard,
        *,
        on_attack: Literal["raise", "route"] = "raise",
        input_keys: str | Sequence[str] = DEFAULT_INPUT_KEYS,
        documents_key: str | None = None,
        roles: Iterable[str] = DEFAULT_SCAN_ROLES,
        text_role: str = "user",
        should_block: Callable[[MessagesVerdict], bool] | None = None,
        name: str | None = None,
    ) -> None:
        if not callable(getattr(guard, "check_batch", None)):
            raise TypeError(f"guard must be a tinyguardrail Guard (with check_batch), got {type(guard).__name__}")
        if on_attack not in ("raise", "route"):
            raise ValueError(f"on_attack must be 'raise' or 'route', got {on_attack!r}")
        if isinstance(roles, str | bytes):
            raise TypeError('roles must be a list of roles, e.g. ["user", "tool"], not a str')
        roles = tuple(roles)
        unknown = [r for r in (*roles, text_role) if r not in MESSAGE_ROLES]
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; expected some of {list(MESSAGE_ROLES)}")
        keys = (input_keys,) if isinstance(input_keys, str) else tuple(input_keys)
        if not keys:
            raise ValueError("input_keys is empty")
        self.guard = guard
        self.on_attack = on_attack
        self.input_keys = keys
        self.documents_key = documents_key
        self.roles = roles
        self.text_role = text_role
        self.should_block = should_block or _unsafe
        self.name = name

    # ------------------------------------------------------------------------------------------- checking

    def _plan(self, value: Any) -> list[MessageText]:
        """The texts to scan in one input (raises TypeError / KeyError / ValueError for a bad input)."""
        documents: list[str] = []
        if isinstance(value, Mapping) and "role" not in value:
            key = next((k for k in self.input_keys if k in value), None)
            if key is None:
                raise KeyError(f"dict input has none of the keys {list(self.input_keys)}; set input_keys= to the "
                               "key that holds the user's text")
            if self.documents_key is not None and value.get(self.documents_key) is not None:
                docs = value[self.documents_key]
                docs = [docs] if isinstance(docs, str) or not isinstance(docs, Sequence) else docs
                documents = [_document_text(d) for d in docs]
            value = value[key]
        return _scan_plan(self.guard, to_openai_messages(value, self.text_role), self.roles, documents)

    def check(self, inputs: Sequence[Any]) -> list[MessagesVerdict | Exception]:
        """The :class:`MessagesVerdict` of each input, all checked in one ``guard.check_batch`` call; an input that
        cannot be checked (wrong type, missing key, malformed message, too long) gets its exception instead."""
        plans: list[list[MessageText] | Exception] = []
        for value in inputs:
            try:
                plans.append(self._plan(value))
            except (TypeError, ValueError, KeyError) as exc:
                plans.append(exc)
        return _check_plans(self.guard, plans)

    def _decide(self, value: Any, result: MessagesVerdict | Exception) -> Any:
        """The output for one input: itself when safe, else a :class:`PromptInjectionError` (returned, not
        raised, so batches can place it) or a :class:`BlockedInput`."""
        if isinstance(result, Exception):
            return result
        if not self.should_block(result):
            return value
        if self.on_attack == "route":
            return BlockedInput(value, result)
        return PromptInjectionError(result, "input")

    def _batch(self, inputs: list[Any]) -> list[Any]:
        return [self._decide(v, r) for v, r in zip(inputs, self.check(inputs), strict=True)]

    def _invoke(self, value: Any) -> Any:
        out = self._batch([value])[0]
        if isinstance(out, Exception):
            raise out
        return out

    # ------------------------------------------------------------------------------------------- Runnable API

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:  # noqa: A002
        """Check ``input``; return it unchanged when safe. Raises :class:`PromptInjectionError` on an attack
        (or returns a :class:`BlockedInput` with ``on_attack="route"``)."""
        return self._call_with_config(self._invoke, input, config)

    def batch(self, inputs: list[Any], config: RunnableConfig | list[RunnableConfig] | None = None, *,
              return_exceptions: bool = False, **kwargs: Any) -> list[Any]:
        """Check all ``inputs`` in ONE ``guard.check_batch`` call. With ``return_exceptions=True`` an attack or a
        bad input yields its exception in its slot; otherwise the first one is raised."""
        return self._batch_with_config(self._batch, inputs, config, return_exceptions=return_exceptions)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:  # noqa: A002
        """:meth:`invoke`, with the blocking check run in the config's executor."""

        async def run(value: Any, config: RunnableConfig) -> Any:
            return await run_in_executor(config, self._invoke, value)

        return await self._acall_with_config(run, input, config)

    async def abatch(self, inputs: list[Any], config: RunnableConfig | list[RunnableConfig] | None = None, *,
                     return_exceptions: bool = False, **kwargs: Any) -> list[Any]:
        """:meth:`batch`, with the one blocking ``check_batch`` call run in the config's executor."""

        async def run(values: list[Any], config: list[RunnableConfig]) -> list[Any]:
            return await run_in_executor(config[0] if config else None, self._batch, values)

        return await self._abatch_with_config(run, inputs, config, return_exceptions=return_exceptions)
