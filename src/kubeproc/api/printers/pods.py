"""The pod row: READY, STATUS and RESTARTS exactly as kube-apiserver's ``printPod`` has them.

STATUS is the line users read first, so its derivation is copied step for step (see
``summarize``), including sidecars (restartable init containers, 1.29+) in READY
and RESTARTS, init-container progress, the last-to-first walk over containers that lets
the lowest-index container with a reason win, and Terminating/Unknown for deleted pods.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kubeproc.api.printers.age import parse_time, since
from kubeproc.api.printers.columns import (
    AGE,
    NAME,
    Printer,
    age,
    col,
    get,
    items,
    name,
    number,
    text,
)

COLUMNS = (
    NAME,
    col("Ready", "Ready containers out of all containers (sidecars included)."),
    col("Status", "Summary of the pod's and its containers' state."),
    col("Restarts", "Container restarts, with the time since the last one."),
    AGE,
    col("IP", "The pod's primary IP address.", wide=True),
    col("Node", "The node the pod is bound to.", wide=True),
    col("Nominated Node", "The node the scheduler nominated for preemption.", wide=True),
    col("Readiness Gates", "Readiness gates whose condition is True, out of all.", wide=True),
)

_TERMINAL = ("Succeeded", "Failed")
_NODE_UNREACHABLE = "NodeLost"


@dataclass
class _Tally:
    """Restart count and latest restart, kept twice as printPod does (all init vs sidecars)."""

    restarts: int = 0
    last: dt.datetime | None = None

    def add(self, status: dict[str, Any]) -> None:
        self.restarts += number(status, "restartCount")
        finished = parse_time(get(status, "lastState.terminated.finishedAt"))
        if finished is not None and (self.last is None or finished > self.last):
            self.last = finished


def _terminated_reason(terminated: dict[str, Any]) -> str:
    reason = text(terminated, "reason")
    if reason:
        return reason
    signal = number(terminated, "signal")
    return f"Signal:{signal}" if signal else f"ExitCode:{number(terminated, 'exitCode')}"


def _condition_true(pod: dict[str, Any], kind: str) -> bool:
    for cond in items(pod, "status.conditions"):
        if cond.get("type") == kind:
            return cond.get("status") == "True"
    return False


@dataclass
class PodSummary:
    """READY (``ready``/``total``), STATUS and what RESTARTS is made of."""

    ready: int
    total: int
    status: str
    restarts: int
    last_restart: dt.datetime | None


@dataclass
class _Walk:
    """What printPod accumulates while it walks the container statuses."""

    reason: str
    ready: int = 0
    every: _Tally = field(default_factory=_Tally)  # all init containers
    sidecars: _Tally = field(default_factory=_Tally)  # restartable init containers only


def _walk_init(pod: dict[str, Any], sidecars: set[str], walk: _Walk) -> bool:
    """Init containers in order; True (initializing) when one is not done yet."""
    count = len(items(pod, "spec.initContainers"))
    for i, status in enumerate(items(pod, "status.initContainerStatuses")):
        walk.every.add(status)
        is_sidecar = text(status, "name") in sidecars
        if is_sidecar:
            walk.sidecars.add(status)
        terminated = get(status, "state.terminated")
        waiting = text(status, "state.waiting.reason")
        if isinstance(terminated, dict) and number(terminated, "exitCode") == 0:
            continue
        if is_sidecar and status.get("started") is True:
            walk.ready += 1 if status.get("ready") is True else 0
            continue
        if isinstance(terminated, dict):
            walk.reason = "Init:" + _terminated_reason(terminated)
        elif waiting and waiting != "PodInitializing":
            walk.reason = "Init:" + waiting
        else:
            walk.reason = f"Init:{i}/{count}"
        return True
    return False


def _walk_containers(pod: dict[str, Any], walk: _Walk) -> None:
    """Regular containers, last to first, so the lowest-index one with a reason wins."""
    has_running = False
    for status in reversed(items(pod, "status.containerStatuses")):
        walk.sidecars.add(status)
        terminated = get(status, "state.terminated")
        waiting = text(status, "state.waiting.reason")
        if waiting:
            walk.reason = waiting
        elif isinstance(terminated, dict):
            walk.reason = _terminated_reason(terminated)
        elif status.get("ready") is True and isinstance(get(status, "state.running"), dict):
            has_running = True
            walk.ready += 1
    if walk.reason == "Completed" and has_running:
        walk.reason = "Running" if _condition_true(pod, "Ready") else "NotReady"


def summarize(pod: dict[str, Any]) -> PodSummary:
    """READY, STATUS and RESTARTS of a pod (``printPod``'s first half)."""
    phase = text(pod, "status.phase")
    walk = _Walk(text(pod, "status.reason") or phase)
    for cond in items(pod, "status.conditions"):
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            walk.reason = "SchedulingGated"
    init_specs = items(pod, "spec.initContainers")
    sidecars = {text(c, "name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(items(pod, "spec.containers")) + len(sidecars)

    tally = walk.every
    if not _walk_init(pod, sidecars, walk) or _condition_true(pod, "Initialized"):
        # Once initialized, restarts count the sidecars among init containers (the
        # containers are added to that tally), not init containers that ran once.
        tally = walk.sidecars
        _walk_containers(pod, walk)

    if get(pod, "metadata.deletionTimestamp") is not None:
        if text(pod, "status.reason") == _NODE_UNREACHABLE:
            walk.reason = "Unknown"
        elif phase not in _TERMINAL:
            walk.reason = "Terminating"
    return PodSummary(walk.ready, total, walk.reason, tally.restarts, tally.last)


def _readiness_gates(pod: dict[str, Any]) -> str:
    gates = items(pod, "spec.readinessGates")
    if not gates:
        return "<none>"
    conditions = items(pod, "status.conditions")
    passed = 0
    for gate in gates:
        match = next((c for c in conditions if c.get("type") == gate.get("conditionType")), None)
        passed += 1 if match is not None and match.get("status") == "True" else 0
    return f"{passed}/{len(gates)}"


def cells(pod: dict[str, Any], now: dt.datetime) -> list[object]:
    s = summarize(pod)
    restarts = str(s.restarts)
    if s.restarts and s.last_restart is not None:
        restarts = f"{s.restarts} ({since(s.last_restart, now)} ago)"
    ips = items(pod, "status.podIPs")
    ip = text(ips[0], "ip") if ips else text(pod, "status.podIP")
    return [
        name(pod),
        f"{s.ready}/{s.total}",
        s.status,
        restarts,
        age(pod, now),
        ip or "<none>",
        text(pod, "spec.nodeName", "<none>"),
        text(pod, "status.nominatedNodeName", "<none>"),
        _readiness_gates(pod),
    ]


def conditions(pod: dict[str, Any]) -> list[dict[str, str]]:
    """Row conditions: finished pods are marked Completed, as the server does."""
    phase = text(pod, "status.phase")
    if phase not in _TERMINAL:
        return []
    message = "The pod has completed successfully." if phase == "Succeeded" else "The pod failed."
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


PRINTER = Printer(COLUMNS, cells, conditions)
