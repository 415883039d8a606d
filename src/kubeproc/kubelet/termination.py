"""Stopping containers and pods: ``killContainer`` and ``killPodWithSyncResult``.

The grace period follows §4.2: the pod's ``deletionGracePeriodSeconds`` while it is being
deleted, else the failed probe's ``terminationGracePeriodSeconds`` for a probe kill, else
the pod's ``terminationGracePeriodSeconds``. The ``Killing`` event comes first, then the
preStop hook, which may use the grace period and whose whole seconds are subtracted
from it, then the runtime's stop signal, grace, SIGKILL, never with less than 2 s. A pod
stops its regular containers together and its sidecars last, in reverse order, then its
sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from kubeproc.kubelet import events as ev
from kubeproc.kubelet.actions import ContainerToKill, is_sidecar
from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.lifecycle import HookRunner
from kubeproc.kubelet.probehooks import ProbeKind
from kubeproc.kubelet.runtime.types import ContainerPhase, ContainerStatus, NotFoundError, Runtime
from kubeproc.kubelet.runtimestatus import LABEL_TERMINATION_GRACE, PodRuntimeStatus
from kubeproc.kubelet.timing import run_with_deadline
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


def termination_grace(
    pod: dict[str, Any] | None, spec: dict[str, Any] | None, probe: ProbeKind | None
) -> float:
    """``setTerminationGracePeriod`` (§4.2): deletion, then the probe's, then the pod's."""
    if pod is None:
        return 2.0
    meta = pod.get("metadata", {})
    if meta.get("deletionGracePeriodSeconds") is not None:
        return float(meta["deletionGracePeriodSeconds"])
    tgps = pod.get("spec", {}).get("terminationGracePeriodSeconds")
    if tgps is None:
        return 2.0
    if probe is not None and spec is not None:
        probe_spec = spec.get(f"{probe.value}Probe") or {}
        if probe_spec.get("terminationGracePeriodSeconds") is not None:
            return float(probe_spec["terminationGracePeriodSeconds"])
    return float(tgps)


def find_spec(pod: dict[str, Any] | None, name: str) -> tuple[dict[str, Any] | None, bool]:
    """(container spec, is init container) for ``name``."""
    if pod is None:
        return None, False
    for c in pod["spec"].get("containers", []):
        if c["name"] == name:
            return c, False
    for c in pod["spec"].get("initContainers") or []:
        if c["name"] == name:
            return c, True
    return None, False


class Terminator:
    def __init__(
        self,
        runtime: Runtime,
        config: KubeletConfig,
        clock: Clock,
        *,
        recorder: ev.EventSink,
        hooks: HookRunner,
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.clock = clock
        self.recorder = recorder
        self.hooks = hooks

    async def kill_container(
        self,
        pod: dict[str, Any] | None,
        spec: dict[str, Any] | None,
        instance: ContainerStatus,
        message: str,
        probe: ProbeKind | None,
        *,
        init: bool = False,
        grace_override: float | None = None,
    ) -> None:
        """``killContainer``: Killing event, preStop within the grace period, stop."""
        grace = termination_grace(pod, spec, probe)
        if pod is None:
            with contextlib.suppress(ValueError):
                grace = float(instance.labels.get(LABEL_TERMINATION_GRACE, grace))
        if pod is not None:
            text = message or f"Stopping container {instance.name}"
            self.recorder.event(
                pod, ev.NORMAL, ev.KILLING, text, field_path=ev.field_path(instance.name, init=init)
            )
        if grace_override is not None:
            grace = grace_override
        pre_stop = ((spec or {}).get("lifecycle") or {}).get("preStop")
        if pod is not None and spec is not None and pre_stop is not None and grace > 0:
            grace -= await self._pre_stop(pod, spec, instance, pre_stop, grace=grace, init=init)
        grace = max(grace, self.config.min_grace_seconds)
        log.info(
            "killing container container=%s id=%s grace=%.0fs", instance.name, instance.id, grace
        )
        with contextlib.suppress(NotFoundError):
            await self.runtime.stop_container(instance.id, grace)

    async def _pre_stop(
        self,
        pod: dict[str, Any],
        spec: dict[str, Any],
        instance: ContainerStatus,
        handler: dict[str, Any],
        *,
        grace: float,
        init: bool,
    ) -> float:
        """``executePreStopHook``: whole seconds it took (the hook is abandoned at ``grace``)."""
        started = self.clock.monotonic()
        ip = ""
        with contextlib.suppress(Exception):
            boxes = [b for b in await self.runtime.list_sandboxes() if b.id == instance.sandbox_id]
            ip = boxes[0].ip if boxes else ""
        finished, message = await run_with_deadline(
            self.hooks.run(pod, spec, instance.id, handler, ip), self.clock, grace
        )
        if finished and message is not None:
            log.warning("preStop hook failed container=%s message=%s", instance.name, message)
            # Like upstream, the event does not carry the message (it could leak secrets).
            self.recorder.event(
                pod,
                ev.WARNING,
                ev.FAILED_PRE_STOP_HOOK,
                "PreStopHook failed",
                field_path=ev.field_path(instance.name, init=init),
            )
        return float(int(self.clock.monotonic() - started))

    async def kill_pod(
        self,
        pod: dict[str, Any] | None,
        status: PodRuntimeStatus,
        *,
        grace_override: float | None = None,
        reasons: Mapping[str, ContainerToKill] | None = None,
    ) -> bool:
        """Stop all containers (regular ones at once, sidecars last, reversed), then sandboxes."""
        reasons = reasons or {}
        live = [c for c in status.containers if c.phase is not ContainerPhase.EXITED]
        sidecar_names = [
            c["name"]
            for c in (pod or {}).get("spec", {}).get("initContainers") or []
            if is_sidecar(c)
        ]

        async def kill(instance: ContainerStatus) -> None:
            spec, init = find_spec(pod, instance.name)
            why = reasons.get(instance.id)
            await self.kill_container(
                pod,
                spec,
                instance,
                why.message if why is not None else "",
                why.probe if why is not None else None,
                init=init,
                grace_override=grace_override,
            )

        async with asyncio.TaskGroup() as tg:
            for instance in live:
                if instance.name not in sidecar_names:
                    tg.create_task(kill(instance))
        for name in reversed(sidecar_names):
            for instance in live:
                if instance.name == name:
                    await kill(instance)
        for box in status.sandboxes:
            if box.ready:
                with contextlib.suppress(NotFoundError):
                    await self.runtime.stop_sandbox(box.id)
        return bool(live) or any(b.ready for b in status.sandboxes)
