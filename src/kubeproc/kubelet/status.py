"""Pod status generation: ``generateAPIPodStatus`` and ``getPhase`` (kubelet_pods.go).

Pure: it takes the pod, what the runtime reports, why the last starts failed (the reason
cache), the previous status and the probe lookups, and returns the ``status`` object the
API server will hold: container statuses (``containerstatuses``), the phase, and the
conditions (``podconditions``) in the kubelet's order (PodReadyToStartContainers,
Initialized, Ready, ContainersReady, PodScheduled) after the conditions others own.
Transition times are left to the status manager, which keeps a condition's time while
its status holds. A terminal phase never changes back.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kubeproc.kubelet.actions import is_sidecar
from kubeproc.kubelet.containerstatuses import container_statuses, set_probe_fields
from kubeproc.kubelet.podconditions import (
    KUBELET_CONDITIONS,
    any_regular_started,
    containers_ready,
    has_last_termination,
    initialized,
    ready,
    state_of,
)
from kubeproc.kubelet.probehooks import ProbeHooks
from kubeproc.kubelet.runtimestatus import PodRuntimeStatus, StartFailure, sandbox_changed

__all__ = ["KUBELET_CONDITIONS", "generate_pod_status", "get_phase"]

_TERMINAL = ("Succeeded", "Failed")


def get_phase(pod: dict[str, Any], statuses: list[dict[str, Any]], pod_is_terminal: bool) -> str:
    """``getPhase``: Pending, Running, Succeeded or Failed from the container statuses."""
    spec = pod["spec"]
    by_name = {s.get("name"): s for s in statuses}
    pending_init = failed_init = pending_sidecars = 0
    unknown = running = waiting = stopped = succeeded = 0
    for container in spec.get("initContainers") or []:
        status = by_name.get(container["name"])
        state = state_of(status) if status is not None else ""
        if is_sidecar(container):
            if status is None:
                unknown += 1
            elif state == "running":
                if not status.get("started"):
                    pending_sidecars += 1
                running += 1
            elif state == "waiting" and not has_last_termination(status):
                pending_sidecars += 1
                waiting += 1
            continue
        if status is None or state == "running":
            pending_init += 1
        elif state == "terminated":
            failed_init += 1 if status["state"]["terminated"].get("exitCode") != 0 else 0
        elif has_last_termination(status):
            failed_init += 1 if status["lastState"]["terminated"].get("exitCode") != 0 else 0
        else:
            pending_init += 1
    for container in spec.get("containers", []):
        status = by_name.get(container["name"])
        if status is None:
            unknown += 1
            continue
        state = state_of(status)
        if state == "running":
            running += 1
        elif state == "terminated":
            stopped += 1
            succeeded += 1 if status["state"]["terminated"].get("exitCode") == 0 else 0
        elif has_last_termination(status):
            stopped += 1
        else:
            waiting += 1
    policy = spec.get("restartPolicy", "Always")
    if failed_init > 0 and policy == "Never":
        return "Failed"
    if (pending_init > 0 or pending_sidecars > 0) and not any_regular_started(spec, statuses):
        return "Pending"
    if waiting > 0:
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if pod_is_terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def generate_pod_status(
    pod: dict[str, Any],
    runtime: PodRuntimeStatus,
    *,
    old_status: dict[str, Any] | None = None,
    reasons: Mapping[str, StartFailure] | None = None,
    probes: ProbeHooks | None = None,
    runtime_name: str = "kubeproc",
    host_ip: str = "127.0.0.1",
    pod_is_terminal: bool = False,
) -> dict[str, Any]:
    """The pod's ``status`` (without condition transition times or ``startTime``)."""
    probes = probes or ProbeHooks()
    reasons = reasons or {}
    spec = pod["spec"]
    api_status = pod.get("status") or {}
    old = old_status if old_status is not None else api_status
    inits = spec.get("initContainers") or []
    regular = container_statuses(
        pod,
        runtime,
        old.get("containerStatuses") or [],
        spec.get("containers", []),
        has_init=bool(inits),
        is_init=False,
        reasons=reasons,
        runtime_name=runtime_name,
    )
    init = container_statuses(
        pod,
        runtime,
        old.get("initContainerStatuses") or [],
        inits,
        has_init=bool(inits),
        is_init=True,
        reasons=reasons,
        runtime_name=runtime_name,
    )
    set_probe_fields(pod, regular, spec.get("containers", []), probes, is_init=False)
    set_probe_fields(pod, init, inits, probes, is_init=True)

    phase = get_phase(pod, [*regular, *init], pod_is_terminal)
    if phase not in _TERMINAL:
        if old.get("phase") in _TERMINAL:
            phase = old["phase"]
        elif api_status.get("phase") in _TERMINAL:
            phase = api_status["phase"]
    status: dict[str, Any] = {"phase": phase}
    if phase == old.get("phase"):
        for key in ("reason", "message"):
            value = old.get(key) or api_status.get(key)
            if value:
                status[key] = value

    conditions = [
        c for c in api_status.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS
    ]
    everything = [*init, *regular]
    ready_to_start = not sandbox_changed(runtime)[0]
    all_ready = containers_ready(spec, everything, phase)
    conditions += [
        {"type": "PodReadyToStartContainers", "status": "True" if ready_to_start else "False"},
        initialized(spec, everything, phase),
        ready(spec, conditions, all_ready),
        all_ready,
        {"type": "PodScheduled", "status": "True"},
    ]
    status["conditions"] = conditions

    status["hostIP"] = host_ip
    status["hostIPs"] = [{"ip": host_ip}]
    ips = runtime.ips
    if ips:
        status["podIP"] = ips[0]
        status["podIPs"] = [{"ip": ip} for ip in ips]
    elif old.get("podIP"):
        status["podIP"] = old["podIP"]
        status["podIPs"] = old.get("podIPs") or [{"ip": old["podIP"]}]
    if old.get("startTime"):
        status["startTime"] = old["startTime"]
    if init:
        status["initContainerStatuses"] = init
    status["containerStatuses"] = regular
    qos = api_status.get("qosClass")
    if qos:
        status["qosClass"] = qos
    return status


def refresh_probe_fields(
    pod: dict[str, Any], status: dict[str, Any], probes: ProbeHooks
) -> dict[str, Any]:
    """``SetContainerReadiness``/``SetContainerStartup``: a probe result, applied at once.

    A copy of the cached ``status`` with each container's ``started`` and ``ready`` read
    again from the probe results and the ``ContainersReady`` and ``Ready`` conditions
    recomputed; nothing else changes, so a readiness flip reaches the API without waiting
    for a pod sync (which may be busy stopping the pod for its whole grace period).
    """
    spec = pod["spec"]
    fresh = copy.deepcopy(status)
    regular = fresh.get("containerStatuses") or []
    init = fresh.get("initContainerStatuses") or []
    set_probe_fields(pod, regular, spec.get("containers", []), probes, is_init=False)
    set_probe_fields(pod, init, spec.get("initContainers") or [], probes, is_init=True)
    conditions = fresh.get("conditions") or []
    all_ready = containers_ready(spec, [*init, *regular], fresh.get("phase", "Pending"))
    others = [c for c in conditions if c.get("type") not in ("Ready", "ContainersReady")]
    pod_ready = ready(spec, others, all_ready)
    fresh["conditions"] = [
        pod_ready
        if c.get("type") == "Ready"
        else all_ready
        if c.get("type") == "ContainersReady"
        else c
        for c in conditions
    ]
    return fresh
