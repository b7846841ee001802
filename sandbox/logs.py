"""One access log line per call the sandbox answers (JSON logs: observability.logs).

Access lines carry method, path, status and duration, never a body: the QR
code and the identity number travel in bodies and must not reach a log.
Peer calls are logged at DEBUG: the journal (`GET /_sandbox/journal`) keeps
every one of them, while a line per call cost ~6% of the sandbox's time under
load (plus the launcher's relaying it); control calls stay at INFO.
"""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.logs import correlation
from sandbox.context import correlation_id_of
from sandbox.peer_names import split_peer_path

access_log = structlog.get_logger("sandbox.access")


class AccessLogMiddleware:
    """Logs each call once it is answered, with the caller's request id and the peer served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        peer = split_peer_path(scope["path"])
        request_id = correlation_id_of(Headers(scope=scope)) or str(uuid.uuid4())
        service = peer[0] if peer else "_sandbox"
        status = 500
        started = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with correlation(request_id), structlog.contextvars.bound_contextvars(service=service):
            try:
                await self.app(scope, receive, capture)
            finally:
                (access_log.debug if peer else access_log.info)(
                    "http_request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
