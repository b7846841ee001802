"""Measuring cells: one scenario at one concurrency for a few seconds, with its setup.

A scenario's setup runs once, then a short warm-up; a finish-ride cell first starts
meter rides of its own (bench/rides.py), as many as the cell is expected to finish.
With a CPU meter, each process's CPU is read just before and after the wrk run.
"""

from __future__ import annotations

import math
import time
import uuid
from contextlib import nullcontext

from bench.cpu import CellCpu, CpuMeter
from bench.ride_starts import RIDE_START, measure_ride_starts
from bench.rides import start_finish_rides, wait_for_ride_events
from bench.scenarios import SCENARIOS, Scenario, setup_payments_driver
from bench.slow_peers import SlowCell, SlowPeer, slowed
from bench.target import Target
from bench.wrk import LoadResult, run_wrk

# Rides started per cell: the best rate seen so far for the scenario (or a first guess)
# times the cell's length, with room to spare; a cell that outruns them gets 404s and
# is measured again.
RIDES_MARGIN = 1.5
GUESS_RPS_PER_CONNECTION = 25.0
GUESS_MAX_RPS = 350.0
ATTEMPTS = 3
MAX_RIDES = 20_000


class Cells:
    def __init__(
        self,
        target: Target,
        seconds: int,
        rides: int | None = None,
        meter: CpuMeter | None = None,
    ) -> None:
        self.target = target
        self.meter = meter
        self.seconds = seconds
        self.rides = rides  # fixed rides per finish-ride cell; None: sized from the rates seen
        self._ready: set[str] = set()
        # Per scenario: the best rate seen so far and the concurrency it was seen at.
        self._best: dict[str, tuple[float, int]] = {}

    def url(self, scenario: Scenario) -> str:
        return f"{self.target.base_for(scenario.internal)}{scenario.path}"

    def _prepare(self, scenario: Scenario) -> None:
        if scenario.name in self._ready:
            return
        if scenario.setup is not None:
            scenario.setup(self.target)
        run_wrk(self.url(scenario), 4, 2, scenario.script())  # warm-up, not reported
        self._ready.add(scenario.name)

    def _rides_for(self, scenario: Scenario, concurrency: int) -> int:
        if self.rides is not None:
            return self.rides
        rate = min(GUESS_MAX_RPS, GUESS_RPS_PER_CONNECTION * concurrency)
        if scenario.name in self._best:
            best, seen_at = self._best[scenario.name]
            # More connections than seen: the rate may grow with them, up to the guess's cap.
            more = min(GUESS_MAX_RPS, best * concurrency / seen_at)
            rate = best if concurrency <= seen_at else max(best, more)
        return min(MAX_RIDES, math.ceil(rate * self.seconds * RIDES_MARGIN) + 20)

    def _script(self, scenario: Scenario, concurrency: int) -> tuple[str, int | None]:
        """The cell's wrk script, and how many rides were started for it (None: no rides)."""
        if not scenario.fresh_rides:
            return scenario.script(), None
        prefix = uuid.uuid4().hex[:8]
        rides = self._rides_for(scenario, concurrency)
        took = start_finish_rides(self.target, prefix, rides)
        print(f"  {scenario.name} c={concurrency}: {rides} meter rides started in {took:.0f} s")
        return scenario.script(prefix), rides

    def _run_wrk(
        self, url: str, concurrency: int, script: str
    ) -> tuple[LoadResult, CellCpu | None]:
        if self.meter is None:
            return run_wrk(url, concurrency, self.seconds, script), None
        before = self.meter.read()
        result = run_wrk(url, concurrency, self.seconds, script)
        return result, CellCpu.of(result, before, self.meter.read())

    def _measure(
        self, scenario: Scenario, concurrency: int, peer: SlowPeer | None = None
    ) -> tuple[LoadResult, CellCpu | None]:
        """One cell (with `peer` slow, if given); a finish-ride cell that outran its rides
        finished some orders with no ride (fast 404s): measured again with more rides."""
        for attempt in range(1, ATTEMPTS + 1):
            script, rides = self._script(scenario, concurrency)  # rides start at full speed
            with slowed(self.target.sandbox, peer) if peer else nullcontext():
                result, cpu = self._run_wrk(self.url(scenario), concurrency, script)
            best = self._best.get(scenario.name)
            if best is None or result.rps > best[0]:
                self._best[scenario.name] = (result.rps, concurrency)
            if rides is None or result.requests <= rides:
                break
            again = attempt < ATTEMPTS and self.rides is None  # --rides fixes the count
            print(
                f"  {scenario.name} c={concurrency}: {result.requests - rides} finishes outran "
                f"the {rides} rides started (404s, counted as errors): "
                + ("measuring again with more" if again else "raise --rides")
            )
            if not again:
                break
        time.sleep(1)
        return result, cpu

    def measure(self, name: str, concurrency: int) -> LoadResult:
        return self.measure_with_cpu(name, concurrency)[0]

    def measure_with_cpu(self, name: str, concurrency: int) -> tuple[LoadResult, CellCpu | None]:
        """The cell, and each process's CPU over it (None: no meter)."""
        self._prepare(SCENARIOS[name])
        return self._measure(SCENARIOS[name], concurrency)

    def _ride_starts(self, concurrency: int, peer: SlowPeer | None = None) -> LoadResult:
        if RIDE_START not in self._ready:  # the bench driver; no warm-up, which would
            # leave ride events for unknown orders queued ahead of the cell's
            setup_payments_driver(self.target)
            self._ready.add(RIDE_START)
        wait_for_ride_events(self.target)
        prefix = uuid.uuid4().hex[:8]
        with slowed(self.target.sandbox, peer) if peer else nullcontext():
            result = measure_ride_starts(self.target, prefix, concurrency, self.seconds)
        time.sleep(1)
        return result

    def slow_cell(self, peer: SlowPeer, concurrency: int) -> SlowCell:
        """The peer's scenario with every peer instant, then with the peer slow."""
        if peer.scenario == RIDE_START:
            return SlowCell(
                peer, self._ride_starts(concurrency), self._ride_starts(concurrency, peer)
            )
        instant = self.measure(peer.scenario, concurrency)
        slow, _ = self._measure(SCENARIOS[peer.scenario], concurrency, peer)
        return SlowCell(peer, instant, slow)
