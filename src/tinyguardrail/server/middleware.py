"""Pure ASGI middleware: the request-body limit (declared and actual bytes) and per-request metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tinyguardrail.server.errors import error_response
from tinyguardrail.server.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ENDPOINTS = frozenset({"/v1/check", "/v1/check/batch", "/v1/check/messages", "/v1/bits", "/model",
                       "/beta/litellm_basic_guardrail_api", "/healthz", "/readyz", "/metrics", "/docs",
                       "/openapi.json", "/"})
"""Paths that get their own metrics label; every other path counts as ``other`` (bounded label cardinality)."""


def endpoint_label(path: str) -> str:
    if path in ENDPOINTS:
        return path
    return "/static" if path.startswith("/static/") else "other"


class LimitsAndMetrics:
    """Refuses bodies over ``max_body_bytes`` with 413 (``Content-Length`` checked first, then the bytes actually
    received, so a chunked or lying request is caught too) and records every request's status and latency."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = endpoint_label(scope.get("path", ""))
        status = [500]
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if scope.get("method") in ("POST", "PUT", "PATCH"):
                body = await self._read_body(scope, receive, send_wrapper)
                if body is None:
                    return
                replayed = False

                async def replay() -> Message:
                    nonlocal replayed
                    if not replayed:
                        replayed = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.requests.labels(endpoint, str(status[0])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - start)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        limit = self.max_body_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await error_response(400, "bad_content_length", "Content-Length is not an integer")(scope, receive, send)
                return None
            if size > limit:
                await error_response(413, "body_too_large", f"request body of {size} bytes exceeds the limit of "
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
                await error_response(413, "body_too_large", f"request body exceeds the limit of {limit} bytes")(
                    scope, receive, send)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
