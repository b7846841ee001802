"""On Kafka with `KAFKA_SECURITY=sasl` only the payments service may write its status events.

The stack runs with one SCRAM principal per role and the ACLs of launcher/kafka_security.py.
A "confirmed" event forged with the ingress's or the processors' credentials is refused
by the broker and the payment stays held; the payments service's own event (the sandbox,
when the driver accepts) is taken and the payment is approved. A client without
credentials is not served at all. Skipped where no JDK 17+ exists.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from ingress.payment_requests import payment_id_for
from launcher.kafka_jars import ensure_jars
from launcher.kafka_security import KafkaUsers, Role
from messaging.topics import MERCH_PAYMENT_EVENTS
from schemas.merch_payments import MerchPaymentEvent, MerchPaymentStatus
from tests.integration.conftest import RunningStack, kafka_unavailable, start_stack
from tests.integration.payments.conftest import Payments, eventually, new_transaction_id


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    reason = kafka_unavailable()
    if reason is not None:
        pytest.skip(reason)
    ensure_jars()
    running = start_stack(
        Path(tmp_path_factory.mktemp("kafka-sasl")), broker="kafka", kafka_security="sasl"
    )
    try:
        yield running
    finally:
        running.local.stop()


@pytest.fixture
async def payments(secure_stack: RunningStack) -> AsyncIterator[Payments]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield Payments(secure_stack, client)


def credentials(stack: RunningStack, role: Role) -> dict[str, str]:
    users = KafkaUsers(stack.local.config.run_dir / "kafka")
    users.load_or_create()
    return users.auth(role).client_options()


async def send_confirmed(stack: RunningStack, payment_id: str, **auth: str) -> None:
    """A "confirmed" status event for `payment_id`, as the payments service would write it."""
    event = MerchPaymentEvent(
        event_id=f"forged-{uuid.uuid4().hex}",
        payment_id=payment_id,
        status=MerchPaymentStatus.CONFIRMED,
        occurred_at=datetime.now(UTC),
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap_servers, request_timeout_ms=5000, **auth
    )
    try:
        await producer.start()
        await producer.send_and_wait(
            MERCH_PAYMENT_EVENTS,
            value=event.model_dump_json().encode(),
            key=payment_id.encode(),
            headers=[("correlation-id", b"forged")],
        )
    finally:
        await producer.stop()


async def test_only_the_payments_service_writes_payment_events(
    payments: Payments, secure_stack: RunningStack
) -> None:
    driver = await payments.driver(acceptance="manual", balance=100_000)
    tx = new_transaction_id()
    held = asyncio.create_task(payments.authorize(payments.body(tx, driver.qr_code, 700)))
    await eventually(lambda: payments.peer_payment(tx), what="payment created")
    payment_id = payment_id_for("mobi", str(tx))

    for role in ("ingress", "processors"):
        with pytest.raises(TopicAuthorizationFailedError):
            await send_confirmed(secure_stack, payment_id, **credentials(secure_stack, role))
    # No credentials: the SASL listener serves nobody.
    with pytest.raises((KafkaError, TimeoutError)):
        await asyncio.wait_for(send_confirmed(secure_stack, payment_id), 10)
    assert not held.done()
    assert (await payments.peer_payment(tx) or {}).get("status") == "pending_acceptance"

    # The payments service's own principal (the sandbox) publishes the driver's acceptance.
    assert (await payments.driver_answers(tx, "accept")).status_code == 200
    answer = await held
    assert answer.json()["status"] == "approved"
    assert await payments.balance(driver) == 100_000 - 700
