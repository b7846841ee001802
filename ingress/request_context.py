"""Per-request context: the correlation id, the caller's request id, an access log line, metrics.

The correlation id is made here, one uuid per request, and never taken from the
caller: it routes replies (ingress.kafka_gateway). The caller's X-Request-Id is
only carried along for tracing (log lines, the `request-id` Kafka header) and
echoed back; without one, the correlation id is echoed. X-Correlation-Id answers
our id: the Kafka requests made for the request carry it as their prefix.

A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs a task per request.
"""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.logs import correlation_id_var
from observability.metrics import WindowedMax

log = structlog.get_logger("ingress.access")

REQUEST_ID_HEADER = b"x-request-id"
CORRELATION_ID_HEADER = b"x-correlation-id"

# The caller's X-Request-Id (when valid), for tracing only.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests by handler and status", ["handler", "method", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP response time by handler",
    ["handler", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_DURATION_MAX = WindowedMax(
    "http_request_duration_max_seconds", "Slowest HTTP response by handler", ["handler", "method"]
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = uuid.uuid4().hex
        caller_request_id = _incoming_request_id(scope)
        echoed = (caller_request_id or correlation_id).encode()
        token = correlation_id_var.set(correlation_id)
        request_token = request_id_var.set(caller_request_id)
        state = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER, echoed),
                    (CORRELATION_ID_HEADER, correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            handler = _handler_name(scope)
            HTTP_REQUESTS.labels(handler, scope["method"], str(status)).inc()
            HTTP_DURATION.labels(handler, scope["method"]).observe(elapsed)
            HTTP_DURATION_MAX.observe((handler, scope["method"]), elapsed)
            if handler not in ("/metrics", "/ping"):
                client = scope.get("client")
                log.info(
                    "http_request",
                    method=scope["method"],
                    handler=handler,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    # Who asked: the partner its key proved (never the key), and from where.
                    partner=state.get("partner"),
                    service=state.get("service"),
                    client=client[0] if client else None,
                    request_id=caller_request_id,
                )
            request_id_var.reset(request_token)
            correlation_id_var.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and _VALID_REQUEST_ID.match(value):
            return str(value.decode())
    return None


def _handler_name(scope: Scope) -> str:
    # The route template, never the raw path: ids must not become label values.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
