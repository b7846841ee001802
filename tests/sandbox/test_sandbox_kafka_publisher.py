"""With the broker down, the Kafka publisher neither blocks the app nor fails a call."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime

import httpx

from sandbox.app import create_app
from sandbox.events import KafkaPaymentEventPublisher
from sandbox.peer_models.contractor_merch_payments import PaymentStatus, PaymentStatusChanged
from sandbox.settings import Settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def event() -> PaymentStatusChanged:
    return PaymentStatusChanged(
        event_id="e-1",
        payment_id="pay-1",
        status=PaymentStatus.CONFIRMED,
        occurred_at=datetime.now(UTC),
    )


async def test_start_publish_stop_return_quickly_without_broker() -> None:
    publisher = KafkaPaymentEventPublisher(f"127.0.0.1:{closed_port()}", retry_seconds=0.05)
    started = time.monotonic()

    await publisher.start()
    await publisher.publish(event(), "c-1")
    await asyncio.sleep(0.2)  # let it try (and fail) to connect a few times
    await publisher.stop()

    assert not publisher.connected
    assert time.monotonic() - started < 3


async def test_app_starts_and_confirms_payments_without_broker() -> None:
    settings = Settings(_env_file=None, kafka_bootstrap_servers=f"127.0.0.1:{closed_port()}")
    app = create_app(settings)

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
        ) as client,
    ):
        await client.post(
            "/_sandbox/drivers",
            json={
                "park_id": "p",
                "driver_profile_id": "d",
                "balance": 1000,
                "currency": "RUB",
                "qr_code": "QR",
            },
        )
        response = await asyncio.wait_for(
            client.post(
                "/contractor-merch-payments/internal/v1/payments",
                json={
                    "payment_id": "pay-1",
                    "qr_code": "QR",
                    "amount": 10,
                    "currency": "RUB",
                    "partner": "mobi",
                    "external_id": "1",
                },
            ),
            timeout=2,
        )

    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"
