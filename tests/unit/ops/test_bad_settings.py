"""A bad setting stops the operator tools with one line naming it, never its value."""

from __future__ import annotations

import pytest

from ops.__main__ import main


def test_a_half_given_sasl_login_names_the_variables_and_shows_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "admin-secret-name")
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["dlq", "list"])
    message = str(stopped.value.code)
    assert message.startswith("invalid ops configuration:")
    assert "KAFKA_SASL_PASSWORD" in message
    assert "admin-secret-name" not in message
