"""Partner keys (rotation, signed requests) and admission control on real processes.

These need settings of their own (two keys for mobi, mobi signing, small caps), so
they run on a stack of their own.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingress.signatures import sign
from tests.integration.bodies import authorize_body
from tests.integration.conftest import RunningStack
from tests.integration.own_stack import own_stack, skip_against_containers
from tests.integration.payments.conftest import Payments

OLD_KEY, NEW_KEY = "mobi-key-old", "mobi-key-new"
MAX_IN_FLIGHT = 6
MAX_WAITERS = 2


@pytest.fixture(scope="module")
def guarded_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RunningStack]:
    skip_against_containers(request, "settings of its own")
    with own_stack(
        Path(tmp_path_factory.mktemp("guarded")),
        env={
            "PARTNER_KEYS": f"mobi={OLD_KEY},mobi={NEW_KEY}",
            "PARTNER_SIGNED": "mobi",
            "INGRESS_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
            "INGRESS_MAX_WAITERS_PER_PAYMENT": str(MAX_WAITERS),
        },
    ) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(timeout=15, limits=limits) as client:
        yield client


def _tx() -> int:
    return int(uuid.uuid4().int % 10**15) + 1


def _body(tx: int, qr: str = "qr-unknown") -> bytes:
    return json.dumps(authorize_body(tx, qr, 100)).encode()


def _signed(key: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if at is None else at)
    return {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "X-Signature": sign(key, timestamp, body),
    }


async def _authorize(
    http: httpx.AsyncClient, stack: RunningStack, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await http.post(f"{stack.ingress_url}/mobi/v1/payments", content=body, headers=headers)


async def _manual_driver(http: httpx.AsyncClient, stack: RunningStack) -> str:
    return (await Payments(stack, http).driver(acceptance="manual")).qr_code


async def test_either_of_two_keys_of_one_partner_is_accepted(
    guarded_stack: RunningStack, http: httpx.AsyncClient
) -> None:
    for key in (OLD_KEY, NEW_KEY):
        body = _body(_tx())
        answer = await _authorize(http, guarded_stack, body, _signed(key, body))
        assert answer.status_code == 200, answer.text
        assert answer.json()["decline_reason"] == "invalid_qr"


def _tampered(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "X-Signature": headers["X-Signature"][:-4] + "beef"}


@pytest.mark.parametrize(
    "case", ["missing", "malformed", "stale", "future", "wrong", "other_body", "other_key"]
)
async def test_a_signed_partner_without_a_good_fresh_signature_is_401(
    guarded_stack: RunningStack, http: httpx.AsyncClient, case: str
) -> None:
    tx = _tx()
    body = _body(tx)
    good = _signed(NEW_KEY, body)
    headers: dict[str, Any] = {
        "missing": {k: v for k, v in good.items() if k != "X-Signature"},
        "malformed": {**good, "X-Signature": "v1=abc"},
        "stale": _signed(NEW_KEY, body, at=time.time() - 301),
        "future": _signed(NEW_KEY, body, at=time.time() + 301),
        "wrong": _tampered(good),
        "other_body": _signed(NEW_KEY, _body(tx + 1)),
        # Signed under the partner's other key, sent with this one.
        "other_key": {**good, "X-Signature": _signed(OLD_KEY, body)["X-Signature"]},
    }[case]
    answer = await _authorize(http, guarded_stack, body, headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "bad_signature")
    # Nothing was published: the transaction is unknown.
    status = await http.get(
        f"{guarded_stack.ingress_url}/mobi/v1/payments/{tx}",
        headers=_signed(NEW_KEY, b""),
    )
    assert status.status_code == 404


async def test_a_right_signature_a_minute_old_is_accepted(
    guarded_stack: RunningStack, http: httpx.AsyncClient
) -> None:
    body = _body(_tx())
    answer = await _authorize(
        http, guarded_stack, body, _signed(OLD_KEY, body, at=time.time() - 60)
    )
    assert answer.status_code == 200


async def test_past_the_in_flight_cap_requests_are_refused_at_once_with_retry_after(
    guarded_stack: RunningStack, http: httpx.AsyncClient
) -> None:
    qrs = [await _manual_driver(http, guarded_stack) for _ in range(MAX_IN_FLIGHT)]
    bodies = [_body(_tx(), qr) for qr in qrs]
    held = [
        asyncio.create_task(_authorize(http, guarded_stack, body, _signed(NEW_KEY, body)))
        for body in bodies
    ]
    await asyncio.sleep(1.0)  # all held now, waiting for their drivers (4 s hold)

    async def timed() -> tuple[int, str | None, float]:
        body = _body(_tx())
        started = time.monotonic()
        answer = await _authorize(http, guarded_stack, body, _signed(NEW_KEY, body))
        return answer.status_code, answer.headers.get("retry-after"), time.monotonic() - started

    refused = await asyncio.gather(*(timed() for _ in range(20)))
    assert all(status == 503 and retry for status, retry, _ in refused), refused
    assert max(elapsed for _, _, elapsed in refused) < 0.5, refused
    ping = await http.get(f"{guarded_stack.ingress_url}/ping")
    assert ping.status_code == 200  # liveness is never shed

    answers = await asyncio.gather(*held)
    assert [a.json()["status"] for a in answers] == ["pending"] * MAX_IN_FLIGHT
    body = _body(_tx())
    after = await _authorize(http, guarded_stack, body, _signed(NEW_KEY, body))
    assert after.status_code == 200


async def test_requests_waiting_for_one_payment_are_capped(
    guarded_stack: RunningStack, http: httpx.AsyncClient
) -> None:
    body = _body(_tx(), await _manual_driver(http, guarded_stack))
    first = [
        asyncio.create_task(_authorize(http, guarded_stack, body, _signed(NEW_KEY, body)))
        for _ in range(MAX_WAITERS)
    ]
    await asyncio.sleep(1.0)
    started = time.monotonic()
    extra = await _authorize(http, guarded_stack, body, _signed(NEW_KEY, body))
    assert (extra.status_code, extra.json()["code"]) == (503, "unavailable")
    assert time.monotonic() - started < 0.5
    assert [a.status_code for a in await asyncio.gather(*first)] == [200] * MAX_WAITERS
