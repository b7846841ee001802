"""Faust's aiokafka driver with a configurable consumer fetch wait and safe commits.

faust-streaming hard-codes `fetch_max_wait_ms=1500` when it builds the worker's
consumer. Our embedded broker holds every fetch for its full wait, so that
would cost 1.5 s per hop. aiokafka reads the value when the consumer starts,
so setting it right after Faust builds the consumer is enough. The transport is
registered under the `fastkafka://` URL scheme (see `broker_url`).

Where a partition is committed is asked of the app's `commit_points`
(processors/keyed_concurrency.py) rather than computed by faust-streaming 0.15 from
its acked offsets, which can pass an unfinished message: with the committed offset C
unfinished and C+1 acked it commits C+2 (its gap test is `> 1`), with no commit yet
or C = 0 it commits the first run of acked offsets whatever lies below, and after a
gap of several offsets it did not see (a control batch) it never commits again.
"""

from __future__ import annotations

from typing import Any, cast

import aiokafka
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "fastkafka"
fetch_max_wait_ms = 5


class FastFetchConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms
        return consumer


class FastFetchConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> FastFetchConsumerThread:
        return FastFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _new_offset(self, tp: Any) -> int | None:
        commit_points = getattr(self.app, "commit_points", None)
        if commit_points is None:
            return super()._new_offset(tp)
        # Faust's own record of acked offsets is not used: keep it from growing.
        self._acked[tp].clear()
        self._acked_index[tp].clear()
        return cast(int | None, commit_points.committable(tp))


class Transport(faust_aiokafka.Transport):
    Consumer = FastFetchConsumer


def broker_urls(bootstrap_servers: str, wait_ms: int) -> list[str]:
    """Register the transport and return the Faust broker URLs that select it."""
    global fetch_max_wait_ms
    fetch_max_wait_ms = wait_ms
    # Faust's registry resolves "module:Class" strings, not classes.
    drivers.TRANSPORTS[SCHEME] = f"{__name__}:Transport"
    return [f"{SCHEME}://{server.strip()}" for server in bootstrap_servers.split(",")]
