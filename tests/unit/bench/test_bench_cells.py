"""The bench's own arithmetic: slow-cell shares, rides per finish-ride cell, broker choice."""

from __future__ import annotations

import pytest

from bench.cells import GUESS_MAX_RPS, Cells
from bench.scenarios import SCENARIOS, finish_order_id
from bench.slow_peers import SLOW_PEERS, SlowCell
from bench.system import broker_settings
from bench.target import Target
from bench.wrk import LoadResult

TARGET = Target("http://partner", "http://internal", "http://sandbox")


def _result(concurrency: int, requests: int, p99_ms: float, errors: int = 0) -> LoadResult:
    return LoadResult(concurrency, requests, 10.0, errors, p99_ms / 2, p99_ms * 0.9, p99_ms, p99_ms)


def test_a_slow_cell_is_a_share_of_its_instant_cell() -> None:
    cell = SlowCell(SLOW_PEERS["payments"], _result(128, 4000, 250.0), _result(128, 3400, 400.0))

    figures = cell.as_json()

    assert figures["throughput_share"] == 0.85
    assert figures["p99_share"] == 1.6
    assert figures["p99_added_ms"] == 150.0
    assert figures["scenario"] == "authorize"
    assert figures["peer"] == "contractor-merch-payments"
    assert (figures["median_ms"], figures["p99_ms"]) == (50, 200)
    assert figures["instant"]["rps"] == 400.0 and figures["slow"]["rps"] == 340.0


def test_slow_peers_are_the_issues_profiles() -> None:
    monitex = SLOW_PEERS["monitex"]
    assert (monitex.service, monitex.median_ms, monitex.p99_ms) == ("monitex", 300, 1000)
    assert monitex.scenario in SCENARIOS and SCENARIOS[monitex.scenario].fresh_rides


def test_the_finish_script_names_the_rides_started_for_its_cell() -> None:
    script = SCENARIOS["finish-ride"].script("abc123")
    assert finish_order_id("abc123", 7) == "bench-finish-abc123-7"
    assert '"order_id": "bench-finish-abc123-%d"' in script


def test_internal_scenarios_go_to_the_internal_listener() -> None:
    cells = Cells(TARGET, seconds=10)
    assert cells.url(SCENARIOS["probe"]).startswith("http://internal/")
    assert cells.url(SCENARIOS["finish-ride"]).startswith("http://internal/")
    assert cells.url(SCENARIOS["authorize"]).startswith("http://partner/")


def test_rides_per_cell_follow_the_rate_seen_and_grow_with_connections() -> None:
    cells = Cells(TARGET, seconds=10)
    finish = SCENARIOS["finish-ride"]
    first = cells._rides_for(finish, 32)
    cells._best["finish-ride"] = (100.0, 8)

    assert first >= GUESS_MAX_RPS * 10
    assert cells._rides_for(finish, 8) == 1520  # 100 rps x 10 s x 1.5 + 20
    assert cells._rides_for(finish, 4) == 1520
    assert cells._rides_for(finish, 32) > cells._rides_for(finish, 8)
    assert Cells(TARGET, seconds=10, rides=300)._rides_for(finish, 128) == 300


def test_tansu_can_always_be_asked_for() -> None:
    settings = broker_settings("tansu")
    assert settings == {} or settings["broker"] == "tansu"


def test_an_unknown_broker_is_refused() -> None:
    with pytest.raises(SystemExit):
        broker_settings("rabbitmq")


def test_slow_cells_by_default_follow_the_chosen_scenarios() -> None:
    from argparse import Namespace

    from bench.run import _slow_peers

    chosen = _slow_peers(Namespace(slow=None), ["authorize", "probe"])
    assert [peer.name for peer in chosen] == ["payments"]
    meters = _slow_peers(Namespace(slow=None), ["finish-ride"])
    assert [peer.scenario for peer in meters] == ["finish-ride", "ride-start"]
    assert _slow_peers(Namespace(slow=["none"]), ["authorize"]) == []
    assert [p.name for p in _slow_peers(Namespace(slow=["monitex"]), ["ping"])] == ["monitex"]
