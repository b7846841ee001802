"""One log shape for every process (ingress, processors, sandbox, launcher): `ts`,
`level`, `process`, `event`, then the line's own fields, with the correlation id of
the work at hand.

Rendered as JSON lines, or for people (structlog's console renderer) when the output
is a terminal; `LOG_FORMAT=json|console` overrides the guess. Under `make run` the
children write to the launcher's pipe, so the launcher passes its own choice on to
them in `LOG_FORMAT`. Every process calls `configure_logging` once at start; the
launcher, which writes through its own sink, renders its lines with `render_line`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from observability.context_values import set_for_block

LOG_FORMAT_ENV = "LOG_FORMAT"
FIRST_KEYS = ("ts", "level", "process", "event")

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def wants_console(stream: TextIO, log_format: str | None = None) -> bool:
    """Whether lines written to `stream` are for people: `LOG_FORMAT` (or `log_format`)
    says so, or, when it says nothing, the stream is a terminal."""
    chosen = os.environ.get(LOG_FORMAT_ENV, "") if log_format is None else log_format
    chosen = chosen.strip().lower()
    if chosen in ("console", "json"):
        return chosen == "console"
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed or not a real stream
        return False


def _add_correlation_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    correlation_id = correlation_id_var.get()
    if correlation_id is not None and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = correlation_id
    return event_dict


def _first_keys_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The same keys open every JSON line, whichever process wrote it."""
    ordered = {key: event_dict.pop(key) for key in FIRST_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def _shared_processors(process: str) -> list[Processor]:
    # A plain processor rather than a context variable: threads (Faust's
    # consumer thread) do not inherit context, but every line needs the name.
    def add_process(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("process", process)
        return event_dict

    return [
        add_process,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        _add_correlation_id,
    ]


def _rendering(console: bool) -> list[Processor]:
    if console:
        # The console renderer formats exceptions itself.
        return [structlog.dev.ConsoleRenderer(timestamp_key="ts")]
    return [
        structlog.processors.format_exc_info,
        _first_keys_first,
        structlog.processors.JSONRenderer(default=str),  # a Path or Decimal as its text
    ]


def render_line(
    process: str, level: str, event: str, fields: Mapping[str, object], *, console: bool
) -> str:
    """One line in the shape every process writes, for a writer outside structlog."""
    event_dict: Any = {"event": event, **fields}
    for processor in [*_shared_processors(process), *_rendering(console)]:
        event_dict = processor(None, level, event_dict)
    return str(event_dict)


def configure_logging(process: str, level: str = "INFO") -> None:
    """Route structlog and stdlib logging to stdout at `level`, in the one shape."""
    console = wants_console(sys.stdout)
    shared = _shared_processors(process)
    structlog.configure(
        processors=[*shared, *_rendering(console)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_rendering(console),
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


def correlation(correlation_id: str | None) -> AbstractContextManager[None]:
    """Tag every log line written inside the block with `correlation_id`."""
    return set_for_block(correlation_id_var, correlation_id)
