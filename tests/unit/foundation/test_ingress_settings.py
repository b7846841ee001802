"""Hold timeouts must fit the reply rotation, or a held request could miss its reply."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingress.settings import IngressSettings


def test_default_holds_fit_the_launchers_rotation() -> None:
    IngressSettings(kafka_topic_rotation_s=10)


def test_a_hold_longer_than_replies_are_kept_is_refused() -> None:
    with pytest.raises(ValidationError, match="replies are kept"):
        IngressSettings(kafka_topic_rotation_s=10, payment_hold_timeout=60)


def test_without_rotation_any_allowed_hold_goes() -> None:
    IngressSettings(kafka_topic_rotation_s=0, payment_hold_timeout=120)


def test_the_kafka_sasl_identity_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "ingress")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "secret")
    auth = IngressSettings().kafka_auth()
    assert (auth.mechanism, auth.username, auth.password) == ("SCRAM-SHA-256", "ingress", "secret")
    monkeypatch.delenv("KAFKA_SASL_PASSWORD")
    with pytest.raises(ValueError, match="KAFKA_SASL_PASSWORD"):
        IngressSettings()
