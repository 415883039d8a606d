"""The pod row: READY, STATUS and RESTARTS as kube-apiserver's printPod computes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubeproc.api.printers import row_cells
from kubeproc.api.resources import REGISTRY, ResourceType

NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
_PODS = REGISTRY.get("", "v1", "pods")
assert _PODS is not None
PODS: ResourceType = _PODS

RUNNING = {"running": {"startedAt": "2025-01-01T11:00:00Z"}}


def waiting(reason: str) -> dict[str, Any]:
    return {"waiting": {"reason": reason}}


def terminated(code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": code}
    if reason:
        state["reason"] = reason
    if signal:
        state["signal"] = signal
    return {"terminated": state}


def cs(
    state: dict[str, Any], *, name: str = "c", ready: bool = False, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": 0, "state": state, **extra}


def pod(
    status: dict[str, Any],
    *,
    containers: int = 1,
    init: list[dict[str, Any]] | None = None,
    **meta: Any,
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "p",
            "namespace": "default",
            "creationTimestamp": "2025-01-01T11:00:00Z",
            **meta,
        },
        "spec": {
            "containers": [{"name": f"c{i}", "image": "x"} for i in range(containers)],
            "initContainers": init or [],
        },
        "status": status,
    }


INIT = [{"name": "i", "image": "busybox"}]
SIDECAR = [{"name": "s", "image": "envoy", "restartPolicy": "Always"}]
READY_TRUE = {"type": "Ready", "status": "True"}
INITIALIZED = {"type": "Initialized", "status": "True"}

STATUS_CASES = [
    ("pending, nothing started", pod({"phase": "Pending"}), "0/1", "Pending"),
    (
        "container being created",
        pod({"phase": "Pending", "containerStatuses": [cs(waiting("ContainerCreating"))]}),
        "0/1",
        "ContainerCreating",
    ),
    (
        "first init container running",
        pod({"phase": "Pending", "initContainerStatuses": [cs(RUNNING, name="i")]}, init=INIT),
        "0/1",
        "Init:0/1",
    ),
    (
        "second of two init containers running",
        pod(
            {
                "phase": "Pending",
                "initContainerStatuses": [
                    cs(terminated(0, "Completed"), name="i"),
                    cs(RUNNING, name="j"),
                ],
            },
            init=[*INIT, {"name": "j", "image": "x"}],
        ),
        "0/1",
        "Init:1/2",
    ),
    (
        "init container crash-looping",
        pod(
            {
                "phase": "Pending",
                "initContainerStatuses": [cs(waiting("CrashLoopBackOff"), name="i")],
            },
            init=INIT,
        ),
        "0/1",
        "Init:CrashLoopBackOff",
    ),
    (
        "init container failed with a reason",
        pod(
            {"phase": "Pending", "initContainerStatuses": [cs(terminated(1, "Error"), name="i")]},
            init=INIT,
        ),
        "0/1",
        "Init:Error",
    ),
    (
        "init container failed without a reason",
        pod(
            {"phase": "Pending", "initContainerStatuses": [cs(terminated(3), name="i")]}, init=INIT
        ),
        "0/1",
        "Init:ExitCode:3",
    ),
    (
        "init container killed by a signal",
        pod(
            {
                "phase": "Pending",
                "initContainerStatuses": [cs(terminated(137, signal=9), name="i")],
            },
            init=INIT,
        ),
        "0/1",
        "Init:Signal:9",
    ),
    (
        "init done, containers initializing",
        pod(
            {
                "phase": "Pending",
                "initContainerStatuses": [cs(terminated(0, "Completed"), name="i")],
                "containerStatuses": [cs(waiting("PodInitializing"))],
            },
            init=INIT,
        ),
        "0/1",
        "PodInitializing",
    ),
    (
        "init container waiting as PodInitializing shows progress",
        pod(
            {
                "phase": "Pending",
                "initContainerStatuses": [cs(waiting("PodInitializing"), name="i")],
            },
            init=INIT,
        ),
        "0/1",
        "Init:0/1",
    ),
    (
        "running and ready",
        pod({"phase": "Running", "containerStatuses": [cs(RUNNING, ready=True)]}),
        "1/1",
        "Running",
    ),
    (
        "running, not ready",
        pod({"phase": "Running", "containerStatuses": [cs(RUNNING)]}),
        "0/1",
        "Running",
    ),
    (
        "crash loop",
        pod({"phase": "Running", "containerStatuses": [cs(waiting("CrashLoopBackOff"))]}),
        "0/1",
        "CrashLoopBackOff",
    ),
    (
        "error exit",
        pod({"phase": "Failed", "containerStatuses": [cs(terminated(1, "Error"))]}),
        "0/1",
        "Error",
    ),
    (
        "completed",
        pod({"phase": "Succeeded", "containerStatuses": [cs(terminated(0, "Completed"))]}),
        "0/1",
        "Completed",
    ),
    (
        "oom killed",
        pod({"phase": "Running", "containerStatuses": [cs(terminated(137, "OOMKilled"))]}),
        "0/1",
        "OOMKilled",
    ),
    (
        "signal, no reason",
        pod({"phase": "Failed", "containerStatuses": [cs(terminated(137, signal=9))]}),
        "0/1",
        "Signal:9",
    ),
    (
        "exit code, no reason",
        pod({"phase": "Failed", "containerStatuses": [cs(terminated(137))]}),
        "0/1",
        "ExitCode:137",
    ),
    (
        "one completed, one running, pod ready",
        pod(
            {
                "phase": "Running",
                "conditions": [READY_TRUE],
                "containerStatuses": [
                    cs(terminated(0, "Completed"), name="c0"),
                    cs(RUNNING, name="c1", ready=True),
                ],
            },
            containers=2,
        ),
        "1/2",
        "Running",
    ),
    (
        "one completed, one running, pod not ready",
        pod(
            {
                "phase": "Running",
                "containerStatuses": [
                    cs(terminated(0, "Completed"), name="c0"),
                    cs(RUNNING, name="c1", ready=True),
                ],
            },
            containers=2,
        ),
        "1/2",
        "NotReady",
    ),
    (
        "one failed, one still running shows Error",
        pod(
            {
                "phase": "Running",
                "containerStatuses": [
                    cs(terminated(1, "Error"), name="c0"),
                    cs(RUNNING, name="c1", ready=True),
                ],
            },
            containers=2,
        ),
        "1/2",
        "Error",
    ),
    (
        "the lowest-index container with a reason wins",
        pod(
            {
                "phase": "Pending",
                "containerStatuses": [
                    cs(waiting("CrashLoopBackOff"), name="c0"),
                    cs(waiting("ImagePullBackOff"), name="c1"),
                ],
            },
            containers=2,
        ),
        "0/2",
        "CrashLoopBackOff",
    ),
    ("evicted", pod({"phase": "Failed", "reason": "Evicted"}), "0/1", "Evicted"),
    (
        "scheduling gated",
        pod(
            {
                "phase": "Pending",
                "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
                ],
            }
        ),
        "0/1",
        "SchedulingGated",
    ),
    (
        "being deleted",
        pod(
            {"phase": "Running", "containerStatuses": [cs(RUNNING, ready=True)]},
            deletionTimestamp="2025-01-01T11:59:00Z",
        ),
        "1/1",
        "Terminating",
    ),
    (
        "deleted after it finished keeps its final status",
        pod(
            {"phase": "Succeeded", "containerStatuses": [cs(terminated(0, "Completed"))]},
            deletionTimestamp="2025-01-01T11:59:00Z",
        ),
        "0/1",
        "Completed",
    ),
    (
        "deleted on an unreachable node",
        pod({"phase": "Running", "reason": "NodeLost"}, deletionTimestamp="2025-01-01T11:59:00Z"),
        "0/1",
        "Unknown",
    ),
    (
        "sidecar started and ready counts in READY",
        pod(
            {
                "phase": "Running",
                "conditions": [INITIALIZED, READY_TRUE],
                "initContainerStatuses": [cs(RUNNING, name="s", ready=True, started=True)],
                "containerStatuses": [cs(RUNNING, name="c0", ready=True)],
            },
            init=SIDECAR,
        ),
        "2/2",
        "Running",
    ),
    (
        "sidecar not started yet holds initialization",
        pod(
            {"phase": "Pending", "initContainerStatuses": [cs(RUNNING, name="s", started=False)]},
            init=SIDECAR,
        ),
        "0/2",
        "Init:0/1",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "ready", "status"), STATUS_CASES, ids=[c[0] for c in STATUS_CASES]
)
def test_pod_ready_and_status(case: str, obj: dict[str, Any], ready: str, status: str) -> None:
    """READY and STATUS follow printPod for every container-state combination."""
    cells = row_cells(PODS, obj, NOW)
    assert (cells[1], cells[2]) == (ready, status), case


def restarted(
    count: int, finished: str | None, *, name: str = "c", state: dict[str, Any] = RUNNING
) -> dict[str, Any]:
    extra: dict[str, Any] = {"restartCount": count}
    if finished:
        extra["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return {**cs(state, name=name), **extra}


RESTART_CASES = [
    ("never restarted", pod({"phase": "Running", "containerStatuses": [restarted(0, None)]}), "0"),
    (
        "restarted, last one two minutes ago",
        pod({"phase": "Running", "containerStatuses": [restarted(3, "2025-01-01T11:58:00Z")]}),
        "3 (2m ago)",
    ),
    (
        "restart count without a last state",
        pod({"phase": "Running", "containerStatuses": [restarted(2, None)]}),
        "2",
    ),
    (
        "latest finish among containers is used",
        pod(
            {
                "phase": "Running",
                "containerStatuses": [
                    restarted(1, "2025-01-01T11:00:00Z", name="c0"),
                    restarted(4, "2025-01-01T11:59:45Z", name="c1"),
                ],
            },
            containers=2,
        ),
        "5 (15s ago)",
    ),
    (
        "init container restarts count while initializing",
        pod(
            {
                "phase": "Pending",
                "initContainerStatuses": [
                    restarted(
                        4, "2025-01-01T11:56:58Z", name="i", state=waiting("CrashLoopBackOff")
                    )
                ],
            },
            init=INIT,
        ),
        "4 (3m2s ago)",
    ),
    (
        "finished init containers' restarts are dropped once initialized",
        pod(
            {
                "phase": "Running",
                "initContainerStatuses": [
                    restarted(2, "2025-01-01T11:00:00Z", name="i", state=terminated(0, "Completed"))
                ],
                "containerStatuses": [restarted(1, None)],
            },
            init=INIT,
        ),
        "1",
    ),
    (
        "sidecar restarts still count once initialized",
        pod(
            {
                "phase": "Running",
                "conditions": [INITIALIZED],
                "initContainerStatuses": [
                    {**restarted(1, "2025-01-01T10:00:00Z", name="s"), "started": True}
                ],
                "containerStatuses": [restarted(2, None)],
            },
            init=SIDECAR,
        ),
        "3 (120m ago)",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "restarts"), RESTART_CASES, ids=[c[0] for c in RESTART_CASES]
)
def test_pod_restarts(case: str, obj: dict[str, Any], restarts: str) -> None:
    """RESTARTS sums the right containers and adds "(<age> ago)" for the latest restart."""
    assert row_cells(PODS, obj, NOW)[3] == restarts, case


def test_pod_wide_cells() -> None:
    """The wide cells show the primary IP, node, nominated node and readiness gates."""
    obj = pod(
        {
            "phase": "Running",
            "podIP": "10.0.0.9",
            "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
            "conditions": [
                {"type": "gate/a", "status": "True"},
                {"type": "gate/b", "status": "False"},
            ],
        },
    )
    obj["spec"]["nodeName"] = "node-1"
    obj["spec"]["readinessGates"] = [{"conditionType": "gate/a"}, {"conditionType": "gate/b"}]
    assert row_cells(PODS, obj, NOW) == [
        "p",
        "0/1",
        "Running",
        "0",
        "60m",
        "10.0.0.5",
        "node-1",
        "<none>",
        "1/2",
    ]


def test_pod_wide_cells_when_unset() -> None:
    """Unscheduled pods show <none> for IP, node, nominated node and readiness gates."""
    cells = row_cells(PODS, pod({"phase": "Pending"}), NOW)
    assert cells[5:] == ["<none>", "<none>", "<none>", "<none>"]
    with_ip = pod({"phase": "Running", "podIP": "10.0.0.7", "nominatedNodeName": "node-2"})
    assert row_cells(PODS, with_ip, NOW)[5:8] == ["10.0.0.7", "<none>", "node-2"]
