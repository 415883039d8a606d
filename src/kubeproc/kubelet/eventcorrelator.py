"""How a recorded event becomes a write: aggregation, repeat counting, spam filtering.

The decisions client-go's ``EventCorrelator`` makes for every kubelet event, as pure
state over an injected time, in the same order:

1. **Similar events combine.** Events that share source, involved object, type and
   reason but differ in message are "similar". Once ten different messages have been
   seen within ten minutes of each other, each further one is written as one shared
   event whose message reads ``(combined from similar events): <latest message>``.
2. **Repeats count.** An event equal to one already written (same key, message
   included, or the same combined key) becomes a PATCH of that event: ``count`` + 1,
   ``lastTimestamp`` and ``message`` refreshed.
3. **Spam is dropped.** Each source and object (with type and reason) has a token
   bucket of 25 writes refilled at one per five minutes; a write without a token is
   skipped. Counting happened before the filter, so the next write that passes carries
   the true count: a flapping probe's event keeps an exact ``count`` while its writes
   slow down.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import TypeVar

AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
SPAM_BURST = 25
SPAM_REFILL_PER_SECOND = 1.0 / 300.0
COMBINED_PREFIX = "(combined from similar events): "
_LRU = 4096
_V = TypeVar("_V")


@dataclass(frozen=True)
class EventFacts:
    """The fields the correlator keys on; ``involved`` is the involvedObject's identity."""

    source: tuple[str, str]
    involved: tuple[str, ...]
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class Write:
    """What to send: a new event (``create``) or a bump of ``name`` (a patch)."""

    create: bool
    name: str
    count: int
    message: str
    first_seen: float
    """When the event (or its combined stand-in) was first recorded, for ``firstTimestamp``."""


@dataclass
class _Similar:
    messages: collections.OrderedDict[str, None] = field(default_factory=collections.OrderedDict)
    last: float = float("-inf")


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class EventCorrelator:
    """Turns each recorded event into a ``Write``, or None when spam filtering drops it."""

    def __init__(self) -> None:
        self._similar: collections.OrderedDict[tuple[str, ...], _Similar] = (
            collections.OrderedDict()
        )
        self._written: collections.OrderedDict[tuple[str, ...], tuple[str, int, float]] = (
            collections.OrderedDict()
        )
        self._buckets: collections.OrderedDict[tuple[str, ...], _Bucket] = collections.OrderedDict()

    def correlate(self, facts: EventFacts, now: float, new_name: str) -> Write | None:
        """The write for ``facts`` recorded at ``now``; ``new_name`` names a created event."""
        similar_key = (*facts.source, *facts.involved, facts.type, facts.reason)
        message, key = self._aggregate(similar_key, facts.message, now)
        write = self._observe(key, message, now, new_name)
        if not self._take_token(similar_key, now):
            return None
        return write

    def _aggregate(
        self, similar_key: tuple[str, ...], message: str, now: float
    ) -> tuple[str, tuple[str, ...]]:
        record = self._similar.get(similar_key)
        if record is None or now - record.last > AGGREGATE_INTERVAL:
            record = _Similar()
        record.messages[message] = None
        record.last = now
        _remember(self._similar, similar_key, record)
        if len(record.messages) < AGGREGATE_MAX_EVENTS:
            return message, (*similar_key, message)
        record.messages.popitem(last=False)  # the set never grows past the threshold
        return COMBINED_PREFIX + message, similar_key

    def _observe(self, key: tuple[str, ...], message: str, now: float, new_name: str) -> Write:
        seen = self._written.get(key)
        if seen is None:
            _remember(self._written, key, (new_name, 1, now))
            return Write(create=True, name=new_name, count=1, message=message, first_seen=now)
        name, count, first = seen
        _remember(self._written, key, (name, count + 1, first))
        return Write(create=False, name=name, count=count + 1, message=message, first_seen=first)

    def _take_token(self, key: tuple[str, ...], now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=float(SPAM_BURST), stamp=now)
        refill = (now - bucket.stamp) * SPAM_REFILL_PER_SECOND
        bucket.tokens = min(float(SPAM_BURST), bucket.tokens + refill)
        bucket.stamp = now
        _remember(self._buckets, key, bucket)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True


def _remember(
    cache: collections.OrderedDict[tuple[str, ...], _V], key: tuple[str, ...], value: _V
) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _LRU:
        cache.popitem(last=False)
