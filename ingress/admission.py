"""Admission control in front of every route (contract 2): body size and requests in flight.

Plain ASGI middlewares, so they act before anything parses or authenticates:

* `BodyLimitMiddleware`: a body over `MAX_BODY_BYTES` is 413 `payload_too_large`.
  A Content-Length over the limit is answered at once, unread; a body without one
  is counted as it arrives and refused the moment it passes the limit.
* `HeaderLimitMiddleware`: headers over `MAX_HEADER_BYTES` in all are 431 (the
  HTTP parser in use, httptools, sets no bound of its own).
* `InFlightLimitMiddleware`: at most `limit` requests are held by the instance (one
  `InFlight` counter shared by both listeners); past it, 503 `unavailable` with
  Retry-After at once, so overload sheds instead of queueing without bound.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingress.errors import RETRY_AFTER_S, ApiError

MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 32 * 1024

# Cheap and needed most under overload: never shed.
UNLIMITED_PATHS = frozenset({"/ping", "/metrics"})

REFUSED = Counter("http_requests_refused_total", "Requests refused before routing", ["reason"])
IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests held by this instance")


class PayloadTooLarge(ApiError):
    def __init__(self) -> None:
        super().__init__(
            413, "payload_too_large", f"The body is over {MAX_BODY_BYTES // 1024} KiB."
        )


async def send_error(
    send: Send, status: int, body: dict[str, str], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                # No `connection: close`: closing with the body's rest unread makes the
                # kernel reset the connection, and the client may lose this answer. The
                # server reads on and discards the rest (uvicorn drops a body whose
                # answer is complete), so the client reads the answer.
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        exceeded = started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise PayloadTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, refused
            if exceeded and not started:
                # The app answers the aborted read its own way (FastAPI: 400); ours instead.
                if not refused:
                    refused = True
                    await self._refuse(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started and not refused:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        REFUSED.labels("payload_too_large").inc()
        error = PayloadTooLarge()
        await send_error(send, 413, error.body.model_dump(exclude_none=True), [])


class HeaderLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
            if size > self.max_bytes:
                REFUSED.labels("headers_too_large").inc()
                body = {
                    "code": "request_header_fields_too_large",
                    "message": f"The headers are over {self.max_bytes // 1024} KiB.",
                }
                await send_error(send, 431, body, [])
                return
        await self.app(scope, receive, send)


class InFlight:
    """Requests held by one ingress instance, across its listeners."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def try_enter(self) -> bool:
        if self.count >= self.limit:
            return False
        self.count += 1
        IN_FLIGHT.set(self.count)
        return True

    def leave(self) -> None:
        self.count -= 1
        IN_FLIGHT.set(self.count)


class InFlightLimitMiddleware:
    def __init__(self, app: ASGIApp, in_flight: InFlight) -> None:
        self.app = app
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        if not self.in_flight.try_enter():
            REFUSED.labels("in_flight").inc()
            error = ApiError.unavailable("Too many requests in flight; retry later.")
            await send_error(
                send,
                503,
                error.body.model_dump(exclude_none=True),
                [(b"retry-after", str(RETRY_AFTER_S).encode())],
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.leave()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class PaymentWaiters:
    """Requests waiting at once for one payment (partner and transaction id), capped: a
    till retrying in a tight loop must not pile up held requests for one payment."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[tuple[str, str], int] = {}

    @contextlib.contextmanager
    def waiting(self, partner: str, transaction_id: str) -> Iterator[None]:
        """Hold a place while the block runs; 503 `unavailable` when the payment's are taken."""
        key = (partner, transaction_id)
        count = self._counts.get(key, 0)
        if count >= self.limit:
            REFUSED.labels("payment_waiters").inc()
            raise ApiError.unavailable("Too many requests wait for this payment; retry later.")
        self._counts[key] = count + 1
        try:
            yield
        finally:
            remaining = self._counts[key] - 1
            if remaining:
                self._counts[key] = remaining
            else:
                del self._counts[key]
