"""Where probe results enter pod sync and status generation, before the prober exists.

The kubelet's core reads three things the prober owns (``prober/results``): readiness and
startup results feed ``ready``/``started`` in container statuses, and a liveness or startup
*failure* makes ``compute_pod_actions`` kill the container. ``ProbeHooks`` bundles those
lookups, keyed by pod UID and container ID; the defaults mean "no probe", which gives a
running container ``started: true`` and ``ready: true`` and never a probe kill. The prober
(a later issue) supplies real lookups and calls ``Kubelet.trigger_sync`` on a change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ProbeKind(StrEnum):
    LIVENESS = "liveness"
    STARTUP = "startup"


class ResultLookup(Protocol):
    """(pod UID, container ID[, container name]) → True (Success), False (Failure, or a
    probe without a result yet), or None when the container has no such probe. The name
    lets a lookup answer for an instance the prober has not been told about yet."""

    def __call__(
        self, pod_uid: str, container_id: str, /, name: str | None = None
    ) -> bool | None: ...


FailureLookup = Callable[[str, str], ProbeKind | None]
"""(pod UID, container ID) → the probe that failed, or None."""


def _no_probe(pod_uid: str, container_id: str, /, name: str | None = None) -> bool | None:
    return None


def _no_failure(pod_uid: str, container_id: str) -> ProbeKind | None:
    return None


@dataclass(frozen=True)
class ProbeHooks:
    readiness: ResultLookup = _no_probe
    """None: no readiness probe, so a running, started container is ready."""
    startup: ResultLookup = _no_probe
    """None: no startup probe, so a running container is started."""
    failed: FailureLookup = _no_failure
    """A liveness or startup failure for this instance: kill it (and restart per policy)."""
