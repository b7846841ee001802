"""Consumer lag per topic, read from Faust's monitor when /metrics is scraped.

Lag = the partition's end offset minus the offset this worker last read, summed over
the partitions the worker holds, and over the slot topics of a rotated topic
(messaging/rotation.py), reported under its topics.yaml name. (The admin client's
consumer-group offsets call fails on the embedded broker, so the lag is computed here.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import faust
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from messaging.topics import base_topic


class ConsumerLag(Collector):
    def __init__(self, app: faust.App) -> None:
        self._app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "kafka_consumer_lag",
            "Messages not yet read by this worker, per topic",
            labels=["topic"],
        )
        monitor = self._app.monitor
        end_offsets = dict(monitor.tp_end_offsets or {})
        read_offsets = dict(monitor.tp_read_offsets or {})
        lag: dict[str, int] = defaultdict(int)
        for tp, end in end_offsets.items():
            # Faust's read offset is that of the last message read; the next one is +1.
            next_to_read = read_offsets[tp] + 1 if tp in read_offsets else 0
            lag[base_topic(tp.topic)] += max(0, end - next_to_read)
        for topic, value in sorted(lag.items()):
            family.add_metric([topic], value)
        yield family


def register_consumer_lag(app: faust.App) -> None:
    REGISTRY.register(ConsumerLag(app))
