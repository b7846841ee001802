"""SASL principals and ACLs of the embedded Kafka: per-run passwords, who may write what."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from launcher.config import StackConfig
from launcher.kafka_security import (
    PREFIXED,
    ROLES,
    TOPIC,
    WRITE,
    KafkaUsers,
    acl_rules,
)
from messaging.kafka_auth import KafkaAuth
from messaging.topics import MERCH_PAYMENT_EVENTS


def test_passwords_are_made_once_per_run_dir_and_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    users = KafkaUsers(tmp_path)
    users.load_or_create()
    assert stat.S_IMODE(users.file.stat().st_mode) == 0o600
    again = KafkaUsers(tmp_path)
    again.load_or_create()
    assert again.auth("ingress") == users.auth("ingress")
    passwords = {users.auth(role).password for role in ROLES}
    assert len(passwords) == len(ROLES)  # one principal, one password per role
    assert users.auth("ingress").password not in repr(users.auth("ingress"))


def test_every_principal_is_given_to_the_storage_format(tmp_path: Path) -> None:
    users = KafkaUsers(tmp_path)
    users.load_or_create()
    arguments = users.format_arguments()
    assert arguments.count("--add-scram") == len(ROLES)
    assert any(f"name=payments,password={users.auth('payments').password}]" in a for a in arguments)


def test_only_the_payments_service_writes_payment_events() -> None:
    writers = {
        rule.role
        for rule in acl_rules()
        if rule.resource_type == TOPIC
        and rule.operation == WRITE
        and (
            rule.name == MERCH_PAYMENT_EVENTS
            or (rule.pattern == PREFIXED and MERCH_PAYMENT_EVENTS.startswith(rule.name))
        )
    }
    assert writers == {"payments"}


def test_sasl_is_refused_on_tansu() -> None:
    with pytest.raises(ValueError, match="Tansu has no SASL"):
        StackConfig.from_env({"BROKER": "tansu", "KAFKA_SECURITY": "sasl"})
    with pytest.raises(ValueError, match="KAFKA_SECURITY"):
        StackConfig.from_env({"BROKER": "tansu", "KAFKA_SECURITY": "tls"})


def test_a_mechanism_needs_a_user_and_a_password() -> None:
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        KafkaAuth.from_env({"KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"})
    assert KafkaAuth.from_env({}).client_options() == {}
    options = KafkaAuth("SCRAM-SHA-512", "ingress", "secret").client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
