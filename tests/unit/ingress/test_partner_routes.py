"""The Mobi adapter and partner authentication in the ingress, with a fake gateway and database.

Also shows that a second partner is an adapter plus a key: `acme` below speaks its
own body (string ids, `sum` instead of `amount`) over the same partner-neutral core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field

from ingress.bootstrap import build_apps
from ingress.dependencies import DatabaseDep, GatewayDep, _database, _gateway
from ingress.partners import InvalidPartnerKeys, PartnerKeys, partner_config, require_partner
from ingress.payment_requests import PartnerPayments, payment_id_for
from ingress.settings import IngressSettings
from schemas.envelope import Reply
from schemas.payments import Merchant, PaymentCommand
from tests.unit.ingress.fakes import FakeGateway

KEYS = "mobi=test-mobi-key,acme=test-acme-key"
MOBI = {"Authorization": "Bearer test-mobi-key"}
ACME = {"Authorization": "Bearer test-acme-key"}
BODY = {
    "transaction_id": 9000001,
    "qr_code": "secret-qr-payload",
    "amount": 15050,
    "currency": "RUB",
    "merchant": {"id": "m-17", "name": "Shop 17", "mcc": "5411"},
    "terminal_id": "T-3",
}


class FakeConnection:
    def __init__(self, rows: dict[tuple[str, str], dict[str, Any]]) -> None:
        self._rows = rows

    async def fetchrow(self, _sql: str, partner: str, key: str) -> dict[str, Any] | None:
        return self._rows.get((partner, key))


class FakeDatabase:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[FakeConnection]:
        yield FakeConnection(self.rows)


# A second partner, defined entirely here: its own body and route, the shared core.

acme = APIRouter(prefix="/acme/payments")


class AcmeCharge(BaseModel):
    ref: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=512)
    sum: int = Field(gt=0)
    ccy: str = Field(pattern=r"^[A-Z]{3}$")
    shop: str


def _acme_payments(request: Request, gateway: GatewayDep, database: DatabaseDep) -> PartnerPayments:
    return PartnerPayments(gateway, database, partner_config(request))


@acme.post("")
async def acme_charge(
    body: AcmeCharge,
    partner: Annotated[str, Depends(require_partner("acme"))],
    payments: Annotated[PartnerPayments, Depends(_acme_payments)],
) -> dict[str, Any]:
    result = await payments.authorize(
        partner,
        body.ref,
        qr_code=body.code,
        amount=body.sum,
        currency=body.ccy,
        merchant=Merchant(id=body.shop),
        terminal_id=None,
    )
    return {"ref": result.transaction_id, "state": result.status.value, "id": result.payment_id}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FastAPI, FakeGateway, FakeDatabase]]:
    monkeypatch.setenv("PARTNER_KEYS", KEYS)
    monkeypatch.setenv("PAYMENT_HOLD_TIMEOUT", "1")
    settings = IngressSettings(ingress_instance_id="ingress-test")
    app = build_apps(settings, partner_routers=[acme]).partner
    gateway, database = FakeGateway(), FakeDatabase()
    app.dependency_overrides[_gateway] = lambda: gateway
    app.dependency_overrides[_database] = lambda: database
    yield app, gateway, database


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress")


def _approved(tx: str = "9000001", partner: str = "mobi") -> Reply:
    return Reply.success(
        {
            "partner": partner,
            "transaction_id": tx,
            "payment_id": payment_id_for(partner, tx),
            "status": "approved",
            "amount": 15050,
            "currency": "RUB",
        }
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "test-mobi-key"},
        {"Authorization": "Basic test-mobi-key"},
        ACME,  # a valid key, of another partner
    ],
)
async def test_a_missing_or_wrong_key_is_401_and_nothing_is_published(
    world: tuple[FastAPI, FakeGateway, FakeDatabase], headers: dict[str, str]
) -> None:
    app, gateway, _ = world
    async with _client(app) as client:
        answer = await client.post("/mobi/v1/payments", json=BODY, headers=headers)
        invalid = await client.post("/mobi/v1/payments", json={"amount": -1}, headers=headers)
        status = await client.get("/mobi/v1/payments/9000001", headers=headers)
    assert answer.status_code == invalid.status_code == status.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert gateway.published == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0}, "body.amount"),
        ({"amount": "15050"}, "body.amount"),
        ({"transaction_id": -5}, "body.transaction_id"),
        ({"currency": "rub"}, "body.currency"),
        ({"qr_code": ""}, "body.qr_code"),
        ({"qr_code": "x" * 513}, "body.qr_code"),
        ({"merchant": {}}, "body.merchant.id"),
    ],
)
async def test_an_invalid_body_is_422_with_the_field_and_nothing_is_published(
    world: tuple[FastAPI, FakeGateway, FakeDatabase], change: dict[str, Any], field: str
) -> None:
    app, gateway, _ = world
    async with _client(app) as client:
        answer = await client.post("/mobi/v1/payments", json={**BODY, **change}, headers=MOBI)
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid_request"
    assert field in [detail["field"] for detail in body["details"]]
    assert "secret-qr-payload" not in answer.text
    assert gateway.published == []


async def test_an_authorization_is_published_keyed_by_partner_transaction_and_answered(
    world: tuple[FastAPI, FakeGateway, FakeDatabase],
) -> None:
    app, gateway, _ = world
    gateway.reply = _approved()
    async with _client(app) as client:
        answer = await client.post("/mobi/v1/payments", json=BODY, headers=MOBI)
    assert answer.status_code == 200
    assert answer.json() == {
        "transaction_id": 9000001,
        "payment_id": payment_id_for("mobi", "9000001"),
        "status": "approved",
        "decline_reason": None,
        "amount": 15050,
        "currency": "RUB",
    }
    [(topic, key, value)] = gateway.published
    assert (topic, key) == ("payment-requests", "mobi:9000001")
    command = PaymentCommand.model_validate_json(value).root
    assert command.kind == "authorize" and command.transaction_id == "9000001"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("idempotency_conflict", 409),
        ("payment_not_cancellable", 409),
        ("payment_not_found", 404),
        ("payments_unavailable", 503),
        ("unavailable", 503),
    ],
)
async def test_the_processors_error_codes_map_to_the_contracts_statuses(
    world: tuple[FastAPI, FakeGateway, FakeDatabase], code: str, status: int
) -> None:
    app, gateway, _ = world
    gateway.reply = Reply.failure(code, "no")
    async with _client(app) as client:
        answer = await client.post("/mobi/v1/payments/9000001/cancel", headers=MOBI)
    assert answer.status_code == status
    assert answer.json()["code"] == code


async def test_past_the_hold_timeout_the_answer_is_pending(
    world: tuple[FastAPI, FakeGateway, FakeDatabase],
) -> None:
    app, _, database = world
    async with _client(app) as client:
        answer = await client.post("/mobi/v1/payments", json=BODY, headers=MOBI)
        assert answer.status_code == 200
        assert answer.json()["status"] == "pending"
        assert answer.json()["payment_id"] == payment_id_for("mobi", "9000001")
        database.rows[("mobi", "9000001")] = {
            "payment_id": payment_id_for("mobi", "9000001"),
            "status": "declined",
            "decline_reason": "acceptance_timeout",
            "amount": 15050,
            "currency": "RUB",
            "refunded_total": 0,
        }
        later = await client.get("/mobi/v1/payments/9000001", headers=MOBI)
    assert later.json()["decline_reason"] == "acceptance_timeout"


async def test_on_a_memory_only_broker_an_authorization_no_worker_took_is_503_not_pending(
    world: tuple[FastAPI, FakeGateway, FakeDatabase],
) -> None:
    app, gateway, database = world
    gateway.durable = False
    async with _client(app) as client:
        untaken = await client.post("/mobi/v1/payments", json=BODY, headers=MOBI)
        assert untaken.status_code == 503, untaken.text
        assert untaken.json()["code"] == "unavailable" and "Retry-After" in untaken.headers
        database.rows[("mobi", "9000001")] = {
            "payment_id": payment_id_for("mobi", "9000001"),
            "status": "pending",
            "decline_reason": None,
            "amount": 15050,
            "currency": "RUB",
            "refunded_total": 0,
        }
        taken = await client.post("/mobi/v1/payments", json=BODY, headers=MOBI)
    assert taken.status_code == 200 and taken.json()["status"] == "pending"


async def test_status_of_an_unknown_transaction_is_404(
    world: tuple[FastAPI, FakeGateway, FakeDatabase],
) -> None:
    app, _, _ = world
    async with _client(app) as client:
        answer = await client.get("/mobi/v1/payments/123", headers=MOBI)
    assert answer.status_code == 404
    assert answer.json()["code"] == "payment_not_found"


async def test_a_second_partner_is_an_adapter_and_a_key(
    world: tuple[FastAPI, FakeGateway, FakeDatabase],
) -> None:
    app, gateway, _ = world
    gateway.reply = _approved("A-77", "acme")
    charge = {"ref": "A-77", "code": "qr", "sum": 100, "ccy": "RUB", "shop": "s-1"}
    async with _client(app) as client:
        answer = await client.post("/acme/payments", json=charge, headers=ACME)
        with_mobi_key = await client.post("/acme/payments", json=charge, headers=MOBI)
    assert answer.status_code == 200
    assert answer.json()["state"] == "approved"
    assert with_mobi_key.status_code == 401
    [(_, key, _)] = gateway.published
    assert key == "acme:A-77"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "mobi",
        "mobi=",
        "Mobi=k",
        "mobi=s3cr3t,acme=s3cr3t",
        "mobi=s3cr3t x",
        "s3cr3t",
    ],
)
def test_bad_partner_keys_are_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(InvalidPartnerKeys) as caught:
        PartnerKeys.parse(raw)
    assert "PARTNER_KEYS" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_keys_are_kept_hashed_and_matched_per_partner() -> None:
    keys = PartnerKeys.parse("mobi=k1, acme=k2")
    assert keys.partners == ["acme", "mobi"]
    assert (keys.partner_for("k1"), keys.partner_for("k2"), keys.partner_for("k3")) == (
        "mobi",
        "acme",
        None,
    )
    assert "k1" not in repr(vars(keys))
