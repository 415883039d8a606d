"""``compute_pod_actions``: what one sync must do to a pod, decided from state alone.

A port of the kubelet's ``computePodActions``, ``computeInitContainerActions`` and
``doBackOff`` (kuberuntime_manager.go, kuberuntime_container.go): create the sandbox when
there is none (or it died), start init containers one at a time and keep sidecars
(``restartPolicy: Always`` init containers) running, apply the restart-policy matrix,
kill containers whose spec changed or whose liveness/startup probe failed (restarting them
in the same sync unless the policy is Never), kill the whole pod once nothing is left to
run, and hold back any start that the crash-loop back-off forbids.

The function is pure: the back-off table is only read (``Backoff.next`` happens when a
container actually starts), and probe results come in through ``ProbeHooks``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kubeproc.kubelet.backoff import Backoff, backoff_key, go_duration
from kubeproc.kubelet.probehooks import ProbeHooks, ProbeKind
from kubeproc.kubelet.runtime.types import ContainerPhase, ContainerStatus
from kubeproc.kubelet.runtimestatus import (
    LABEL_CONTAINER_HASH,
    PodRuntimeStatus,
    container_hash,
    sandbox_changed,
)


def format_pod(pod: dict[str, Any]) -> str:
    """``format.Pod``: ``<name>_<namespace>(<uid>)``."""
    meta = pod.get("metadata", {})
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def is_sidecar(container: dict[str, Any]) -> bool:
    return bool(container.get("restartPolicy") == "Always")


@dataclass(frozen=True)
class ContainerToStart:
    name: str
    index: int
    init: bool
    backoff_key: str
    backoff_since: dt.datetime | None = None
    """Finish time of the latest exited instance: ``Backoff.next`` is called with it on start."""


@dataclass(frozen=True)
class ContainerToKill:
    container_id: str
    name: str
    message: str
    probe: ProbeKind | None = None
    """The probe whose failure caused the kill (selects its terminationGracePeriodSeconds)."""


@dataclass(frozen=True)
class BackingOff:
    """A start held back by CrashLoopBackOff: the waiting message, the event, the wait left."""

    name: str
    init: bool
    message: str
    event_message: str
    remaining: float


@dataclass(frozen=True)
class PodActions:
    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_id: str = ""
    """The sandbox being replaced (non-empty: a ``SandboxChanged`` event is due)."""
    init_containers_to_start: tuple[ContainerToStart, ...] = ()
    containers_to_start: tuple[ContainerToStart, ...] = ()
    containers_to_kill: tuple[ContainerToKill, ...] = ()
    backing_off: tuple[BackingOff, ...] = ()

    @property
    def requeue_after(self) -> float | None:
        """When the earliest held-back start may happen (§5.4: restart on time)."""
        if not self.backing_off:
            return None
        return min(b.remaining for b in self.backing_off)


@dataclass
class _Changes:
    kill_pod: bool
    create_sandbox: bool
    sandbox_id: str
    init_to_start: list[int] = field(default_factory=list)
    to_start: list[int] = field(default_factory=list)
    to_kill: list[ContainerToKill] = field(default_factory=list)


def should_restart(
    container: dict[str, Any], pod: dict[str, Any], status: PodRuntimeStatus
) -> bool:
    """``ShouldContainerBeRestarted``: the restart-policy matrix of §4.5."""
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    latest = status.find(container["name"])
    if latest is None:
        return True
    if latest.phase is ContainerPhase.RUNNING:
        return False
    if latest.phase in (ContainerPhase.UNKNOWN, ContainerPhase.CREATED):
        return True
    policy = pod.get("spec", {}).get("restartPolicy", "Always")
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and latest.exit_code == 0)


def _restart_on_failure(pod: dict[str, Any]) -> bool:
    return bool(pod.get("spec", {}).get("restartPolicy", "Always") != "Never")


def _spec_changed(container: dict[str, Any], status: ContainerStatus) -> bool:
    recorded = status.labels.get(LABEL_CONTAINER_HASH, "")
    return bool(recorded) and recorded != container_hash(container)


def _init_failed(status: ContainerStatus) -> bool:
    """``isInitContainerFailed``: exited non-zero, or in an unknown state."""
    if status.phase is ContainerPhase.EXITED:
        return status.exit_code not in (0, None)
    return status.phase is ContainerPhase.UNKNOWN


def _any_regular_created(pod: dict[str, Any], status: PodRuntimeStatus) -> bool:
    for container in pod["spec"].get("containers", []):
        latest = status.find(container["name"])
        if latest is not None and latest.phase in (
            ContainerPhase.CREATED,
            ContainerPhase.RUNNING,
            ContainerPhase.EXITED,
        ):
            return True
    return False


def _unknown_kill(status: ContainerStatus, init: bool) -> ContainerToKill:
    what = "Init container" if init else "Container"
    return ContainerToKill(
        status.id, status.name, f'{what} is in "unknown" state, try killing it before restart'
    )


def _sidecar_running(
    pod: dict[str, Any],
    index: int,
    container: dict[str, Any],
    status: ContainerStatus,
    *,
    changes: _Changes,
    probes: ProbeHooks,
    previously_initialized: bool,
) -> bool:
    """A running sidecar; True when the pod is initialized through it (it is the last)."""
    uid = pod["metadata"].get("uid", "")
    name = container["name"]
    last = index == len(pod["spec"]["initContainers"]) - 1
    if container.get("startupProbe") is not None:
        if probes.failed(uid, status.id) is ProbeKind.STARTUP:
            message = f"Init container {name} failed startup probe"
            changes.to_kill.append(ContainerToKill(status.id, name, message, ProbeKind.STARTUP))
            changes.init_to_start.append(index)
            return False
        if probes.startup(uid, status.id, name=status.name) is not True:
            return False  # not started yet: wait before starting the next one
    initialized = last
    if not last and not previously_initialized:
        changes.init_to_start.append(index + 1)
    if _spec_changed(container, status):
        message = f"Init container {name} definition changed"
        changes.to_kill.append(ContainerToKill(status.id, name, message))
        changes.init_to_start.append(index)
        return initialized
    if container.get("livenessProbe") is not None and (
        probes.failed(uid, status.id) is ProbeKind.LIVENESS
    ):
        message = f"Init container {name} failed liveness probe"
        changes.to_kill.append(ContainerToKill(status.id, name, message, ProbeKind.LIVENESS))
        changes.init_to_start.append(index)
    return initialized


def _compute_init_actions(
    pod: dict[str, Any], status: PodRuntimeStatus, changes: _Changes, probes: ProbeHooks
) -> bool:
    """``computeInitContainerActions``; True once the pod has been initialized."""
    inits: list[dict[str, Any]] = pod["spec"].get("initContainers") or []
    if not inits:
        return True
    initialized = False
    for container in pod["spec"].get("containers", []):
        latest = status.find(container["name"])
        if latest is not None and latest.phase in (ContainerPhase.CREATED, ContainerPhase.RUNNING):
            initialized = True
            break
    previously = initialized
    restart_on_failure = _restart_on_failure(pod)
    for i in range(len(inits) - 1, -1, -1):
        container = inits[i]
        latest = status.find(container["name"])
        sidecar = is_sidecar(container)
        if latest is None:
            if previously and sidecar:
                changes.init_to_start.append(i)
            continue
        if previously and not sidecar:
            continue
        if latest.phase is ContainerPhase.CREATED:
            changes.init_to_start.append(i)
        elif latest.phase is ContainerPhase.RUNNING:
            if sidecar and _sidecar_running(
                pod,
                i,
                container,
                latest,
                changes=changes,
                probes=probes,
                previously_initialized=previously,
            ):
                initialized = True
        elif latest.phase is ContainerPhase.EXITED:
            if sidecar:
                changes.init_to_start.append(i)
            elif _init_failed(latest):
                if not restart_on_failure:
                    changes.kill_pod = True
                    changes.init_to_start = []
                    return False
                changes.init_to_start.append(i)
            elif i == len(inits) - 1:
                initialized = True
            else:
                changes.init_to_start.append(i + 1)
        else:  # unknown
            if not sidecar and not restart_on_failure:
                changes.kill_pod = True
                changes.init_to_start = []
                return False
            changes.to_kill.append(_unknown_kill(latest, init=True))
            changes.init_to_start.append(i)
        previously = True
    if not previously:
        changes.init_to_start.append(0)
    changes.init_to_start.reverse()
    return initialized


def _regular_actions(
    pod: dict[str, Any], status: PodRuntimeStatus, changes: _Changes, probes: ProbeHooks
) -> None:
    uid = pod["metadata"].get("uid", "")
    keep = 0
    for idx, container in enumerate(pod["spec"].get("containers", [])):
        name = container["name"]
        latest = status.find(name)
        if latest is None or latest.phase is not ContainerPhase.RUNNING:
            if should_restart(container, pod, status):
                changes.to_start.append(idx)
                if latest is not None and latest.phase is ContainerPhase.UNKNOWN:
                    changes.to_kill.append(_unknown_kill(latest, init=False))
            continue
        restart = _restart_on_failure(pod)
        failed = probes.failed(uid, latest.id)
        probe: ProbeKind | None = None
        if _spec_changed(container, latest):
            message = f"Container {name} definition changed"
            restart = True
        elif failed is not None:
            message = f"Container {name} failed {failed.value} probe"
            probe = failed
        else:
            keep += 1
            continue
        if restart:
            message += ", will be restarted"
            changes.to_start.append(idx)
        changes.to_kill.append(ContainerToKill(latest.id, name, message, probe))
    if keep == 0 and not changes.to_start:
        changes.kill_pod = True
        changes.init_to_start = []  # sidecars must not keep a finished pod alive


def _succeeded(container: dict[str, Any], status: PodRuntimeStatus) -> bool:
    latest = status.find(container["name"])
    return latest is not None and latest.phase is ContainerPhase.EXITED and latest.exit_code == 0


def _sandbox_actions(pod: dict[str, Any], status: PodRuntimeStatus, changes: _Changes) -> None:
    """The sandbox is missing or dead: start over from the first init container."""
    spec = pod["spec"]
    if not _restart_on_failure(pod) and changes.sandbox_id and status.containers:
        changes.create_sandbox = False  # a finished Never pod gets no new sandbox
        return
    to_start = [
        i
        for i, c in enumerate(spec.get("containers", []))
        if not (spec.get("restartPolicy") == "OnFailure" and _succeeded(c, status))
    ]
    if not to_start and _any_regular_created(pod, status):
        changes.create_sandbox = False
        return
    if spec.get("initContainers"):
        changes.init_to_start = [0]
        return
    changes.to_start = to_start


def compute_pod_actions(
    pod: dict[str, Any],
    status: PodRuntimeStatus,
    backoff: Backoff,
    now: dt.datetime,
    *,
    probes: ProbeHooks | None = None,
) -> PodActions:
    """What this sync must do to bring ``pod`` from ``status`` towards its spec."""
    probes = probes or ProbeHooks()
    create, sandbox_id = sandbox_changed(status)
    changes = _Changes(kill_pod=create, create_sandbox=create, sandbox_id=sandbox_id)
    if create:
        _sandbox_actions(pod, status, changes)
    elif _compute_init_actions(pod, status, changes, probes) and not changes.kill_pod:
        _regular_actions(pod, status, changes, probes)
    return _gate(pod, status, changes, backoff, now)


def _gate(
    pod: dict[str, Any],
    status: PodRuntimeStatus,
    changes: _Changes,
    backoff: Backoff,
    now: dt.datetime,
) -> PodActions:
    """``doBackOff`` for every start: hold back the ones still backing off."""
    spec = pod["spec"]
    uid = pod["metadata"].get("uid", "")
    held: list[BackingOff] = []

    def starts(indices: list[int], init: bool) -> tuple[ContainerToStart, ...]:
        specs = spec.get("initContainers" if init else "containers") or []
        out: list[ContainerToStart] = []
        for idx in dict.fromkeys(indices):  # keep order, drop duplicates
            container = specs[idx]
            name = container["name"]
            key = backoff_key(uid, name, container_hash(container))
            exited = status.latest_exited(name)
            since = exited.finished_at if exited is not None else None
            if since is not None and backoff.in_backoff(key, since, now):
                delay = go_duration(backoff.get(key))
                held.append(
                    BackingOff(
                        name,
                        init,
                        f"back-off {delay} restarting failed container={name} "
                        f"pod={format_pod(pod)}",
                        f"Back-off restarting failed container {name} in pod {format_pod(pod)}",
                        backoff.remaining(key, since, now),
                    )
                )
                continue
            out.append(ContainerToStart(name, idx, init, key, since))
        return tuple(out)

    init_starts = starts(changes.init_to_start, init=True)
    regular_starts = starts(changes.to_start, init=False)
    return PodActions(
        kill_pod=changes.kill_pod,
        create_sandbox=changes.create_sandbox,
        sandbox_id=changes.sandbox_id,
        init_containers_to_start=init_starts,
        containers_to_start=regular_starts,
        containers_to_kill=tuple(changes.to_kill),
        backing_off=tuple(held),
    )
