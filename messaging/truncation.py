"""Empty a topic on the embedded broker without moving its offsets.

Tansu (memory storage) keeps every produced batch as an object and, on every fetch that
returns data, lists all the batch objects of the partition read; it has neither
DeleteRecords nor retention, so a busy topic slows the broker in proportion to all it ever
held (bench/broker_scan.py measures it). Deleting the topic is the only way to free it.

`truncate_topic` deletes a topic, creates it again and writes at offset 0 of each
partition one control batch whose offset range covers the old offsets, so each partition's
next offset is what it was before. Consumers keep their positions, Faust's included, and
never see the marker: Kafka clients skip control batches. Only for a topic nobody writes
to while this runs (see messaging/rotation.py).
"""

from __future__ import annotations

import contextlib
import struct
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import UnknownTopicOrPartitionError
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.util import calc_crc32c, encode_varint

_CONTROL_ATTRIBUTE = 0x20
_COMMIT_MARKER_KEY = struct.pack(">hh", 0, 1)  # control record: version 0, type commit
_COMMIT_MARKER_VALUE = struct.pack(">hi", 0, 0)  # version 0, coordinator epoch 0
# attributes .. base sequence, then the record count (the part the CRC covers starts here)
_AFTER_CRC = struct.Struct(">hiqqqhii")
_BEFORE_CRC = struct.Struct(">qiibI")  # base offset, length, leader epoch, magic, crc


class TruncationError(RuntimeError):
    """The topic could not be emptied as asked; what it holds is unchanged or explained."""


def offset_marker_batch(next_offset: int) -> bytes:
    """A v2 control batch at base offset 0 whose last offset is `next_offset - 1`."""
    if next_offset < 1:
        raise ValueError("a marker needs at least one offset to cover")
    last_delta = next_offset - 1
    now_ms = int(time.time() * 1000)
    record = bytearray()
    record.append(0)  # record attributes
    encode_varint(0, record.append)  # timestamp delta
    encode_varint(last_delta, record.append)  # offset delta
    encode_varint(len(_COMMIT_MARKER_KEY), record.append)
    record += _COMMIT_MARKER_KEY
    encode_varint(len(_COMMIT_MARKER_VALUE), record.append)
    record += _COMMIT_MARKER_VALUE
    encode_varint(0, record.append)  # no headers
    framed = bytearray()
    encode_varint(len(record), framed.append)
    framed += record
    body = _AFTER_CRC.pack(_CONTROL_ATTRIBUTE, last_delta, now_ms, now_ms, -1, -1, -1, 1) + framed
    length = 4 + 1 + 4 + len(body)  # leader epoch, magic, crc, then the body
    return _BEFORE_CRC.pack(0, length, -1, 2, calc_crc32c(body)) + body


async def next_offsets(bootstrap_servers: str, topic: str, partitions: int) -> dict[int, int]:
    """Each partition's next offset, from the high watermark of a fetch response.

    Tansu's ListOffsets answers the last batch's base offset + 1, which is short of the next
    offset whenever that batch holds several records; its fetch response carries the true one.
    """
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        listed = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, listed[tp])  # never past the true end
        deadline = time.monotonic() + 5.0
        while any(consumer.highwater(tp) is None for tp in tps):
            if time.monotonic() > deadline:
                raise TruncationError(f"{topic}: no fetch answered with high watermarks")
            await consumer.getmany(timeout_ms=50)
        return {tp.partition: int(consumer.highwater(tp) or 0) for tp in tps}
    finally:
        await consumer.stop()


async def truncate_topic(
    bootstrap_servers: str, topic: str, partitions: int, next_offsets: dict[int, int]
) -> None:
    """Delete and recreate `topic`, keeping each partition's next offset at `next_offsets`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    await admin.start()
    await client.bootstrap()
    try:
        # Idempotent, so that an attempt cut short can simply be made again.
        with contextlib.suppress(UnknownTopicOrPartitionError):
            await admin.delete_topics([topic], timeout_ms=5000)
        await admin.create_topics([NewTopic(topic, partitions, 1)], timeout_ms=5000)
        markers = [(p, offset_marker_batch(n)) for p, n in sorted(next_offsets.items()) if n > 0]
        if markers:
            await _write_markers(client, topic, markers)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
        with contextlib.suppress(Exception):
            await client.close()


async def _write_markers(
    client: AIOKafkaClient, topic: str, markers: list[tuple[int, bytes]]
) -> None:
    node_id = client.cluster.brokers().pop().nodeId
    request = ProduceRequest(
        transactional_id=None, required_acks=-1, timeout=5000, topics=[(topic, markers)]
    )
    response = await client.send(node_id, request)
    for _name, results in response.topics:
        for result in results:
            partition, error_code, base_offset = result[0], result[1], result[2]
            if error_code != 0:
                raise TruncationError(f"{topic}/{partition}: marker refused, error {error_code}")
            if base_offset != 0:
                # Something was written between the re-creation and the marker.
                raise TruncationError(f"{topic}/{partition}: marker landed at {base_offset}")
