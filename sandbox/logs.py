"""JSON log lines on stdout (structlog, and the stdlib loggers of uvicorn and aiokafka),
plus one access line per HTTP call.

Access lines carry method, path, status and duration, never a body: the QR
code and the identity number travel in bodies and must not reach a log.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.context import correlation_id_of
from sandbox.peer_names import split_peer_path

PROCESS = "sandbox"

access_log = structlog.get_logger("sandbox.access")


def _add_process(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.setdefault("process", PROCESS)
    return event_dict


def configure_logging(level: str) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_process,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # aiokafka is chatty at INFO while the broker is away; our own lines say it once.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))


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

        with structlog.contextvars.bound_contextvars(request_id=request_id, service=service):
            try:
                await self.app(scope, receive, capture)
            finally:
                access_log.info(
                    "http_request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
