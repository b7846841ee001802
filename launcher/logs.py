"""The launcher's log lines (the shape of every process: observability.logs) and the
prefixed pass-through of every child's output."""

from __future__ import annotations

import sys
import threading
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from observability.logs import render_line, wants_console


class OutputSink:
    """Writes whole lines, prefixed by the process name, to one stream (thread-safe)."""

    def __init__(self, stream: TextIO | None = None, *, prefixed: bool = True) -> None:
        self._stream = stream
        self._prefixed = prefixed
        self._lock = threading.Lock()
        self._console: bool | None = None

    @property
    def console(self) -> bool:
        """Whether the lines are for people (a terminal, or LOG_FORMAT=console)."""
        if self._console is None:
            self._console = wants_console(self._stream if self._stream is not None else sys.stdout)
        return self._console

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
    """The launcher's own structured log, in the shape of every process's.

    In a line about a child, the `process` field names that child (the line's prefix
    names the launcher)."""

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
        line = render_line(self._process, level, event, fields, console=self._sink.console)
        self._sink.write_line(self._process, line)


def redact_url(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
