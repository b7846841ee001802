"""One JSON object per log line on stdout, with the correlation id of the work at hand.

Every process calls `configure_logging` once at start. The correlation id lives
in a context variable, so a log call deep inside a handler still carries it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def _add_correlation_id(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    correlation_id = correlation_id_var.get()
    if correlation_id is not None and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = correlation_id
    return event_dict


def configure_logging(process: str, level: str = "INFO") -> None:
    """Route structlog and stdlib logging to JSON lines on stdout at `level`."""

    # A plain processor rather than a context variable: threads (Faust's
    # consumer thread) do not inherit context, but every line needs the name.
    def add_process(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("process", process)
        return event_dict

    shared: list[Any] = [
        add_process,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        _add_correlation_id,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # aiokafka is chatty at INFO while the broker is away; our own lines say it once.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    # httpx logs every request at INFO through stdlib logging (~80 µs a line here);
    # peer calls have their own metrics and failure lines.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))


@contextmanager
def correlation(correlation_id: str | None) -> Iterator[None]:
    """Tag every log line written inside the block with `correlation_id`."""
    token = correlation_id_var.set(correlation_id)
    try:
        yield
    finally:
        correlation_id_var.reset(token)
