"""METERS_ROLLOUT parsing, and a bad value stopping the worker with the variable's name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from processors.meters.domain import Rollout
from processors.meters.rollout import InvalidRollout, parse_rollout
from processors.meters.settings import load_meter_settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("none", Rollout(mode="none")),
        ("all", Rollout(mode="all")),
        (" ALL ", Rollout(mode="all")),
        ("percent:0", Rollout(mode="percent", percent=0)),
        ("percent:35", Rollout(mode="percent", percent=35)),
        ("percent:100", Rollout(mode="percent", percent=100)),
        ("drivers:d-1", Rollout(mode="drivers", drivers=frozenset({"d-1"}))),
        ("drivers: d-1, p-2_d-2 ,", Rollout(mode="drivers", drivers=frozenset({"d-1", "p-2_d-2"}))),
    ],
)
def test_accepted_forms(text: str, expected: Rollout) -> None:
    assert parse_rollout(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "some",
        "percent",
        "percent:",
        "percent:101",
        "percent:-1",
        "percent:2.5",
        "drivers:",
        "drivers: , ",
        "drivers:a b",
        "all:1",
    ],
)
def test_rejected_forms(text: str) -> None:
    with pytest.raises(InvalidRollout):
        parse_rollout(text)


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METERS_ROLLOUT", "percent:150")
    with pytest.raises(SystemExit) as stopped:
        load_meter_settings()
    assert "METERS_ROLLOUT" in str(stopped.value.code)


def test_worker_with_bad_rollout_stops_at_start_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "processors"],
        env={"METERS_ROLLOUT": "sometimes", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "METERS_ROLLOUT" in result.stderr
    assert "Traceback" not in result.stderr
