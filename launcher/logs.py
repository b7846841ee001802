"""JSON log lines of the launcher and the prefixed pass-through of every child's output."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit


class OutputSink:
    """Writes whole lines, prefixed by the process name, to one stream (thread-safe)."""

    def __init__(self, stream: TextIO | None = None, *, prefixed: bool = True) -> None:
        self._stream = stream
        self._prefixed = prefixed
        self._lock = threading.Lock()

    def write_line(self, process: str, line: str) -> None:
        self.write_lines(process, [line])

    def write_lines(self, process: str, lines: list[str]) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        prefix = f"{process} | " if self._prefixed else ""
        text = "".join(f"{prefix}{line}\n" for line in lines)
        with self._lock:
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):
                # A closed or broken stdout must not take the supervisor down with it.
                pass


class Log:
    """The launcher's own structured log: one JSON object per line."""

    def __init__(self, sink: OutputSink, process: str = "launcher") -> None:
        self._sink = sink
        self._process = process

    def info(self, event: str, **fields: object) -> None:
        self._emit("info", event, fields)

    def warning(self, event: str, **fields: object) -> None:
        self._emit("warning", event, fields)

    def error(self, event: str, **fields: object) -> None:
        self._emit("error", event, fields)

    def _emit(self, level: str, event: str, fields: dict[str, object]) -> None:
        record: dict[str, object] = {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "process": self._process,
            "event": event,
        }
        record.update(fields)
        self._sink.write_line(self._process, json.dumps(record, default=str))


def redact_url(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
