"""The HTTP server: an app factory over one :class:`~tinyguardrail.runtime.guard.Guard`.

    uvicorn --factory tinyguardrail.server.app:create_app      # or: tinyguardrail serve

Endpoints (JSON unless said otherwise; every error is ``{"error": {"code", "message", "detail"?}}``):

- ``POST /v1/check`` ``{"text": ...}`` -> one verdict; with ``?explain=true`` it also carries ``explain``: the
  deciding view's text and the deciding window's character span in it (``server/explain.py``).
- ``POST /v1/check/batch`` ``{"texts": [...]}`` -> ``{"verdicts": [...]}`` in order (``?explain=true`` too).
- ``POST /v1/bits`` ``{"texts": [...]}`` -> list of 16-bit codes, or with ``Accept: application/octet-stream``
  the codes as raw little-endian uint16 (2 bytes per text); ``{"text": ...}`` -> one integer (or 2 bytes).
- ``POST /v1/check/messages`` ``{"messages": [...], "roles"?: [...], "documents"?: [...]}`` -> OpenAI-style chat
  messages scanned in one batch (``Guard.check_messages``; ``MessagesVerdict.to_dict()``).
- ``POST /model`` ``{"prompt": ...}`` -> ``{"jailbreak": bool, "score": P(attack)}``: the contract of NeMo
  Guardrails' ``jailbreak detection model`` rail (``rails.config.jailbreak_detection.server_endpoint``); an empty
  prompt is answered (not a jailbreak) rather than refused.
- ``POST /beta/litellm_basic_guardrail_api`` -> ``{"action": "NONE"|"BLOCKED", "blocked_reason": ...}``: LiteLLM's
  Generic Guardrail API; every text in ``texts`` is scanned (empty ones count as benign), and the chat messages in
  ``structured_messages`` (or ``messages``) when sent. See docs/integrations.md.
- ``GET|HEAD /healthz`` (process up), ``GET|HEAD /readyz`` (model loaded), ``GET /metrics`` (Prometheus),
  ``/docs`` (OpenAPI), ``GET /`` (the demo page, ``server/static/``).

Limits (``settings.py``): body larger than ``max_body_bytes`` -> 413 (``Content-Length`` checked first, then the
bytes actually received); text longer than ``max_text_chars`` -> 413; more than ``max_batch`` texts -> 413; empty
text or empty batch -> 422 (empty texts are answered as benign by ``/v1/check/messages``, ``/model`` and the LiteLLM
endpoint: conversations hold them); malformed chat messages -> 422 ``invalid_messages``; body not UTF-8, not JSON, nested deeper than 32 levels or holding a number longer than
64 characters -> 400 (``server/body.py``); wrong types or fields -> 422; missing or wrong API key (when one is
configured) -> 401; queue full -> 503 ``overloaded``; no answer within ``timeout_s`` -> 503.

Inference runs on ``inference_workers`` threads (default: the CPUs available) and concurrent requests are
micro-batched into one ``Guard.check_batch`` call (``server/batcher.py``). Raw prompts are never logged unless
``log_prompts`` is on: log lines carry lengths and a reference that is an HMAC of the text under a key drawn at
random per process, so equal texts can be matched within one process's logs but not guessed from a word list.
``/healthz``, ``/readyz``, ``/metrics``, ``/docs`` and the demo page need no key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import struct
import time
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from tinyguardrail import __version__
from tinyguardrail.integrations.generic_guardrail import block_reason, distinct_texts
from tinyguardrail.runtime.guard import DEFAULT_SCAN_ROLES, MessagesVerdict, MessageText, message_texts
from tinyguardrail.server.batcher import MicroBatcher, NotRunning, Overloaded
from tinyguardrail.server.body import BodyError, parse_json
from tinyguardrail.server.demo import add_demo_routes
from tinyguardrail.server.errors import ApiError, clean_validation_errors, install_handlers
from tinyguardrail.server.explain import Explainer
from tinyguardrail.server.metrics import Metrics
from tinyguardrail.server.middleware import LimitsAndMetrics
from tinyguardrail.server.schemas import (
    BatchRequest,
    BatchResponse,
    BitsRequest,
    CheckRequest,
    ErrorResponse,
    HealthResponse,
    LiteLLMRequest,
    LiteLLMResponse,
    MessagesRequest,
    MessagesResponse,
    NemoRequest,
    NemoResponse,
    ReadyResponse,
    VerdictResponse,
)
from tinyguardrail.server.settings import Settings

log = logging.getLogger("tinyguardrail.server")

OCTET = "application/octet-stream"

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "body is not UTF-8 / not JSON / nested too deep / huge number"},
    401: {"model": ErrorResponse, "description": "missing or wrong API key"},
    413: {"model": ErrorResponse, "description": "body, text or batch too large"},
    422: {"model": ErrorResponse, "description": "wrong types, empty text or batch, malformed chat messages"},
    503: {"model": ErrorResponse, "description": "model not loaded, queue full or no answer in time"},
}
_EXPLAIN = Query(False, description="add `explain`: the deciding view's text and the deciding window's span in it")


@dataclass
class _State:
    settings: Settings
    guard: Any = None
    batcher: MicroBatcher | None = None
    explainer: Explainer | None = None
    metrics: Metrics = field(default_factory=Metrics)
    log_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def ready(self) -> bool:
        return self.guard is not None and self.batcher is not None and self.batcher.started


def _body_doc(model: type[BaseModel]) -> dict:
    """OpenAPI request body for endpoints that parse their body themselves (to tell 400 from 422 precisely)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def create_app(settings: Settings | None = None, guard: Any = None) -> FastAPI:
    """Build the FastAPI app.

    Args:
        settings: server settings; None -> ``Settings.from_env()`` (``TINYGUARDRAIL_*`` variables).
        guard: an already loaded ``Guard`` (tests, embedding); None -> ``Guard.load(settings.model_path, ...)``
            at start-up, in a worker thread. A model that fails to load stops the start-up (fail loudly).
    """
    settings = settings or Settings.from_env()
    state = _State(settings=settings, guard=guard)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if state.guard is None:
            from tinyguardrail.runtime.guard import Guard

            state.guard = await asyncio.to_thread(
                Guard.load, settings.model_path, settings.threads, max_text_chars=settings.max_text_chars
            )
            log.info("model loaded: %s from %s", state.guard.config.name, state.guard.model_dir)
        workers = settings.workers
        state.batcher = MicroBatcher(
            state.guard.check_batch, workers=workers, max_wait_s=settings.batch_wait_ms / 1000,
            max_texts=settings.batch_max_texts, max_chars=settings.batch_max_chars, max_queue=settings.max_queue,
            observer=state.metrics,
        )
        state.explainer = Explainer(state.guard)
        state.metrics.workers.set(workers)
        await state.batcher.start()
        log.info("%d inference workers x %d thread(s); micro-batches wait up to %.1f ms", workers,
                 settings.threads, settings.batch_wait_ms)
        try:
            yield
        finally:
            await state.batcher.stop()

    app = FastAPI(
        title="TinyGuardrail",
        version=__version__,
        description="Prompt-injection and jailbreak guard. Verdicts carry a 16-bit response code "
                    "(see docs/response-codes.md).",
        lifespan=lifespan,
        docs_url="/docs" if settings.docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.state.tinyguardrail = state
    app.add_middleware(LimitsAndMetrics, max_body_bytes=settings.max_body_bytes, metrics=state.metrics)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        wildcard = "*" in settings.cors_origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_credentials=not wildcard,  # never a wildcard origin together with credentials
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Accept"],
        )
    install_handlers(app)

    # ------------------------------------------------------------------------------------------- helpers

    def authorize(request: Request) -> None:
        if settings.api_key is None:
            return
        expected = settings.api_key.get_secret_value().encode("utf-8")
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if given is None or not secrets.compare_digest(given.encode("utf-8", "surrogateescape"), expected):
            raise ApiError(401, "unauthorized", "missing or wrong API key (Authorization: Bearer <key> or X-API-Key)",
                           headers={"WWW-Authenticate": "Bearer"})

    async def parse(request: Request, model: type[BaseModel]) -> Any:
        try:
            data = parse_json(await request.body())
        except BodyError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ApiError(422, "validation_error", "request does not match the schema",
                           clean_validation_errors(exc.errors())) from None

    def check_texts(texts: list[str], batch: bool) -> None:
        if batch and not texts:
            raise ApiError(422, "empty_batch", "texts must hold at least one text")
        if len(texts) > settings.max_batch:
            raise ApiError(413, "batch_too_large", f"{len(texts)} texts, more than max_batch={settings.max_batch}")
        for i, text in enumerate(texts):
            where = f"texts[{i}]" if batch else "text"
            if not text.strip():
                raise ApiError(422, "empty_text", f"{where} is empty or whitespace only", {"index": i} if batch else None)
            if len(text) > settings.max_text_chars:
                raise ApiError(413, "text_too_long", f"{where} has {len(text)} characters, more than "
                                                     f"max_text_chars={settings.max_text_chars}",
                               {"index": i} if batch else None)

    def check_scanned(items: Sequence[tuple[str, str]]) -> None:
        """Limits for texts taken out of chat messages or an integration's body, as ``(where, text)``: more than
        ``max_batch`` texts or a text over ``max_text_chars`` -> 413. Empty texts are allowed (benign, no model call):
        conversations hold them."""
        if len(items) > settings.max_batch:
            raise ApiError(413, "batch_too_large", f"{len(items)} texts to scan, more than "
                                                   f"max_batch={settings.max_batch}")
        for where, text in items:
            if len(text) > settings.max_text_chars:
                raise ApiError(413, "text_too_long", f"{where} has {len(text)} characters, more than "
                                                     f"max_text_chars={settings.max_text_chars}", {"where": where})

    def scan_messages(messages: list[Any], roles: list[str] | None = None,
                      documents: list[str] | None = None) -> list[MessageText]:
        """``Guard``'s reading of chat messages; a malformed conversation -> 422 ``invalid_messages``."""
        try:
            return message_texts(messages, DEFAULT_SCAN_ROLES if roles is None else roles, documents or ())
        except (TypeError, ValueError) as exc:
            raise ApiError(422, "invalid_messages", str(exc)) from None

    def reference(text: str) -> str:
        """A log reference for ``text``: HMAC-SHA256 under the per-process key (not guessable from a word list)."""
        return hmac.new(state.log_key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:12]

    async def infer(texts: list[str], endpoint: str) -> list:
        if not state.ready or state.batcher is None:
            raise ApiError(503, "not_ready", "the model is not loaded yet")
        start = time.perf_counter()
        try:
            verdicts = await state.batcher.submit(texts, timeout=settings.timeout_s)
        except TimeoutError:
            log.warning("%s: no answer within %.1fs (n=%d)", endpoint, settings.timeout_s, len(texts))
            raise ApiError(503, "inference_timeout", f"inference did not finish within {settings.timeout_s}s",
                           headers={"Retry-After": "1"}) from None
        except Overloaded as exc:
            log.warning("%s: overloaded, %s", endpoint, exc)
            raise ApiError(503, "overloaded", "too many requests are waiting; retry later",
                           headers={"Retry-After": "1"}) from None
        except NotRunning:
            raise ApiError(503, "not_ready", "the server is starting or shutting down",
                           headers={"Retry-After": "1"}) from None
        except ValueError as exc:  # limits the guard enforces itself
            raise ApiError(422, "invalid_text", str(exc)) from None
        state.metrics.observe_verdicts(verdicts)
        if log.isEnabledFor(logging.INFO):
            if settings.log_prompts:
                shown = [repr(t) for t in texts]
            else:
                shown = [f"len={len(t)} ref={reference(t)}" for t in texts]
            log.info("%s n=%d [%s] labels=%s %.1fms", endpoint, len(texts), "; ".join(shown),
                     ",".join(v.label for v in verdicts), (time.perf_counter() - start) * 1000)
        return verdicts

    async def answer(texts: list[str], verdicts: list, explain: bool) -> list[dict[str, Any]]:
        """The verdicts as JSON-ready dicts; with ``explain``, each gets its ``explain`` (or null)."""
        out = [v.to_dict() for v in verdicts]
        explainer = state.explainer
        if explain and explainer is not None:
            def locate() -> list:  # normalizes and tokenizes again: off the event loop
                return [explainer.explain(t, v) for t, v in zip(texts, verdicts, strict=True)]

            for record, explanation in zip(out, await asyncio.to_thread(locate), strict=True):
                record["explain"] = explanation.to_dict() if explanation is not None else None
        return out

    # ------------------------------------------------------------------------------------------- routes

    @app.post("/v1/check", response_model=VerdictResponse, response_model_exclude_unset=True, responses=_ERRORS,
              openapi_extra=_body_doc(CheckRequest), summary="Check one text")
    async def check(request: Request, explain: bool = _EXPLAIN):
        authorize(request)
        req = await parse(request, CheckRequest)
        check_texts([req.text], batch=False)
        verdicts = await infer([req.text], "/v1/check")
        return (await answer([req.text], verdicts, explain))[0]

    @app.post("/v1/check/batch", response_model=BatchResponse, response_model_exclude_unset=True,
              responses=_ERRORS, openapi_extra=_body_doc(BatchRequest), summary="Check several texts in one batch")
    async def check_batch(request: Request, explain: bool = _EXPLAIN):
        authorize(request)
        req = await parse(request, BatchRequest)
        check_texts(req.texts, batch=True)
        verdicts = await infer(req.texts, "/v1/check/batch")
        return {"verdicts": await answer(req.texts, verdicts, explain)}

    @app.post("/v1/bits", responses={**_ERRORS, 200: {
        "description": "codes as JSON (an integer for text, a list for texts), or little-endian uint16 bytes",
        "content": {"application/json": {"schema": {"anyOf": [{"type": "integer"}, {"type": "array", "items":
                    {"type": "integer"}}]}}, OCTET: {"schema": {"type": "string", "format": "binary"}}}}},
              openapi_extra=_body_doc(BitsRequest), summary="Response codes only")
    async def bits(request: Request):
        authorize(request)
        req = await parse(request, BitsRequest)
        texts = [req.text] if req.text is not None else req.texts
        check_texts(texts, batch=req.texts is not None)
        codes = [v.code for v in await infer(texts, "/v1/bits")]
        if OCTET in request.headers.get("accept", ""):
            return Response(struct.pack(f"<{len(codes)}H", *codes), media_type=OCTET,
                            headers={"X-Count": str(len(codes))})
        return JSONResponse(codes[0] if req.text is not None else codes)

    @app.post("/v1/check/messages", response_model=MessagesResponse, responses=_ERRORS,
              openapi_extra=_body_doc(MessagesRequest), summary="Check OpenAI-style chat messages in one batch")
    async def check_messages(request: Request):
        authorize(request)
        req = await parse(request, MessagesRequest)
        start = time.perf_counter()
        scanned = scan_messages(req.messages, req.roles, req.documents)
        check_scanned([(item.where, item.text) for item in scanned])
        verdicts = await infer([item.text for item in scanned], "/v1/check/messages") if scanned else []
        return MessagesVerdict.from_verdicts(scanned, verdicts, (time.perf_counter() - start) * 1000.0).to_dict()

    @app.post("/model", response_model=NemoResponse, responses=_ERRORS, openapi_extra=_body_doc(NemoRequest),
              summary="NeMo Guardrails jailbreak detection (server_endpoint)")
    async def nemo_model(request: Request):
        authorize(request)
        req = await parse(request, NemoRequest)
        check_scanned([("prompt", req.prompt)])
        verdict = (await infer([req.prompt], "/model"))[0]
        return {"jailbreak": not verdict.is_safe, "score": round(1.0 - float(verdict.scores["benign"]), 6)}

    @app.post("/beta/litellm_basic_guardrail_api", response_model=LiteLLMResponse, responses=_ERRORS,
              openapi_extra=_body_doc(LiteLLMRequest), summary="LiteLLM Generic Guardrail API")
    async def litellm_guardrail(request: Request):
        authorize(request)
        req = await parse(request, LiteLLMRequest)
        messages = req.structured_messages if req.structured_messages is not None else req.messages
        # the conversation, when LiteLLM sends it (its texts are mostly in ``texts`` too); a text sent twice once
        first = distinct_texts(scan_messages(messages) if messages else (), req.texts)
        check_scanned([(where, text) for text, where in first.items()])
        if not first:
            return {"action": "NONE", "blocked_reason": ""}
        reason = block_reason(first, await infer(list(first), "/beta/litellm_basic_guardrail_api"))
        if reason is None:
            return {"action": "NONE", "blocked_reason": ""}
        return {"action": "BLOCKED", "blocked_reason": reason}

    @app.get("/healthz", response_model=HealthResponse, summary="Process is up (HEAD too)")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ErrorResponse}},
             summary="Model loaded and ready (HEAD too)")
    async def readyz():
        if not state.ready:
            raise ApiError(503, "not_ready", "the model is not loaded yet")
        info = state.guard.info()
        model = {k: info[k] for k in ("name", "files", "max_len", "early_exit_threshold", "early_exit_gate")}
        return {"status": "ready", "version": __version__, "model": model}

    for path, probe in (("/healthz", healthz), ("/readyz", readyz)):  # load balancers often probe with HEAD
        app.add_api_route(path, probe, methods=["HEAD"], include_in_schema=False)

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics():
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if settings.demo:
        add_demo_routes(app)
    return app
