"""Container statuses from runtime instances: ``convertToAPIContainerStatuses``.

One list per kind (init or regular containers), from the newest two instances of each
container (state, then ``lastState``), the previous status (restart counts, the last
termination of a container that vanished) and the reason cache (a container that will be
started again *waits*, with why its last start failed: ``CrashLoopBackOff``,
``CreateContainerConfigError`` …). ``set_probe_fields`` is the prober's
``UpdatePodStatus``: ``started`` and ``ready`` from the probe lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeproc.kubelet.actions import is_sidecar, should_restart
from kubeproc.kubelet.probehooks import ProbeHooks
from kubeproc.kubelet.runtime.types import ContainerPhase, ContainerStatus
from kubeproc.kubelet.runtimestatus import PodRuntimeStatus, StartFailure
from kubeproc.util.clock import rfc3339

_UNKNOWN_EXIT = 137


def _time(moment: Any) -> str | None:
    return rfc3339(moment) if moment is not None else None


def _instance_state(cs: ContainerStatus, old: dict[str, Any] | None, cid: str) -> dict[str, Any]:
    """``convertContainerStatus``'s state for one runtime instance."""
    if cs.phase is ContainerPhase.RUNNING:
        return {"running": {"startedAt": _time(cs.started_at)}}
    if cs.phase is ContainerPhase.EXITED:
        terminated: dict[str, Any] = {
            "exitCode": cs.exit_code if cs.exit_code is not None else 0,
            "reason": cs.reason,
            "startedAt": _time(cs.started_at),
            "finishedAt": _time(cs.finished_at),
            "containerID": cid,
        }
        if cs.message:
            terminated["message"] = cs.message
        return {"terminated": {k: v for k, v in terminated.items() if v not in ("", None)}}
    if cs.phase is ContainerPhase.UNKNOWN and old is not None and "running" in old.get("state", {}):
        return {
            "terminated": {
                "exitCode": _UNKNOWN_EXIT,
                "reason": "ContainerStatusUnknown",
                "message": "The container could not be located when the pod was terminated",
            }
        }
    return {"waiting": {}}


def _volume_mounts(container: dict[str, Any]) -> list[dict[str, Any]]:
    mounts = []
    for vm in container.get("volumeMounts") or []:
        entry: dict[str, Any] = {"name": vm.get("name"), "mountPath": vm.get("mountPath")}
        if vm.get("readOnly"):
            entry["readOnly"] = True
            entry["recursiveReadOnly"] = "Disabled"
        mounts.append(entry)
    return mounts


@dataclass(frozen=True)
class _ConvertContext:
    pod: dict[str, Any]
    runtime: PodRuntimeStatus
    old: dict[str, dict[str, Any]]
    specs: list[dict[str, Any]]
    default_reason: str
    runtime_name: str


def _defaults(ctx: _ConvertContext) -> dict[str, dict[str, Any]]:
    """Every container waiting by default, restart count and last state kept from before."""
    statuses: dict[str, dict[str, Any]] = {}
    for spec in ctx.specs:
        status: dict[str, Any] = {
            "name": spec["name"],
            "image": spec.get("image", ""),
            "imageID": "",
            "state": {"waiting": {"reason": ctx.default_reason}},
            "lastState": {},
            "ready": False,
            "restartCount": 0,
        }
        prev = ctx.old.get(spec["name"])
        if prev is not None:
            if "terminated" in prev.get("state", {}):
                status = {**prev}
            else:
                status["restartCount"] = prev.get("restartCount", 0)
                status["lastState"] = prev.get("lastState") or {}
        mounts = _volume_mounts(spec)
        if mounts:
            status["volumeMounts"] = mounts
        statuses[spec["name"]] = status
    return statuses


def _mark_vanished(ctx: _ConvertContext, statuses: dict[str, dict[str, Any]]) -> None:
    """A container that was running and is gone from the runtime shows stopped, not pending."""
    for spec in ctx.specs:
        name = spec["name"]
        prev = ctx.old.get(name)
        if ctx.runtime.find(name) is not None or prev is None:
            continue
        if "running" not in prev.get("state", {}):
            continue
        status = statuses[name]
        if status["state"].get("waiting", {}).get("reason") != ctx.default_reason:
            continue
        if status["lastState"].get("terminated") is not None:
            continue
        status["lastState"] = {
            "terminated": {
                "exitCode": _UNKNOWN_EXIT,
                "reason": "ContainerStatusUnknown",
                "message": "The container could not be located when the pod was deleted.  "
                "The container used to be Running",
            }
        }
        if not ctx.pod["metadata"].get("deletionTimestamp"):
            status["restartCount"] = status.get("restartCount", 0) + 1


