"""Faust's aiokafka driver with a configurable consumer fetch wait and durable producers.

faust-streaming hard-codes `fetch_max_wait_ms=1500` when it builds the worker's
consumer. Our embedded broker holds every fetch for its full wait, so that
would cost 1.5 s per hop. aiokafka reads the value when the consumer starts,
so setting it right after Faust builds the consumer is enough.

Faust asks for `acks=all` and an idempotent producer only inside transactions; our
producer asks for them always where the broker supports it (`broker_urls(idempotent=)`).
The transport is registered under the `fastkafka://` URL scheme (see `broker_urls`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiokafka
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "fastkafka"
fetch_max_wait_ms = 5
idempotent_producer = False


class FastFetchConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms
        return consumer


class FastFetchConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> FastFetchConsumerThread:
        return FastFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)


class DurableProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        extra = {**super()._settings_extra(), "acks": "all"}
        if idempotent_producer:
            extra["enable_idempotence"] = True
        return extra


class Transport(faust_aiokafka.Transport):
    Consumer = FastFetchConsumer
    Producer = DurableProducer


def broker_urls(bootstrap_servers: str, wait_ms: int, *, idempotent: bool = False) -> list[str]:
    """Register the transport and return the Faust broker URLs that select it."""
    global fetch_max_wait_ms, idempotent_producer
    fetch_max_wait_ms = wait_ms
    idempotent_producer = idempotent
    # Faust's registry resolves "module:Class" strings, not classes.
    drivers.TRANSPORTS[SCHEME] = f"{__name__}:Transport"
    return [f"{SCHEME}://{server.strip()}" for server in bootstrap_servers.split(",")]
