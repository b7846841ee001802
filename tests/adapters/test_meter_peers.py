"""order-core, fleet-vehicles, driver-profiles, personal, driver-orders-builder and
client-notify adapters against mocks: request shapes per contract 5, answers read,
errors mapped."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from processors.adapters.client_notify import HttpDriverNotifier
from processors.adapters.driver_orders_builder import HttpDriverOrders
from processors.adapters.driver_profiles import HttpIdentityDocs
from processors.adapters.fleet_vehicles import HttpVehicleRegistry
from processors.adapters.order_core import HttpOrderStore
from processors.adapters.personal import HttpPersonalData
from processors.meters.domain import Performer
from processors.meters.errors import (
    PeerNotFound,
    PeerRejected,
    PeerUnavailable,
    RevisionConflict,
)

BASE = "http://peer.test"


class Mock:
    """A peer answering `json` (or `status`), recording every request."""

    def __init__(self, answer: Any = None, status: int = 200) -> None:
        self.answer = answer if answer is not None else {}
        self.status = status
        self.requests: list[httpx.Request] = []

    def client(self) -> httpx.AsyncClient:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(self.status, json=self.answer)

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))

    @property
    def body(self) -> Any:
        return json.loads(self.requests[-1].content)

    @property
    def url(self) -> str:
        return str(self.requests[-1].url)


Make = Callable[[httpx.AsyncClient, str, float], Any]

ORDER_ANSWER = {
    "document": {
        "_id": "o-1",
        "performer": {"park_id": "p-1", "driver_profile_id": "d-1", "car_id": "c-1"},
        "country": "ISR",
        "price": 48.5,
        "external_meter_ride_id": "mtx-1",
    },
    "revision": {"order.version": 3},
}


async def test_order_core_reads_the_performer_and_meter_ride() -> None:
    peer = Mock(ORDER_ANSWER)
    order = await HttpOrderStore(peer.client(), BASE, 1).get_order("o-1")

    assert peer.url == f"{BASE}/internal/processing/v1/order-proc/get-fields?order_id=o-1"
    assert set(peer.body["fields"]) >= {"performer", "country", "external_meter_ride_id"}
    assert order.performer == Performer("p-1", "d-1")
    assert (order.car_id, order.country, order.price) == ("c-1", "ISR", Decimal("48.5"))
    assert (order.external_meter_ride_id, order.revision) == ("mtx-1", {"order.version": 3})


async def test_order_core_writes_the_ride_id_with_the_revision() -> None:
    peer = Mock({"revision": {"order.version": 4}})
    await HttpOrderStore(peer.client(), BASE, 1).set_external_meter_ride_id(
        "o-1", {"order.version": 3}, "mtx-1"
    )
    assert peer.url == f"{BASE}/internal/processing/v1/order-proc/set-fields?order_id=o-1"
    assert peer.body == {
        "revision": {"order.version": 3},
        "update": {"$set": {"external_meter_ride_id": "mtx-1"}},
    }


async def test_order_core_errors() -> None:
    store = HttpOrderStore(Mock({"code": "order_not_found"}, 404).client(), BASE, 1)
    with pytest.raises(PeerNotFound):
        await store.get_order("o-x")
    conflict = HttpOrderStore(Mock({"code": "revision_mismatch"}, 409).client(), BASE, 1)
    with pytest.raises(RevisionConflict):
        await conflict.set_external_meter_ride_id("o-1", {}, "r")
    broken = HttpOrderStore(Mock({"document": {}}).client(), BASE, 1)
    with pytest.raises(PeerUnavailable):
        await broken.get_order("o-1")


async def test_fleet_vehicles_gives_the_permit() -> None:
    peer = Mock({"vehicles": [{"park_id_car_id": "p-1_c-1", "data": {"permit_num": "PRM-7"}}]})
    permit = await HttpVehicleRegistry(peer.client(), BASE, 1).permit_number("p-1", "c-1")
    assert permit == "PRM-7"
    assert peer.url == f"{BASE}/v1/vehicles/retrieve"
    assert peer.body["id_in_set"] == ["p-1_c-1"]


@pytest.mark.parametrize("answer", [{"vehicles": []}, {"vehicles": [{"data": {}}]}])
async def test_fleet_vehicles_without_a_permit_is_not_found(answer: dict[str, Any]) -> None:
    with pytest.raises(PeerNotFound):
        await HttpVehicleRegistry(Mock(answer).client(), BASE, 1).permit_number("p", "c")


async def test_driver_profiles_gives_the_document_pd_id() -> None:
    answer = {
        "profiles": [
            {
                "park_driver_profile_id": "p-1_d-1",
                "data": [{"type": "passport", "number_pd_id": "pd-9"}],
            }
        ]
    }
    peer = Mock(answer)
    pd_id = await HttpIdentityDocs(peer.client(), BASE, 1).identity_number_pd_id("p-1", "d-1")
    assert pd_id == "pd-9"
    assert peer.url == f"{BASE}/v1/identity-docs/retrieve_by_park_driver_profile_id"
    assert peer.body == {"park_driver_profile_ids": ["p-1_d-1"]}


@pytest.mark.parametrize(
    "answer", [{"profiles": []}, {"profiles": [{"park_driver_profile_id": "x", "data": []}]}]
)
async def test_driver_profiles_without_a_document_is_not_found(answer: dict[str, Any]) -> None:
    with pytest.raises(PeerNotFound):
        await HttpIdentityDocs(Mock(answer).client(), BASE, 1).identity_number_pd_id("p", "d")


async def test_personal_gives_the_number_hidden() -> None:
    peer = Mock({"id": "pd-9", "value": "ID-SECRET-5"})
    number = await HttpPersonalData(peer.client(), BASE, 1).identity_number("pd-9")
    assert number.reveal() == "ID-SECRET-5"
    assert "ID-SECRET-5" not in repr(number)
    assert peer.url == f"{BASE}/v1/identifications/retrieve"
    assert peer.body == {"id": "pd-9"}


async def test_personal_errors_never_carry_the_number() -> None:
    # An answer of the wrong shape holding the number: the error says only "unreadable".
    peer = Mock({"id": "pd-9", "value": {"nested": "ID-SECRET-5"}})
    with pytest.raises(PeerUnavailable) as caught:
        await HttpPersonalData(peer.client(), BASE, 1).identity_number("pd-9")
    assert "ID-SECRET-5" not in str(caught.value)
    with pytest.raises(PeerNotFound):
        await HttpPersonalData(Mock({"code": "not_found"}, 404).client(), BASE, 1).identity_number(
            "x"
        )


async def test_setcar_update_lite_body() -> None:
    peer = Mock({})
    await HttpDriverOrders(peer.client(), BASE, 1).set_external_meter_run("p-1", "d-1", "o-1", True)
    assert peer.url == f"{BASE}/v1/setcar/update-lite"
    assert peer.body == {
        "park_id": "p-1",
        "driver_profile_id": "d-1",
        "order_id": "o-1",
        "changes": {"is_external_meter_run": True},
    }


async def test_push_body() -> None:
    peer = Mock({"notification_id": "n-1"})
    await HttpDriverNotifier(peer.client(), BASE, 1).meter_start_failed("p-1", "d-1", "o-1")
    assert peer.url == f"{BASE}/v2/push"
    body = peer.body
    assert (body["service"], body["client_id"], body["intent"]) == (
        "taximeter",
        "p-1-d-1",
        "external_meter_failed",
    )
    assert body["notification"]["text"]


@pytest.mark.parametrize("status", [400, 500])
async def test_setcar_and_push_errors(status: int) -> None:
    expected = PeerRejected if status < 500 else PeerUnavailable
    with pytest.raises(expected):
        await HttpDriverOrders(Mock({}, status).client(), BASE, 1).set_external_meter_run(
            "p", "d", "o", False
        )
    with pytest.raises(expected):
        await HttpDriverNotifier(Mock({}, status).client(), BASE, 1).meter_start_failed(
            "p", "d", "o"
        )
