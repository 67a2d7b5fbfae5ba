"""The HTTP server: an app factory over one :class:`~tinyguardrail.runtime.guard.Guard`.

    uvicorn --factory tinyguardrail.server.app:create_app      # or: tinyguardrail serve

Endpoints (JSON unless said otherwise; every error is ``{"error": {"code", "message", "detail"}}``):

- ``POST /v1/check`` ``{"text": ...}`` -> one verdict.
- ``POST /v1/check/batch`` ``{"texts": [...]}`` -> ``{"verdicts": [...]}`` in order.
- ``POST /v1/bits`` ``{"texts": [...]}`` -> list of 16-bit codes, or with ``Accept: application/octet-stream``
  the codes as raw little-endian uint16 (2 bytes per text); ``{"text": ...}`` -> one integer (or 2 bytes).
- ``GET /healthz`` (process up), ``GET /readyz`` (model loaded), ``GET /metrics`` (Prometheus), ``/docs``.

Limits (see ``settings.py``): body larger than ``max_body_bytes`` -> 413 (``Content-Length`` checked first, then
the bytes actually received); text longer than ``max_text_chars`` -> 413; more than ``max_batch`` texts -> 413;
empty text or empty batch -> 422; body not UTF-8 -> 400; not JSON -> 400; wrong types or fields -> 422;
missing or wrong API key (when one is configured) -> 401; inference past ``timeout_s`` -> 503.

Raw prompts are never logged unless ``log_prompts`` is on: logs carry lengths and sha256 prefixes. Inference
runs in a thread pool, off the event loop. ``/healthz``, ``/readyz``, ``/metrics`` and ``/docs`` need no key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tinyguardrail.server.schemas import (
    BatchRequest,
    BatchResponse,
    BitsRequest,
    CheckRequest,
    ErrorResponse,
    HealthResponse,
    ReadyResponse,
    VerdictResponse,
)
from tinyguardrail.server.settings import Settings

log = logging.getLogger("tinyguardrail.server")

ENDPOINTS = ("/v1/check", "/v1/check/batch", "/v1/bits", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json")
OCTET = "application/octet-stream"


class ApiError(Exception):
    """An error answered as ``{"error": {...}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.detail, self.headers = status, code, message, detail, headers


def _error_response(status: int, code: str, message: str, detail: Any = None, headers: dict | None = None):
    body: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse({"error": body}, status_code=status, headers=headers)


class _Metrics:
    """Prometheus metrics in a registry of their own (one per app, so several apps can live in one process)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("tinyguardrail_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("tinyguardrail_request_latency_seconds", "HTTP request latency", ["endpoint"],
                                 buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
                                 registry=self.registry)
        self.verdicts = Counter("tinyguardrail_verdicts", "verdicts by label", ["label"], registry=self.registry)
        self.early_exit = Counter("tinyguardrail_early_exit", "verdicts answered by the fast branch alone",
                                  registry=self.registry)
        self.texts = Counter("tinyguardrail_texts", "texts checked", registry=self.registry)


@dataclass
class _State:
    settings: Settings
    guard: Any = None
    executor: ThreadPoolExecutor | None = None
    metrics: _Metrics = field(default_factory=_Metrics)


class _LimitsAndMetrics:
    """Pure ASGI middleware: request-body limit (header and actual bytes) and per-request metrics."""

    def __init__(self, app, state: _State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        endpoint = path if path in ENDPOINTS else "other"
        status = [500]
        start = time.perf_counter()

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if scope.get("method") in ("POST", "PUT", "PATCH"):
                body = await self._read_body(scope, receive, send_wrapper)
                if body is None:
                    return
                replayed = False

                async def replay():
                    nonlocal replayed
                    if not replayed:
                        replayed = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            m = self.state.metrics
            m.requests.labels(endpoint, str(status[0])).inc()
            m.latency.labels(endpoint).observe(time.perf_counter() - start)

    async def _read_body(self, scope, receive, send) -> bytes | None:
        limit = self.state.settings.max_body_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _error_response(400, "bad_content_length", "Content-Length is not an integer")(scope, receive, send)
                return None
            if size > limit:
                await _error_response(413, "body_too_large", f"request body of {size} bytes exceeds the limit of "
                                      f"{limit} bytes")(scope, receive, send)
                return None
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                await _error_response(413, "body_too_large", f"request body exceeds the limit of {limit} bytes")(
                    scope, receive, send)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _body_doc(model: type[BaseModel]) -> dict:
    """OpenAPI request body for endpoints that parse their body themselves (to tell 400 from 422 precisely)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


_ERRORS = {
    400: {"model": ErrorResponse, "description": "body is not UTF-8 / not JSON"},
    401: {"model": ErrorResponse, "description": "missing or wrong API key"},
    413: {"model": ErrorResponse, "description": "body, text or batch too large"},
    422: {"model": ErrorResponse, "description": "wrong types, empty text or batch"},
    503: {"model": ErrorResponse, "description": "model not loaded or inference timed out"},
}


def create_app(settings: Settings | None = None, guard: Any = None) -> FastAPI:
    """Build the FastAPI app.

    Args:
        settings: server settings; None -> ``Settings.from_env()`` (``TINYGUARDRAIL_*`` variables).
        guard: an already loaded ``Guard`` (tests, embedding); None -> ``Guard.load(settings.model_path, ...)``
            at start-up, in a worker thread. A model that fails to load stops the start-up (fail loudly).
    """
    from tinyguardrail import __version__

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
        state.executor = ThreadPoolExecutor(settings.inference_workers, thread_name_prefix="tinyguardrail-infer")
        try:
            yield
        finally:
            state.executor.shutdown(wait=False, cancel_futures=True)
            state.executor = None

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
    app.add_middleware(_LimitsAndMetrics, state=state)
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

    # ------------------------------------------------------------------------------------------- errors

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return _error_response(exc.status, exc.code, exc.message, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError):
        return _error_response(422, "validation_error", "request does not match the schema", _clean(exc.errors()))

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
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "invalid_utf8", f"request body is not valid UTF-8 (byte {exc.start})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc.msg} at line {exc.lineno} "
                                                f"column {exc.colno}") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ApiError(422, "validation_error", "request does not match the schema", _clean(exc.errors())) from None

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

    async def infer(texts: list[str], endpoint: str) -> list:
        if state.guard is None or state.executor is None:
            raise ApiError(503, "not_ready", "the model is not loaded yet")
        guard, deadline = state.guard, time.monotonic() + settings.timeout_s

        def job():
            if time.monotonic() > deadline:  # waited in the queue past the deadline: do not burn CPU on it
                raise TimeoutError
            return guard.check_batch(texts)

        start = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            verdicts = await asyncio.wait_for(loop.run_in_executor(state.executor, job), timeout=settings.timeout_s)
        except TimeoutError:
            log.warning("%s: inference timed out after %.1fs (n=%d)", endpoint, settings.timeout_s, len(texts))
            raise ApiError(503, "inference_timeout", f"inference did not finish within {settings.timeout_s}s",
                           headers={"Retry-After": "1"}) from None
        except ValueError as exc:  # limits the guard enforces itself
            raise ApiError(422, "invalid_text", str(exc)) from None
        m = state.metrics
        m.texts.inc(len(verdicts))
        for v in verdicts:
            m.verdicts.labels(v.label).inc()
            if v.branch == "fast":
                m.early_exit.inc()
        if log.isEnabledFor(logging.INFO):
            if settings.log_prompts:
                shown = [repr(t) for t in texts]
            else:
                shown = [f"len={len(t)} sha256={_fingerprint(t)}" for t in texts]
            log.info("%s n=%d [%s] labels=%s %.1fms", endpoint, len(texts), "; ".join(shown),
                     ",".join(v.label for v in verdicts), (time.perf_counter() - start) * 1000)
        return verdicts

    # ------------------------------------------------------------------------------------------- routes

    @app.post("/v1/check", response_model=VerdictResponse, responses=_ERRORS, openapi_extra=_body_doc(CheckRequest),
              summary="Check one text")
    async def check(request: Request):
        authorize(request)
        req = await parse(request, CheckRequest)
        check_texts([req.text], batch=False)
        (verdict,) = await infer([req.text], "/v1/check")
        return verdict.to_dict()

    @app.post("/v1/check/batch", response_model=BatchResponse, responses=_ERRORS,
              openapi_extra=_body_doc(BatchRequest), summary="Check several texts in one batch")
    async def check_batch(request: Request):
        authorize(request)
        req = await parse(request, BatchRequest)
        check_texts(req.texts, batch=True)
        verdicts = await infer(req.texts, "/v1/check/batch")
        return {"verdicts": [v.to_dict() for v in verdicts]}

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

    @app.get("/healthz", response_model=HealthResponse, summary="Process is up")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ErrorResponse}},
             summary="Model loaded and ready")
    async def readyz():
        if state.guard is None or state.executor is None:
            raise ApiError(503, "not_ready", "the model is not loaded yet")
        info = state.guard.info()
        return {"status": "ready", "model": {k: info[k] for k in ("name", "files", "max_len", "early_exit_threshold")}}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics():
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _clean(errors: list[dict]) -> list[dict]:
    """Validation errors without the offending input (which may be a prompt) and without doc URLs."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
