"""The maximum response time over a recent window, with old spikes ageing out."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from observability.metrics import WindowedMax


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _exported(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_the_largest_recent_value_is_exported_per_label_set() -> None:
    registry, clock = CollectorRegistry(), Clock()
    latency = WindowedMax("t_max_seconds", "t", ["handler"], registry=registry, clock=clock)
    for value in (0.1, 0.7, 0.3):
        latency.observe(["/a"], value)
    latency.observe(["/b"], 0.05)
    text = _exported(registry)
    assert 't_max_seconds{handler="/a"} 0.7' in text
    assert 't_max_seconds{handler="/b"} 0.05' in text


def test_a_spike_older_than_the_window_ages_out() -> None:
    registry, clock = CollectorRegistry(), Clock()
    latency = WindowedMax(
        "t_max_seconds", "t", ["handler"], window_s=60, registry=registry, clock=clock
    )
    latency.observe(["/a"], 5.0)
    clock.now += 30
    latency.observe(["/a"], 0.2)
    assert 't_max_seconds{handler="/a"} 5.0' in _exported(registry)
    clock.now += 31
    assert 't_max_seconds{handler="/a"} 0.2' in _exported(registry)
    clock.now += 120
    assert 'handler="/a"' not in _exported(registry)
