"""`make demo`: plays the main scenarios against a running `make run` and prints what happened.

Each step says what it expects; the demo exits non-zero if any step is not what
it should be. Ids are fresh on every run, so it can be played again and again.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

import local_defaults

PARTNER_KEY = local_defaults.PARTNER_KEY
INTERNAL_KEY = local_defaults.INTERNAL_KEY


@dataclass
class Step:
    name: str
    ok: bool
    result: str
    latency_ms: float


class Demo:
    def __init__(self, ingress: str, internal: str, sandbox: str, partner_key: str) -> None:
        self.ingress = ingress
        # The driver route and ride events are served by the internal listener only.
        self.internal = internal
        self.service_auth = {"Authorization": f"Bearer {INTERNAL_KEY}"}
        self.sandbox = sandbox
        self.http = httpx.Client(timeout=40)
        self.auth = {"Authorization": f"Bearer {partner_key}"}
        self.run = uuid.uuid4().hex[:6]
        self.steps: list[Step] = []
        self._transaction = int(time.time() * 1000) % 10**9 * 1000

    # -- setup through the sandbox's control API -------------------------------------------
    def driver(self, name: str, acceptance: str = "auto", balance: int = 1_000_000) -> str:
        qr = f"qr-{self.run}-{name}"
        self.http.post(
            f"{self.sandbox}/_sandbox/drivers",
            json={
                "park_id": "demo-park",
                "driver_profile_id": f"{name}-{self.run}",
                "balance": balance,
                "currency": "RUB",
                "qr_code": qr,
                "acceptance": acceptance,
                "id_number": f"DEMO{self.run}{name}"[:20],
                "car_id": f"car-{name}-{self.run}",
                "permit_number": f"P-{self.run}",
                "blocked": False,
            },
        ).raise_for_status()
        return qr

    def order(self, name: str, driver: str) -> str:
        order_id = f"demo-{name}-{self.run}"
        self.http.post(
            f"{self.sandbox}/_sandbox/orders",
            json={
                "order_id": order_id,
                "park_id": "demo-park",
                "driver_profile_id": f"{driver}-{self.run}",
                "car_id": f"car-{driver}-{self.run}",
                "country": "ISR",
                "price": 48.5,
                "meter_price": 52.3,
            },
        ).raise_for_status()
        return order_id

    def next_transaction(self) -> int:
        self._transaction += 1
        return self._transaction

    # -- steps ------------------------------------------------------------------------------
    def step(
        self, name: str, call: Callable[[], httpx.Response], check: Callable[[Any], str | None]
    ) -> Any:
        started = time.perf_counter()
        try:
            response = call()
            body = response.json() if response.content else None
            problem = check((response.status_code, body))
            summary = f"{response.status_code} {_short(body)}"
        except (httpx.HTTPError, ValueError) as exc:
            body, problem, summary = None, f"{type(exc).__name__}: {exc}", "no answer"
        elapsed = (time.perf_counter() - started) * 1000
        self.steps.append(Step(name, problem is None, problem or summary, elapsed))
        return body

    def authorize(self, transaction: int, qr: str, amount: int) -> httpx.Response:
        return self.http.post(
            f"{self.ingress}/mobi/v1/payments",
            headers=self.auth,
            json={
                "transaction_id": transaction,
                "qr_code": qr,
                "amount": amount,
                "currency": "RUB",
                "merchant": {"id": "demo-shop", "name": "Demo shop", "mcc": "5411"},
                "terminal_id": "T-1",
            },
        )

    def ride_event(self, event: str, order_id: str, driver: str) -> httpx.Response:
        return self.http.post(
            f"{self.internal}/internal/v1/ride-events",
            headers=self.service_auth,
            json={
                "event_id": str(uuid.uuid4()),
                "event": event,
                "order_id": order_id,
                "occurred_at": datetime.now(UTC).isoformat(),
                "country": "ISR",
                "park_id": "demo-park",
                "driver_profile_id": f"{driver}-{self.run}",
                "price": 48.5,
                "currency": "ILS",
            },
        )

    def wait_journal(self, service: str, path_part: str, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.http.get(
                f"{self.sandbox}/_sandbox/journal", params={"service": service}
            ).json()["calls"]
            if any(path_part in (c["path"] + str(c.get("body"))) for c in calls):
                return True
            time.sleep(0.3)
        return False


def expect(http_status: int, /, **fields: Any) -> Callable[[Any], str | None]:
    def check(answer: Any) -> str | None:
        got_status, body = answer
        if got_status != http_status:
            return f"expected {http_status}, got {got_status} {_short(body)}"
        for key, value in fields.items():
            if not isinstance(body, dict) or body.get(key) != value:
                got = body.get(key) if isinstance(body, dict) else body
                return f"expected {key}={value!r}, got {got!r}"
        return None

    return check


def _short(body: Any) -> str:
    if isinstance(body, dict):
        keys = ("status", "decline_reason", "code", "price", "refunded_total", "event_id")
        return ", ".join(f"{k}={body[k]}" for k in keys if body.get(k) is not None)
    return str(body)[:60]


def play(demo: Demo) -> None:
    qr = demo.driver("alice")
    tx = demo.next_transaction()
    first = demo.step(
        "payment approved", lambda: demo.authorize(tx, qr, 15050), expect(200, status="approved")
    )
    demo.step(
        "same payment repeated (till retry)",
        lambda: demo.authorize(tx, qr, 15050),
        expect(200, status="approved", payment_id=(first or {}).get("payment_id")),
    )
    demo.step(
        "partial refund",
        lambda: demo.http.post(
            f"{demo.ingress}/mobi/v1/payments/{tx}/refunds",
            headers=demo.auth,
            json={"refund_id": f"r-{demo.run}", "amount": 5000},
        ),
        expect(200, status="succeeded", refunded_total=5000),
    )
    tx_cancel = demo.next_transaction()
    demo.step(
        "payment to cancel",
        lambda: demo.authorize(tx_cancel, qr, 700),
        expect(200, status="approved"),
    )
    demo.step(
        "cancel",
        lambda: demo.http.post(
            f"{demo.ingress}/mobi/v1/payments/{tx_cancel}/cancel", headers=demo.auth
        ),
        expect(200, status="cancelled"),
    )
    poor_qr = demo.driver("bob", balance=100)
    demo.step(
        "declined: insufficient funds",
        lambda: demo.authorize(demo.next_transaction(), poor_qr, 15050),
        expect(200, status="declined", decline_reason="insufficient_funds"),
    )
    manual_qr = demo.driver("carol", acceptance="manual")
    tx_manual = demo.next_transaction()

    def accept_soon() -> httpx.Response:
        import threading

        def accept() -> None:
            time.sleep(1.5)
            state = demo.http.get(
                f"{demo.ingress}/mobi/v1/payments/{tx_manual}", headers=demo.auth
            ).json()
            demo.http.post(f"{demo.sandbox}/_sandbox/payments/{state['payment_id']}/accept")

        threading.Thread(target=accept, daemon=True).start()
        return demo.authorize(tx_manual, manual_qr, 990)

    demo.step(
        "manual acceptance (held until accepted)", accept_soon, expect(200, status="approved")
    )

    demo.driver("dave")
    order = demo.order("ride", "dave")
    demo.step(
        "ride started (meter)", lambda: demo.ride_event("ride_started", order, "dave"), expect(202)
    )
    started = demo.wait_journal("driver-orders-builder", order)
    demo.steps.append(
        Step(
            "meter running, setcar updated",
            started,
            "seen" if started else "no setcar call within 15 s",
            0.0,
        )
    )
    demo.step(
        "ride finished with the meter's price",
        lambda: demo.http.post(
            f"{demo.internal}/driver/v1/meters-integration-api/finish-ride",
            headers={
                "X-YaTaxi-Park-Id": "demo-park",
                "X-YaTaxi-Driver-Profile-Id": f"dave-{demo.run}",
            },
            json={"order_id": order, "price": 48.5},
        ),
        expect(200, price=52.3),
    )
    demo.driver("erin")
    failing = demo.order("fallback", "erin")
    demo.http.post(
        f"{demo.sandbox}/_sandbox/faults",
        json={"service": "monitex", "operation": "/v0.2/rides", "mode": "error", "times": 1},
    ).raise_for_status()
    demo.step(
        "ride started, meter vendor down",
        lambda: demo.ride_event("ride_started", failing, "erin"),
        expect(202),
    )
    pushed = demo.wait_journal("client-notify", f"erin-{demo.run}")
    demo.steps.append(
        Step(
            "driver got the fallback push", pushed, "seen" if pushed else "no push within 15 s", 0.0
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingress", default="http://127.0.0.1:8080")
    parser.add_argument("--internal", default="http://127.0.0.1:8090")
    parser.add_argument("--internal-key", default=INTERNAL_KEY)
    parser.add_argument("--sandbox", default=local_defaults.SANDBOX_URL)
    parser.add_argument("--partner-key", default=PARTNER_KEY)
    args = parser.parse_args()
    demo = Demo(args.ingress, args.internal, args.sandbox, args.partner_key)
    demo.service_auth = {"Authorization": f"Bearer {args.internal_key}"}
    try:
        demo.http.get(f"{args.ingress}/ping").raise_for_status()
    except httpx.HTTPError:
        print(f"nothing answers at {args.ingress}: start the system with `make run` first")
        return 2
    play(demo)
    width = max(len(s.name) for s in demo.steps)
    print(f"\n{'step':<{width}}  ok   {'latency':>9}  result")
    for s in demo.steps:
        mark = "yes" if s.ok else "NO"
        latency = f"{s.latency_ms:7.1f}ms" if s.latency_ms else "        -"
        print(f"{s.name:<{width}}  {mark:<3}  {latency}  {s.result}")
    failed = [s for s in demo.steps if not s.ok]
    print(f"\n{len(demo.steps) - len(failed)} of {len(demo.steps)} steps as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
