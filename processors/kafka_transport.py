"""Faust's aiokafka driver: a configurable fetch wait, safe commits, durable producers.

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

Faust asks for `acks=all` and an idempotent producer only inside transactions; our
producer asks for them always where the broker supports it (`broker_urls(idempotent=)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import aiokafka
import faust
import structlog
from aiokafka import TopicPartition as TP
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

from messaging.kafka_auth import KafkaAuth

log = structlog.get_logger(__name__)

SCHEME = "fastkafka"
fetch_max_wait_ms = 5
idempotent_producer = False


class FastFetchConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        fixed: Mapping[TP, int] = await self.call_thread(
            distrust_beyond_end, self._ensure_consumer(), committed
        )
        return fixed


async def distrust_beyond_end(
    consumer: aiokafka.AIOKafkaConsumer, committed: Mapping[TP, int]
) -> Mapping[TP, int]:
    """Committed offsets with those beyond their partition's end replaced by its beginning.

    A commit beyond the end was made against another log: a broker that lost its data
    (Tansu keeps none across a restart) and got the group's offsets from a client of the
    old one. Faust skips every record below the committed offset, so trusting it would
    silently drop the commands written since. Reading from the beginning instead is safe:
    every handler is idempotent.
    """
    known = [tp for tp, offset in committed.items() if offset is not None and offset > 0]
    if not known:
        return committed
    ends = await consumer.end_offsets(known)
    beyond = [tp for tp in known if committed[tp] > ends[tp]]
    if not beyond:
        return committed
    starts = await consumer.beginning_offsets(beyond)
    fixed = dict(committed)
    for tp in beyond:
        log.warning(
            "committed_offset_beyond_log_end",
            topic=tp.topic,
            partition=tp.partition,
            committed=committed[tp],
            log_end=ends[tp],
            reading_from=starts[tp],
        )
        consumer.seek(tp, starts[tp])
        fixed[tp] = starts[tp]
    return fixed


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


class DurableProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        extra = {**super()._settings_extra(), "acks": "all"}
        if idempotent_producer:
            extra["enable_idempotence"] = True
        return extra


class Transport(faust_aiokafka.Transport):
    Consumer = FastFetchConsumer
    Producer = DurableProducer


def credentials(auth: KafkaAuth) -> faust.SASLCredentials | None:
    """Faust's form of the worker's SASL identity (its consumer and producer use it)."""
    if not auth.enabled:
        return None
    return faust.SASLCredentials(
        username=auth.username, password=auth.password, mechanism=auth.mechanism
    )


def broker_urls(bootstrap_servers: str, wait_ms: int, *, idempotent: bool = False) -> list[str]:
    """Register the transport and return the Faust broker URLs that select it."""
    global fetch_max_wait_ms, idempotent_producer
    fetch_max_wait_ms = wait_ms
    idempotent_producer = idempotent
    # Faust's registry resolves "module:Class" strings, not classes.
    drivers.TRANSPORTS[SCHEME] = f"{__name__}:Transport"
    return [f"{SCHEME}://{server.strip()}" for server in bootstrap_servers.split(",")]
