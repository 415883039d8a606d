"""Creations and deletions a controller has asked for but not yet seen in its informer.

As upstream's ``UIDTrackingControllerExpectations``: before creating ``n`` pods a
controller records that it expects ``n`` creations; each pod the informer then shows
lowers the count. Deletions are tracked by pod key, so a pod observed deleted twice (its
deletionTimestamp, then its removal) counts once. Until the counts reach zero the
controller does not manage replicas again, so a sync that runs before the informer caught
up does not create (or delete) the same pods twice. An expectation older than
``EXPECTATIONS_TIMEOUT`` is treated as met, so a lost watch event cannot stall a
controller forever. Time comes from the injected clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kubeproc.util.clock import Clock

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expectation:
    add: int
    delete: int
    since: float
    deleting: set[str] = field(default_factory=set)

    @property
    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class Expectations:
    """Per controller key (``namespace/name``): pending creations and deletions."""

    def __init__(self, clock: Clock, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.clock = clock
        self.timeout = timeout
        self._by_key: dict[str, _Expectation] = {}

    def satisfied(self, key: str) -> bool:
        """True when nothing is in flight (or what was has timed out)."""
        exp = self._by_key.get(key)
        if exp is None or exp.fulfilled:
            return True
        return self.clock.monotonic() - exp.since > self.timeout

    def expect_creations(self, key: str, count: int) -> None:
        self._by_key[key] = _Expectation(count, 0, self.clock.monotonic())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        keys = set(pod_keys)
        self._by_key[key] = _Expectation(0, len(keys), self.clock.monotonic(), keys)

    def creation_observed(self, key: str) -> None:
        exp = self._by_key.get(key)
        if exp is not None:
            exp.add -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """Count ``pod_key`` once, and only if its deletion was expected."""
        exp = self._by_key.get(key)
        if exp is not None and pod_key in exp.deleting:
            exp.deleting.discard(pod_key)
            exp.delete -= 1

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still expected, for logs and tests."""
        exp = self._by_key.get(key)
        return (0, 0) if exp is None else (max(exp.add, 0), max(exp.delete, 0))
