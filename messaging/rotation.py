"""Topic rotation, for the embedded broker only: write one slot topic at a time, empty the rest.

Tansu's cost for a fetch grows with everything the partition read has ever held, and it can
free records only by deleting a whole topic (messaging/truncation.py). So, when
KAFKA_TOPIC_ROTATION_S is set (the launcher sets it for its embedded broker), each busy
topic is a ring of slot topics: `payment-requests`, `payment-requests.r1`, ... Producers
write to the slot of the current period (every process computes it from the clock),
consumers read all slots, and the launcher's janitor empties each slot once it has been
idle long enough and its records are consumed (launcher/topic_janitor.py). Offsets carry on
across an emptying, so consumers never notice.

On a real Kafka this is off: the topics are exactly those of topics.yaml and retention
keeps them small. Only topics whose producers are all ours rotate; `ride-events` does not,
since order systems may write to it directly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from messaging.topics import REPLY_TOPIC_PREFIX, SLOT_SUFFIX, rotated_topics

ROTATION_ENV = "KAFKA_TOPIC_ROTATION_S"
# Request topics: a slot written for one period is idle for the next one, long enough for
# in-flight sends to land and for the processors to commit; two slots keep the idle
# partitions every fetch visits few.
REQUEST_SLOTS = 2
# Reply topics: a reply may come up to the longest hold timeout after its request, so a
# reply slot stays idle for (REPLY_SLOTS - 1) periods before it is emptied.
REPLY_SLOTS = 5
# A reply slot is emptied this long before it is written again (the janitor's window).
REPLY_WINDOW_S = 3.0
# The setting's name in every process (the launcher passes it to its children).
ROTATION_ENV = "KAFKA_TOPIC_ROTATION_S"


@dataclass(frozen=True)
class Ring:
    """The slots of one topic and which one is written at a given time."""

    base: str
    slots: int
    period_s: float

    @property
    def names(self) -> list[str]:
        return [self.base, *(f"{self.base}{SLOT_SUFFIX}{n}" for n in range(1, self.slots))]

    def epoch(self, now: float) -> int:
        return math.floor(now / self.period_s) if self.slots > 1 else 0

    def current(self, now: float | None = None) -> str:
        return self.names[self.epoch(time.time() if now is None else now) % self.slots]

    def idle_since(self, slot: int, now: float) -> float | None:
        """When `slot` was last written (start of the following period); None while written."""
        epoch = self.epoch(now)
        if epoch % self.slots == slot:
            return None
        back = (epoch - slot) % self.slots  # periods since the slot's last period began
        return (epoch - back + 1) * self.period_s

    def next_written(self, slot: int, now: float) -> float:
        """When `slot` is written again."""
        epoch = self.epoch(now)
        ahead = (slot - epoch) % self.slots or self.slots
        return (epoch + ahead) * self.period_s


@dataclass(frozen=True)
class TopicRotation:
    period_s: float = 0.0  # 0: off

    @property
    def enabled(self) -> bool:
        return self.period_s > 0

    def ring(self, base: str) -> Ring:
        if not self.enabled:
            return Ring(base, 1, 1.0)
        if base.startswith(REPLY_TOPIC_PREFIX):
            return Ring(base, REPLY_SLOTS, self.period_s)
        if base in rotated_topics():
            return Ring(base, REQUEST_SLOTS, self.period_s)
        return Ring(base, 1, self.period_s)

    def current(self, base: str) -> str:
        """The topic a message for `base` goes to now."""
        return self.ring(base).current()

    def names(self, base: str) -> list[str]:
        """Every topic `base` is spread over (consumers read them all)."""
        return self.ring(base).names

    def reply_kept_s(self) -> float:
        """How long replies are kept after their slot stops being written (any hold beyond
        this could lose its reply); unlimited without rotation."""
        if not self.enabled:
            return math.inf
        return (REPLY_SLOTS - 1) * self.period_s - REPLY_WINDOW_S
