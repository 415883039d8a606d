"""What the runtime says about one pod (``kubecontainer.PodStatus``), and the reason cache.

The pod workers decide from runtime state alone: ``PodRuntimeStatus`` gathers a pod's
sandboxes and container instances (newest first, as the kubelet sorts them) out of a PLEG
snapshot. Container instances carry labels naming their pod, container, attempt and spec
hash, so this view is rebuilt exactly after a kubeproc restart.

``ReasonCache`` remembers why the last start of a container failed (``CrashLoopBackOff``,
``CreateContainerConfigError`` …) for status generation, as the kubelet's ``reasonCache``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubeproc.kubelet.runtime.types import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_POD_UID,
    ContainerPhase,
    ContainerStatus,
    SandboxStatus,
)

# Beside the seam's labels: what the kubelet needs to judge an instance after a restart.
LABEL_CONTAINER_HASH = "io.kubernetes.container.hash"
LABEL_CONTAINER_TYPE = "io.kubeproc.container.type"  # "init" or "regular"
LABEL_TERMINATION_GRACE = "io.kubernetes.pod.terminationGracePeriod"


def container_hash(container: dict[str, Any]) -> str:
    """A stable hash of a container's spec (``HashContainer``); a change restarts it."""
    text = json.dumps(container, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def pod_uid_of(labels: dict[str, str]) -> str:
    return labels.get(LABEL_POD_UID, "")


def attempt_of(status: ContainerStatus) -> int:
    try:
        return int(status.labels.get(LABEL_ATTEMPT, status.attempt))
    except ValueError:
        return status.attempt


@dataclass(frozen=True)
class PodRuntimeStatus:
    """One pod as the runtime sees it: sandboxes and container instances, newest first."""

    uid: str
    sandboxes: tuple[SandboxStatus, ...] = ()
    containers: tuple[ContainerStatus, ...] = ()

    @classmethod
    def build(
        cls, uid: str, sandboxes: Iterable[SandboxStatus], containers: Iterable[ContainerStatus]
    ) -> PodRuntimeStatus:
        boxes = sorted(sandboxes, key=lambda s: s.created_at, reverse=True)
        ctrs = sorted(containers, key=lambda c: (c.created_at, attempt_of(c)), reverse=True)
        return cls(uid, tuple(boxes), tuple(ctrs))

    def find(self, name: str) -> ContainerStatus | None:
        """The latest instance of container ``name`` (``FindContainerStatusByName``)."""
        for status in self.containers:
            if status.name == name:
                return status
        return None

    def instances(self, name: str) -> list[ContainerStatus]:
        return [c for c in self.containers if c.name == name]

    def latest_exited(self, name: str) -> ContainerStatus | None:
        for status in self.containers:
            if status.name == name and status.phase is ContainerPhase.EXITED:
                return status
        return None

    @property
    def running(self) -> list[ContainerStatus]:
        return [
            c
            for c in self.containers
            if c.phase in (ContainerPhase.RUNNING, ContainerPhase.CREATED, ContainerPhase.UNKNOWN)
        ]

    @property
    def active_sandbox(self) -> SandboxStatus | None:
        """The newest sandbox, if it is ready (the one whose IP the pod reports)."""
        if self.sandboxes and self.sandboxes[0].ready:
            return self.sandboxes[0]
        return None

    @property
    def ips(self) -> list[str]:
        box = self.active_sandbox
        return [box.ip] if box is not None and box.ip else []


def sandbox_changed(status: PodRuntimeStatus) -> tuple[bool, str]:
    """``PodSandboxChanged``: whether a (new) sandbox is needed, and the one it replaces."""
    if not status.sandboxes:
        return True, ""
    newest = status.sandboxes[0]
    ready = sum(1 for s in status.sandboxes if s.ready)
    if ready > 1 or not newest.ready:
        return True, newest.id
    return False, newest.id


@dataclass(frozen=True)
class StartFailure:
    reason: str
    message: str


class ReasonCache:
    """Why the last start of each container failed; cleared by a successful start."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], StartFailure] = {}

    def get(self, pod_uid: str, container: str) -> StartFailure | None:
        return self._entries.get((pod_uid, container))

    def update(self, pod_uid: str, container: str, failure: StartFailure | None) -> None:
        if failure is None:
            self._entries.pop((pod_uid, container), None)
        else:
            self._entries[(pod_uid, container)] = failure

    def for_pod(self, pod_uid: str) -> dict[str, StartFailure]:
        return {name: f for (uid, name), f in self._entries.items() if uid == pod_uid}

    def forget_pod(self, pod_uid: str) -> None:
        for key in [k for k in self._entries if k[0] == pod_uid]:
            del self._entries[key]


def container_labels(status: ContainerStatus) -> tuple[str, str]:
    """(container name, spec hash) from an instance's labels."""
    return (
        status.labels.get(LABEL_CONTAINER_NAME, status.name),
        status.labels.get(LABEL_CONTAINER_HASH, ""),
    )
