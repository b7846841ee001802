"""Metric kinds prometheus-client lacks: the maximum over a recent window.

The designs ask for the average *and the maximum* response time. A histogram
gives the average (sum / count); `WindowedMax` keeps, per label set, the
largest value seen in each of the last `window_s` seconds and exports the
maximum of those as a gauge, so an old spike ages out.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import REGISTRY, CollectorRegistry, GaugeMetricFamily
from prometheus_client.registry import Collector


class _SecondBuckets:
    def __init__(self, window_s: int) -> None:
        self.seconds = [-1] * window_s
        self.maxima = [0.0] * window_s

    def observe(self, second: int, value: float) -> None:
        slot = second % len(self.seconds)
        if self.seconds[slot] != second:
            self.seconds[slot] = second
            self.maxima[slot] = value
        elif value > self.maxima[slot]:
            self.maxima[slot] = value

    def maximum(self, now_second: int) -> float:
        oldest = now_second - len(self.seconds) + 1
        values = [m for s, m in zip(self.seconds, self.maxima, strict=True) if s >= oldest]
        return max(values) if values else math.nan


class WindowedMax(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        window_s: int = 60,
        registry: CollectorRegistry | None = REGISTRY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._documentation = f"{documentation} (maximum over the last {window_s} s)"
        self._labelnames = tuple(labelnames)
        self._window_s = window_s
        self._clock = clock
        self._buckets: dict[tuple[str, ...], _SecondBuckets] = {}
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def observe(self, labels: Sequence[str], value: float) -> None:
        key = tuple(labels)
        second = int(self._clock())
        with self._lock:
            buckets = self._buckets.get(key)
            if buckets is None:
                buckets = self._buckets[key] = _SecondBuckets(self._window_s)
            buckets.observe(second, value)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._documentation, labels=self._labelnames)
        now_second = int(self._clock())
        with self._lock:
            for key, buckets in self._buckets.items():
                maximum = buckets.maximum(now_second)
                if not math.isnan(maximum):
                    family.add_metric(list(key), maximum)
        yield family