def _apply_instances(ctx: _ConvertContext, statuses: dict[str, dict[str, Any]]) -> None:
    """The newest instance gives the state, the one before it ``lastState``."""
    seen: dict[str, int] = {}
    for cs in ctx.runtime.containers:
        count = seen.get(cs.name, 0)
        if cs.name not in statuses or count >= 2:
            continue
        cid = f"{ctx.runtime_name}://{cs.id}"
        state = _instance_state(cs, ctx.old.get(cs.name), cid)
        if count == 0:
            status = statuses[cs.name]
            status["state"] = state
            status["containerID"] = cid
            status["restartCount"] = cs.attempt
            status["lastState"] = {}
            if state.get("terminated", {}).get("reason") == "ContainerStatusUnknown":
                status["restartCount"] = ctx.old.get(cs.name, {}).get("restartCount", 0) + 1
        else:
            statuses[cs.name]["lastState"] = state
        seen[cs.name] = count + 1


def _apply_reasons(
    ctx: _ConvertContext,
    statuses: dict[str, dict[str, Any]],
    reasons: Mapping[str, StartFailure],
    *,
    is_init: bool,
) -> None:
    """A container that will be (re)started waits, with why its last start failed."""
    for spec in ctx.specs:
        latest = ctx.runtime.find(spec["name"])
        if (
            is_init
            and latest is not None
            and latest.phase is ContainerPhase.EXITED
            and latest.exit_code == 0
        ):
            continue
        if not should_restart(spec, ctx.pod, ctx.runtime):
            continue
        failure = reasons.get(spec["name"])
        if failure is None:
            continue
        status = statuses[spec["name"]]
        if "terminated" in status["state"]:
            status["lastState"] = status["state"]
        waiting = {"reason": failure.reason}
        if failure.message:
            waiting["message"] = failure.message
        status["state"] = {"waiting": waiting}


def container_statuses(
    pod: dict[str, Any],
    runtime: PodRuntimeStatus,
    previous: list[dict[str, Any]],
    specs: list[dict[str, Any]],
    *,
    has_init: bool,
    is_init: bool,
    reasons: Mapping[str, StartFailure],
    runtime_name: str,
) -> list[dict[str, Any]]:
    """``convertToAPIContainerStatuses`` for one list (init or regular containers)."""
    ctx = _ConvertContext(
        pod,
        runtime,
        {s.get("name", ""): s for s in previous},
        specs,
        "PodInitializing" if has_init else "ContainerCreating",
        runtime_name,
    )
    statuses = _defaults(ctx)
    _mark_vanished(ctx, statuses)
    _apply_instances(ctx, statuses)
    _apply_reasons(ctx, statuses, reasons, is_init=is_init)
    if is_init:
        return [statuses[s["name"]] for s in specs]
    return [statuses[name] for name in sorted(statuses)]


def set_probe_fields(
    pod: dict[str, Any],
    statuses: list[dict[str, Any]],
    specs: list[dict[str, Any]],
    probes: ProbeHooks,
    *,
    is_init: bool,
) -> None:
    """``prober.UpdatePodStatus``: ``started`` and ``ready`` of each container status."""
    uid = pod["metadata"].get("uid", "")
    by_name = {s["name"]: s for s in specs}
    for status in statuses:
        cid = status.get("containerID", "").partition("://")[2]
        running = "running" in status["state"]
        started = running and probes.startup(uid, cid, name=status["name"]) is not False
        status["started"] = started
        spec = by_name.get(status["name"], {})
        if is_init and not is_sidecar(spec):
            terminated = status["state"].get("terminated")
            status["ready"] = terminated is not None and terminated.get("exitCode") == 0
            continue
        status["ready"] = started and probes.readiness(uid, cid, name=status["name"]) is not False
