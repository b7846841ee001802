"""Helpers for payments through the real system: a Mobi client, sandbox drivers, the database."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from ingress.payment_requests import payment_id_for
from tests.eventually import eventually
from tests.integration.bodies import authorize_body, new_qr_code, sandbox_driver
from tests.integration.conftest import RunningStack

__all__ = ["Payments", "eventually", "new_transaction_id"]

MOBI_KEY = "test-mobi-key"  # PARTNER_KEYS of the session stack


def new_transaction_id() -> int:
    return random.randint(10**9, 2**62)


@dataclass
class Driver:
    park_id: str
    driver_profile_id: str
    qr_code: str


class Payments:
    """The system as a partner and a tester see it."""

    def __init__(self, stack: RunningStack, client: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = client
        self.headers = {"Authorization": f"Bearer {MOBI_KEY}"}

    # Partner API

    def body(self, tx: int, qr_code: str, amount: int = 15050, **changes: Any) -> dict[str, Any]:
        return authorize_body(tx, qr_code, amount, **changes)

    async def authorize(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.headers)
        return await self.http.post(
            f"{self.stack.ingress_url}/mobi/v1/payments", json=body, **kwargs
        )

    async def status(self, tx: int) -> httpx.Response:
        url = f"{self.stack.ingress_url}/mobi/v1/payments/{tx}"
        try:
            return await self.http.get(url, headers=self.headers)
        except httpx.RemoteProtocolError:
            # A pooled keep-alive connection the server closed as idle just as it was
            # reused (uvicorn's keep-alive timeout): a read is safe to send again.
            return await self.http.get(url, headers=self.headers)

    async def cancel(self, tx: int) -> httpx.Response:
        return await self.http.post(
            f"{self.stack.ingress_url}/mobi/v1/payments/{tx}/cancel", headers=self.headers
        )

    async def refund(self, tx: int, refund_id: str, amount: int) -> httpx.Response:
        return await self.http.post(
            f"{self.stack.ingress_url}/mobi/v1/payments/{tx}/refunds",
            json={"refund_id": refund_id, "amount": amount},
            headers=self.headers,
        )

    async def wait_status(self, tx: int, status: str, timeout: float = 20.0) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            answer = await self.status(tx)
            if answer.status_code == 200 and answer.json()["status"] == status:
                body: dict[str, Any] = answer.json()
                return body
            return None

        body: dict[str, Any] = await eventually(
            reached, timeout=timeout, what=f"payment {tx} {status}"
        )
        return body

    # Sandbox

    async def driver(
        self, *, balance: int = 1_000_000, acceptance: str = "auto", **extra: Any
    ) -> Driver:
        driver = Driver("park-1", f"d-{uuid.uuid4().hex[:10]}", new_qr_code())
        body = sandbox_driver(
            driver.qr_code,
            balance=balance,
            acceptance=acceptance,
            park_id=driver.park_id,
            driver_profile_id=driver.driver_profile_id,
            **extra,
        )
        answer = await self.http.post(f"{self.stack.sandbox_url}/_sandbox/drivers", json=body)
        answer.raise_for_status()
        return driver

    async def ledger(self, driver: Driver) -> list[dict[str, Any]]:
        answer = await self.http.get(
            f"{self.stack.sandbox_url}/_sandbox/drivers/{driver.park_id}/{driver.driver_profile_id}"
        )
        answer.raise_for_status()
        ledger: list[dict[str, Any]] = answer.json()["ledger"]
        return ledger

    async def balance(self, driver: Driver) -> int:
        answer = await self.http.get(
            f"{self.stack.sandbox_url}/_sandbox/drivers/{driver.park_id}/{driver.driver_profile_id}"
        )
        return int(answer.json()["balance"])

    async def peer_payment(self, tx: int) -> dict[str, Any] | None:
        answer = await self.http.get(
            f"{self.stack.sandbox_url}/_sandbox/payments/{payment_id_for('mobi', str(tx))}"
        )
        if answer.status_code == 404:
            return None
        body: dict[str, Any] = answer.json()
        return body

    async def driver_answers(self, tx: int, verdict: str) -> httpx.Response:
        return await self.http.post(
            f"{self.stack.sandbox_url}/_sandbox/payments/"
            f"{payment_id_for('mobi', str(tx))}/{verdict}"
        )

    async def journal(self) -> list[dict[str, Any]]:
        """The calls the payments service got, as the sandbox's journal has them."""
        answer = await self.http.get(
            f"{self.stack.sandbox_url}/_sandbox/journal",
            params={"service": "contractor-merch-payments"},
        )
        calls: list[dict[str, Any]] = answer.json()["calls"]
        return calls

    async def creates(self, tx: int) -> int:
        """How many create calls carried this transaction."""
        return sum(
            1
            for call in await self.journal()
            if call["method"] == "POST"
            and call["path"].endswith("/payments")
            and isinstance(call["body"], dict)
            and call["body"].get("external_id") == str(tx)
        )

    async def fault(
        self, operation: str, mode: str, times: int | None = None, delay_ms: int | None = None
    ) -> None:
        rule: dict[str, object] = {
            "service": "contractor-merch-payments",
            "operation": operation,
            "mode": mode,
            "times": times,
        }
        if delay_ms is not None:
            rule["delay_ms"] = delay_ms
        answer = await self.http.post(f"{self.stack.sandbox_url}/_sandbox/faults", json=rule)
        answer.raise_for_status()

    # Database

    async def row(self, tx: int) -> asyncpg.Record | None:
        connection = await asyncpg.connect(self.stack.database_url)
        try:
            row: asyncpg.Record | None = await connection.fetchrow(
                "SELECT * FROM payments WHERE partner = 'mobi' AND transaction_id = $1", str(tx)
            )
            return row
        finally:
            await connection.close()


@asynccontextmanager
async def payments_on(
    stack: RunningStack, *, reset: bool = False, **client_options: Any
) -> AsyncIterator[Payments]:
    """The system of `stack` as a partner sees it; the sandbox's faults cleared after."""
    async with httpx.AsyncClient(**{"timeout": 30, **client_options}) as client:
        if reset:
            (await client.post(f"{stack.sandbox_url}/_sandbox/reset")).raise_for_status()
        yield Payments(stack, client)
        await client.delete(f"{stack.sandbox_url}/_sandbox/faults")


@pytest.fixture
async def payments(stack: RunningStack) -> AsyncIterator[Payments]:
    async with payments_on(stack, reset=True) as helper:
        yield helper
