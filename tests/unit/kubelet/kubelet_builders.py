"""Pods and runtime states for the kubelet's table tests, built in one line each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubeproc.kubelet.runtime.types import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_POD_UID,
    ContainerPhase,
    ContainerStatus,
    SandboxStatus,
)
from kubeproc.kubelet.runtimestatus import LABEL_CONTAINER_HASH, PodRuntimeStatus, container_hash

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
UID = "uid-p"


def spec(name: str, *, sidecar: bool = False, **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": "busybox",
        "command": ["run", name],
        **extra,
    }
    if sidecar:
        container["restartPolicy"] = "Always"
    return container


def make_pod(
    *containers: dict[str, Any],
    init: tuple[dict[str, Any], ...] = (),
    policy: str = "Always",
    deleting: bool = False,
    **spec_extra: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "default", "uid": UID}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:10:00Z"
        meta["deletionGracePeriodSeconds"] = 30
    return {
        "metadata": meta,
        "spec": {
            "containers": list(containers) or [spec("app")],
            "initContainers": list(init),
            "restartPolicy": policy,
            "terminationGracePeriodSeconds": 30,
            "nodeName": "node",
            **spec_extra,
        },
        "status": {"qosClass": "BestEffort"},
    }


def ctr(
    name: str,
    phase: ContainerPhase,
    *,
    attempt: int = 0,
    exit_code: int | None = None,
    at: float = 0,
    ran: float = 1,
    of: dict[str, Any] | None = None,
    reason: str = "",
    cid: str = "",
) -> ContainerStatus:
    """An instance of container ``name`` created ``at`` seconds after T0."""
    created = T0 + dt.timedelta(seconds=at)
    started = created if phase is not ContainerPhase.CREATED else None
    finished = created + dt.timedelta(seconds=ran) if phase is ContainerPhase.EXITED else None
    if phase is ContainerPhase.EXITED and exit_code is None:
        exit_code = 0
    if phase is ContainerPhase.EXITED and not reason:
        reason = "Completed" if exit_code == 0 else "Error"
    return ContainerStatus(
        id=cid or f"{name}-{attempt}",
        sandbox_id="sb",
        name=name,
        attempt=attempt,
        phase=phase,
        created_at=created,
        started_at=started,
        finished_at=finished,
        exit_code=exit_code,
        reason=reason,
        labels={
            LABEL_POD_UID: UID,
            LABEL_CONTAINER_NAME: name,
            LABEL_ATTEMPT: str(attempt),
            LABEL_CONTAINER_HASH: container_hash(of if of is not None else spec(name)),
        },
    )


def sandbox(*, ready: bool = True, sid: str = "sb", at: float = 0) -> SandboxStatus:
    return SandboxStatus(
        id=sid,
        pod_uid=UID,
        pod_name="p",
        namespace="default",
        ip="10.88.0.5",
        ready=ready,
        created_at=T0 + dt.timedelta(seconds=at),
        netns_path="/run/netns/x",
    )


def runtime(*containers: ContainerStatus, box: SandboxStatus | None = None) -> PodRuntimeStatus:
    boxes = [box] if box is not None else [sandbox()]
    return PodRuntimeStatus.build(UID, boxes, containers)


def no_sandbox(*containers: ContainerStatus) -> PodRuntimeStatus:
    return PodRuntimeStatus.build(UID, [], containers)


RUNNING = ContainerPhase.RUNNING
EXITED = ContainerPhase.EXITED
CREATED = ContainerPhase.CREATED
