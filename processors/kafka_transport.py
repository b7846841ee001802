"""Faust's aiokafka driver with a configurable consumer fetch wait.

faust-streaming hard-codes `fetch_max_wait_ms=1500` when it builds the worker's
consumer. Our embedded broker holds every fetch for its full wait, so that
would cost 1.5 s per hop. aiokafka reads the value when the consumer starts,
so setting it right after Faust builds the consumer is enough. The transport is
registered under the `fastkafka://` URL scheme (see `broker_url`).
"""

from __future__ import annotations

from typing import Any

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


class Transport(faust_aiokafka.Transport):
    Consumer = FastFetchConsumer


def broker_urls(bootstrap_servers: str, wait_ms: int) -> list[str]:
    """Register the transport and return the Faust broker URLs that select it."""
    global fetch_max_wait_ms
    fetch_max_wait_ms = wait_ms
    # Faust's registry resolves "module:Class" strings, not classes.
    drivers.TRANSPORTS[SCHEME] = f"{__name__}:Transport"
    return [f"{SCHEME}://{server.strip()}" for server in bootstrap_servers.split(",")]
