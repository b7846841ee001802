"""What the broker the clients talk to can do, by `BROKER` (`kafka` or `tansu`).

The producers and consumers ask here rather than testing the broker's name themselves.
Tansu (the embedded stand-in) has no idempotent producer, no static group membership and
keeps messages in memory only; Apache Kafka has all three. Anything else
(`KAFKA_BOOTSTRAP_SERVERS` pointing at a cluster) is taken to be Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BrokerName = Literal["kafka", "tansu"]


@dataclass(frozen=True)
class BrokerFeatures:
    # acks=all plus producer ids and sequence numbers: a retried send is written once.
    idempotent_producer: bool
    # group.instance.id: a restarted member takes its partitions back at once.
    static_membership: bool
    # A message the broker acknowledged survives the broker's restart.
    durable_log: bool


def broker_features(broker: BrokerName) -> BrokerFeatures:
    if broker == "tansu":
        return BrokerFeatures(idempotent_producer=False, static_membership=False, durable_log=False)
    return BrokerFeatures(idempotent_producer=True, static_membership=True, durable_log=True)
