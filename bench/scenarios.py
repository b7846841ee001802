"""What `make bench` drives: each scenario an endpoint, a wrk Lua script and its setup.

Every request that must be distinct (a new transaction, a new ride event) gets
its own id from the Lua script, prefixed by the run so runs never collide.
Scenarios on the internal listener (driver route, ride events, probe) are marked
`internal`; ride events carry a service key of `INTERNAL_KEYS`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

import local_defaults
from bench.target import Target

PARTNER_KEY = local_defaults.PARTNER_KEY
INTERNAL_KEY = local_defaults.INTERNAL_KEY
BENCH_QR = "bench-qr-code"
BENCH_PARK, BENCH_DRIVER, BENCH_CAR = "bench-park", "bench-driver", "bench-car"

_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, summary.errors.status + summary.errors.connect
      + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, latency.min))
end
"""


def _lua(body: str) -> str:
    return body + _DONE


def _counter_request(method: str, headers: dict[str, str], body_format: str) -> str:
    """A Lua `request` that formats the body with a fresh counter (and the run prefix)."""
    header_lines = "\n".join(
        f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()
    )
    return _lua(
        f"""
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{header_lines}
local counter = 0
math.randomseed(os.time())
local thread_salt = math.random(1, 1000000000)
request = function()
  counter = counter + 1
  local n = thread_salt * 100000 + counter
  return wrk.format(nil, nil, nil, string.format([[{body_format}]], n, n))
end
"""
    )


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    lua: str
    # Once per run, before the scenario's first cell.
    setup: Callable[[Target], None] | None = None
    # Served by the internal listener (driver route, ride events, probe), not the partner one.
    internal: bool = False
    # Each cell finishes meter rides of its own, started before it (bench/rides.py).
    fresh_rides: bool = False

    def script(self, prefix: str | None = None) -> str:
        return self.lua.replace("{prefix}", prefix or uuid.uuid4().hex[:8])


def _post_static(body: str, headers: dict[str, str] | None = None) -> str:
    header_lines = "\n".join(
        f'wrk.headers["{name}"] = "{value}"' for name, value in (headers or {}).items()
    )
    return _lua(
        f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{header_lines}
wrk.body = [[{body}]]
"""
    )


def setup_payments_driver(target: Target) -> None:
    httpx.post(
        f"{target.sandbox}/_sandbox/drivers",
        json={
            "park_id": BENCH_PARK,
            "driver_profile_id": BENCH_DRIVER,
            "balance": 10**15,
            "currency": "RUB",
            "qr_code": BENCH_QR,
            "acceptance": "auto",
            "id_number": "BENCH000000",
            "car_id": BENCH_CAR,
            "permit_number": "BENCH-PERMIT",
            "blocked": False,
        },
        timeout=10,
    ).raise_for_status()


def _authorize_body(transaction: str) -> str:
    return json.dumps(
        {
            "transaction_id": "%TX%",
            "qr_code": BENCH_QR,
            "amount": 100,
            "currency": "RUB",
            "merchant": {"id": "bench-shop", "name": "Bench shop", "mcc": "5411"},
        }
    ).replace('"%TX%"', transaction)


def _setup_repeated_authorize(target: Target) -> None:
    setup_payments_driver(target)
    httpx.post(
        f"{target.partner}/mobi/v1/payments",
        content=_authorize_body(str(REPEATED_TRANSACTION)),
        headers={"Authorization": f"Bearer {PARTNER_KEY}", "Content-Type": "application/json"},
        timeout=30,
    ).raise_for_status()


REPEATED_TRANSACTION = int(time.time() * 1000) % 10**12 + 10**12


def ride_event(event: str, order_id: str, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event": event,
        "order_id": order_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "country": "ISR",
        "park_id": BENCH_PARK,
        "driver_profile_id": BENCH_DRIVER,
        "price": 48.5,
        "currency": "ILS",
    }


def _ride_event_body(event: str, order_id: str) -> str:
    return json.dumps(ride_event(event, order_id, "%EV%"))


FINISH_ORDER_STEM = "bench-finish-{prefix}-"


def finish_order_id(prefix: str, n: int) -> str:
    """The n-th (from 1) order a finish-ride cell finishes; the Lua script counts the same."""
    return FINISH_ORDER_STEM.replace("{prefix}", prefix) + str(n)


_FINISH_SCRIPT = _lua(
    f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-YaTaxi-Park-Id"] = "{BENCH_PARK}"
wrk.headers["X-YaTaxi-Driver-Profile-Id"] = "{BENCH_DRIVER}"
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format([[{{"order_id": "{FINISH_ORDER_STEM}%d", "price": 48.5}}]], counter)
  return wrk.format(nil, nil, nil, body)
end
"""
)

SCENARIOS: dict[str, Scenario] = {
    "ping": Scenario("ping", "/ping", _lua('wrk.method = "GET"\n')),
    "probe": Scenario("probe", "/internal/v1/probe", _post_static("{}"), internal=True),
    "authorize": Scenario(
        "authorize",
        "/mobi/v1/payments",
        _counter_request("POST", {"Authorization": f"Bearer {PARTNER_KEY}"}, _authorize_body("%d")),
        setup_payments_driver,
    ),
    "authorize-repeat": Scenario(
        "authorize-repeat",
        "/mobi/v1/payments",
        _post_static(
            _authorize_body(str(REPEATED_TRANSACTION)),
            {"Authorization": f"Bearer {PARTNER_KEY}"},
        ),
        _setup_repeated_authorize,
    ),
    "finish-ride": Scenario(
        "finish-ride",
        "/driver/v1/meters-integration-api/finish-ride",
        _FINISH_SCRIPT,
        setup_payments_driver,
        internal=True,
        fresh_rides=True,
    ),
    "ride-started": Scenario(
        "ride-started",
        "/internal/v1/ride-events",
        _counter_request(
            "POST",
            {"Authorization": f"Bearer {INTERNAL_KEY}"},
            _ride_event_body("ride_started", "bench-start-{prefix}-%d").replace(
                '"%EV%"', '"bench-ev-{prefix}-%d"'
            ),
        ),
        setup_payments_driver,
        internal=True,
    ),
}
