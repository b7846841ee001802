"""A bad setting stops the ingress at start with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _start_ingress(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingress"],
        env={**os.environ, "INGRESS_PORT": "1", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PARTNER_KEYS", "mobi"),
        ("PARTNER_KEYS", "mobi=s3cr3t x"),
        ("PAYMENT_HOLD_TIMEOUT", "soon"),
        ("INTERNAL_KEYS", "order-events"),
        ("INTERNAL_KEYS", "a=s3cr3t,b=s3cr3t"),
        ("PARTNER_SIGNED", "nobody"),
        ("INGRESS_MAX_IN_FLIGHT", "0"),
    ],
)
def test_a_bad_setting_stops_the_ingress_naming_the_variable(variable: str, value: str) -> None:
    result = _start_ingress(**{variable: value})
    assert result.returncode != 0
    assert f"invalid ingress configuration: {variable}" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
