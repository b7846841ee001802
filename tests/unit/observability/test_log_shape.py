"""One log shape for every process: the children's lines (structlog and stdlib) and the
launcher's have the same opening keys; JSON unless the output is for people."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from launcher.logs import Log, OutputSink
from observability.logs import FIRST_KEYS, wants_console

PROJECT_ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import logging, structlog
from observability.logs import configure_logging, correlation
configure_logging("worker-1", "INFO")
with correlation("c-42"):
    structlog.get_logger("demo").info("payment_approved", payment_id="pay-1")
logging.getLogger("uvicorn.error").warning("from the standard library")
"""


def run_child(log_format: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    if log_format is not None:
        env["LOG_FORMAT"] = log_format
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**env, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.splitlines()


def test_a_child_writes_json_lines_in_the_one_shape_when_piped() -> None:
    structlog_line, stdlib_line = (json.loads(line) for line in run_child(None))

    assert tuple(structlog_line)[:4] == FIRST_KEYS
    assert tuple(stdlib_line)[:4] == FIRST_KEYS
    assert structlog_line["process"] == stdlib_line["process"] == "worker-1"
    assert (structlog_line["event"], structlog_line["level"]) == ("payment_approved", "info")
    assert structlog_line["correlation_id"] == "c-42"
    assert structlog_line["ts"].endswith("Z")
    assert (stdlib_line["event"], stdlib_line["level"]) == ("from the standard library", "warning")


def test_the_launcher_writes_the_same_shape() -> None:
    stream = io.StringIO()
    Log(OutputSink(stream), process="launcher").warning("process exited", exit_code=1)

    prefix, _, payload = stream.getvalue().strip().partition(" | ")
    line = json.loads(payload)
    child_line = json.loads(run_child("json")[0])

    assert prefix == "launcher"
    assert tuple(line)[:4] == FIRST_KEYS == tuple(child_line)[:4]
    assert (line["process"], line["level"], line["exit_code"]) == ("launcher", "warning", 1)
    assert line["ts"].endswith("Z") and child_line["ts"].endswith("Z")


def test_console_format_renders_for_people() -> None:
    lines = run_child("console")

    assert "payment_approved" in lines[0] and "payment_id" in lines[0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_is_for_people_unless_log_format_says_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert wants_console(Terminal())
    assert not wants_console(io.StringIO())
    assert OutputSink(Terminal()).console
    assert not OutputSink(io.StringIO()).console
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert not wants_console(Terminal())
    assert not OutputSink(Terminal()).console
    monkeypatch.setenv("LOG_FORMAT", "console")
    assert wants_console(io.StringIO())
