"""Probe result caches: the prober's only output, read by status generation and pod sync.

Mirrors ``pkg/kubelet/prober/results``: one value per (pod UID, container ID, probe type),
``Success``/``Failure``/``Unknown``. Writing the value already cached is a no-op; a change
(or a first write) is published to the subscriber, which is how the kubelet learns it must
sync the pod. Keys use the container *ID*, not its name, so a restarted container never
inherits its predecessor's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class ProbeType(StrEnum):
    LIVENESS = "liveness"
    READINESS = "readiness"
    STARTUP = "startup"


class Result(StrEnum):
    SUCCESS = "Success"
    FAILURE = "Failure"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class ResultKey:
    pod_uid: str
    container_id: str
    probe_type: ProbeType


@dataclass(frozen=True)
class ResultUpdate:
    """One published change: ``key`` now holds ``result``."""

    key: ResultKey
    result: Result


Subscriber = Callable[[ResultUpdate], None]


class ResultsCache:
    """Cached probe results that publish only on change."""

    def __init__(self, on_change: Subscriber | None = None) -> None:
        self._results: dict[ResultKey, Result] = {}
        self._on_change = on_change

    def get(self, key: ResultKey) -> Result | None:
        return self._results.get(key)

    def set(self, key: ResultKey, result: Result) -> bool:
        """Store ``result``; publish and return True only if it differs from the cache."""
        if self._results.get(key) is result:
            return False
        self._results[key] = result
        if self._on_change is not None:
            self._on_change(ResultUpdate(key, result))
        return True

    def remove(self, key: ResultKey) -> None:
        """Forget ``key`` silently: removal is not a result the kubelet acts on."""
        self._results.pop(key, None)

    def __len__(self) -> int:
        return len(self._results)
