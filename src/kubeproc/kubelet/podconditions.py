"""The kubelet's pod conditions (status/generate.go): Initialized, Ready, ContainersReady.

Pure functions of the pod spec, the container statuses and the phase, with the
kubelet's reasons and messages (``ContainersNotReady``, ``containers with unready status:
[a b]`` in Go's slice format, ``ReadinessGatesNotReady``, ``PodCompleted`` …).
"""

from __future__ import annotations

from typing import Any

from kubeproc.kubelet.actions import is_sidecar

KUBELET_CONDITIONS = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)


def go_list(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


def state_of(status: dict[str, Any]) -> str:
    return str(next(iter(status.get("state") or {"waiting": {}})))


def has_last_termination(status: dict[str, Any]) -> bool:
    return bool((status.get("lastState") or {}).get("terminated"))


def any_regular_started(spec: dict[str, Any], statuses: list[dict[str, Any]]) -> bool:
    """``HasAnyRegularContainerStarted``."""
    names = {c["name"] for c in spec.get("containers", [])}
    return any(
        s.get("name") in names and state_of(s) in ("running", "terminated") for s in statuses
    )


def containers_ready(
    spec: dict[str, Any], statuses: list[dict[str, Any]], phase: str
) -> dict[str, Any]:
    by_name = {s.get("name"): s for s in statuses}
    unknown: list[str] = []
    unready: list[str] = []
    relevant = [c for c in spec.get("initContainers") or [] if is_sidecar(c)]
    for container in [*relevant, *spec.get("containers", [])]:
        status = by_name.get(container["name"])
        if status is None:
            unknown.append(container["name"])
        elif not status.get("ready"):
            unready.append(container["name"])
    if (phase == "Succeeded" and not unknown) or phase == "Failed":
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        return {"type": "ContainersReady", "status": "False", "reason": reason}
    messages = []
    if unknown:
        messages.append(f"containers with unknown status: {go_list(unknown)}")
    if unready:
        messages.append(f"containers with unready status: {go_list(unready)}")
    if messages:
        return {
            "type": "ContainersReady",
            "status": "False",
            "reason": "ContainersNotReady",
            "message": ", ".join(messages),
        }
    return {"type": "ContainersReady", "status": "True"}


def ready(
    spec: dict[str, Any], conditions: list[dict[str, Any]], containers_ready: dict[str, Any]
) -> dict[str, Any]:
    if containers_ready["status"] != "True":
        return {**containers_ready, "type": "Ready"}
    by_type = {c.get("type"): c for c in conditions}
    messages = []
    for gate in spec.get("readinessGates") or []:
        kind = gate.get("conditionType", "")
        cond = by_type.get(kind)
        if cond is None:
            messages.append(
                f'corresponding condition of pod readiness gate "{kind}" does not exist.'
            )
        elif cond.get("status") != "True":
            messages.append(
                f'the status of pod readiness gate "{kind}" is not "True", but {cond.get("status")}'
            )
    if messages:
        return {
            "type": "Ready",
            "status": "False",
            "reason": "ReadinessGatesNotReady",
            "message": ", ".join(messages),
        }
    return {"type": "Ready", "status": "True"}


def initialized(spec: dict[str, Any], statuses: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    by_name = {s.get("name"): s for s in statuses}
    unknown: list[str] = []
    incomplete: list[str] = []
    for container in spec.get("initContainers") or []:
        status = by_name.get(container["name"])
        if status is None:
            unknown.append(container["name"])
        elif not (status.get("started") if is_sidecar(container) else status.get("ready")):
            incomplete.append(container["name"])
    if phase == "Succeeded" and not unknown:
        return {"type": "Initialized", "status": "True", "reason": "PodCompleted"}
    if any_regular_started(spec, statuses):
        return {"type": "Initialized", "status": "True"}
    messages = []
    if unknown:
        messages.append(f"containers with unknown status: {go_list(unknown)}")
    if incomplete:
        messages.append(f"containers with incomplete status: {go_list(incomplete)}")
    if messages:
        return {
            "type": "Initialized",
            "status": "False",
            "reason": "ContainersNotInitialized",
            "message": ", ".join(messages),
        }
    return {"type": "Initialized", "status": "True"}
