"""SASL/SCRAM principals and ACLs of the embedded Kafka (`KAFKA_SECURITY=sasl`).

One principal per role, each process running as its role's:

* `ingress` writes the request topics and reads (and creates) the `replies.` topics;
* `processors` read the request and event topics, write replies and dead letters and use
  their consumer group;
* `payments` (the payments service; locally the sandbox) alone writes
  `merch-payment-events`: a status event from anyone else is refused by the broker, so a
  forged "confirmed" can no longer reach the processors;
* `admin` (the launcher, `launcher.setup`, the operator tools) is a super user.

Passwords are generated once per run directory (`kafka/users.json`, readable by its owner
only) and given to the storage format (`--add-scram`), so the broker knows them from its
first start. The ACLs are written by the launcher through the admin principal before any
other process starts. Tansu has no SASL: it never runs with this.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import CreateAclsRequest

from messaging.consumer_groups import PROCESSORS_GROUP
from messaging.kafka_auth import KafkaAuth
from messaging.topics import (
    DEAD_LETTERS,
    MERCH_PAYMENT_EVENTS,
    METER_REQUESTS,
    PAYMENT_REQUESTS,
    PROBE_REQUESTS,
    REPLY_TOPIC_PREFIX,
    RIDE_EVENTS,
)

Role = Literal["admin", "ingress", "processors", "payments"]
ROLES: tuple[Role, ...] = ("admin", "ingress", "processors", "payments")
MECHANISM = "SCRAM-SHA-256"
SECURITY_MODES = ("none", "sasl")

# Kafka's wire codes (org.apache.kafka.common.acl / resource).
TOPIC, GROUP = 2, 3
LITERAL, PREFIXED = 3, 4
READ, WRITE, CREATE, DESCRIBE = 3, 4, 5, 8
ALLOW = 3

REQUEST_TOPICS = (PAYMENT_REQUESTS, METER_REQUESTS, PROBE_REQUESTS, RIDE_EVENTS)
CONSUMED_TOPICS = (*REQUEST_TOPICS, MERCH_PAYMENT_EVENTS)


@dataclass(frozen=True)
class AclRule:
    role: Role
    resource_type: int
    name: str
    pattern: int
    operation: int


def acl_rules(group: str = PROCESSORS_GROUP) -> list[AclRule]:
    """What each role may do; everything else is refused (the admin is a super user)."""

    def on(role: Role, names: Iterable[str], operations: Iterable[int]) -> list[AclRule]:
        return [AclRule(role, TOPIC, n, LITERAL, op) for n in names for op in operations]

    replies = REPLY_TOPIC_PREFIX
    return [
        *on("ingress", REQUEST_TOPICS, (WRITE, DESCRIBE)),
        *(AclRule("ingress", TOPIC, replies, PREFIXED, op) for op in (READ, DESCRIBE, CREATE)),
        *on("processors", CONSUMED_TOPICS, (READ, DESCRIBE)),
        *on("processors", (DEAD_LETTERS,), (WRITE, DESCRIBE)),
        *(AclRule("processors", TOPIC, replies, PREFIXED, op) for op in (WRITE, DESCRIBE)),
        AclRule("processors", GROUP, group, LITERAL, READ),
        *on("payments", (MERCH_PAYMENT_EVENTS,), (WRITE, DESCRIBE)),
    ]


class KafkaUsers:
    """The principals' passwords of one run directory, generated on first use."""

    def __init__(self, kafka_home: Path) -> None:
        self.file = kafka_home / "users.json"
        self._passwords: dict[str, str] | None = None

    def load_or_create(self) -> None:
        if self.file.exists():
            self._passwords = json.loads(self.file.read_text())
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        # Hex only: the format tool's `[name=...,password=...]` syntax needs no escaping.
        # The node's own PLAIN user on the controller listener has one too.
        passwords = {name: secrets.token_hex(24) for name in (*ROLES, "controller")}
        descriptor = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(passwords, out)
        self._passwords = passwords

    def auth(self, role: Role) -> KafkaAuth:
        assert self._passwords is not None, "load_or_create() first"
        return KafkaAuth(MECHANISM, role, self._passwords[role])

    def format_arguments(self) -> list[str]:
        """`--add-scram` arguments of `StorageTool format`: every principal known at start."""
        arguments = []
        for role in ROLES:
            password = self.auth(role).password
            arguments += ["--add-scram", f"{MECHANISM}=[name={role},password={password}]"]
        return arguments

    def server_properties(self) -> dict[str, str]:
        """The broker's SASL listener, the controller's PLAIN one and the authorizer."""
        assert self._passwords is not None, "load_or_create() first"
        controller_password = self._passwords["controller"]
        admin = self.auth("admin")
        scram_login = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{admin.username}" password="{admin.password}";'
        )
        # The controller cannot check SCRAM (its users live in the metadata it serves):
        # node-to-controller traffic authenticates with a static PLAIN user instead.
        plain_login = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="controller" password="{controller_password}" '
            f'user_controller="{controller_password}";'
        )
        return {
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_plaintext.{MECHANISM.lower()}.sasl.jaas.config": scram_login,
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain_login,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:admin;User:controller",
            "allow.everyone.if.no.acl.found": "false",
        }


async def create_acls(bootstrap_servers: str, admin: KafkaAuth, rules: list[AclRule]) -> None:
    """Write the rules (creating an existing ACL again is a no-op for Kafka)."""
    client = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000, **admin.client_options()
    )
    await client.start()
    try:
        for rule in rules:
            request = CreateAclsRequest(
                rule.resource_type,
                rule.name,
                rule.pattern,
                f"User:{rule.role}",
                "*",
                rule.operation,
                ALLOW,
            )
            # aiokafka 0.14 has the request but no public method for it.
            response = await client._send_request(request)
            for code, message in response.creation_responses:
                if code != 0:
                    raise KafkaError(f"ACL {rule} refused: {message or code}")
    finally:
        await client.close()
