"""What the broker the clients talk to can do, by `BROKER` (`kafka` or `tansu`).

The producers and consumers ask here rather than testing the broker's name themselves.
Tansu (the embedded stand-in) has no idempotent producer and no static group membership;
Apache Kafka has both. Anything else (`KAFKA_BOOTSTRAP_SERVERS` pointing at a cluster) is
taken to be Kafka.
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


def broker_features(broker: BrokerName) -> BrokerFeatures:
    if broker == "tansu":
        return BrokerFeatures(idempotent_producer=False, static_membership=False)
    return BrokerFeatures(idempotent_producer=True, static_membership=True)
