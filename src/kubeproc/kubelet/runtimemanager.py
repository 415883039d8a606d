"""Acting on a pod: the effects half of the kubelet's ``kubeGenericRuntimeManager``.

``sync_pod`` computes ``PodActions`` (pure) and then applies them in ``SyncPod``'s order:
kill the pod or the unwanted containers, prune old instances, set up volumes, create
the sandbox, start init containers in order, then the regular containers. Starting a
container is ``startContainer``: back-off step, ``Pulled``, config (failing as
``CreateContainerConfigError``), create (``CreateContainerError``), start
(``RunContainerError``), ``Created``/``Started`` events, and the postStart hook whose
failure kills the container (``FailedPostStartHook``, ``PostStartHookError``). Each start's
outcome lands in the reason cache, from which status generation takes waiting reasons.

Killing is ``termination.Terminator``'s; pruning and removing old instances (with their
log files) is here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeproc.kubelet import events as ev
from kubeproc.kubelet.actions import (
    ContainerToKill,
    ContainerToStart,
    PodActions,
    compute_pod_actions,
    format_pod,
    is_sidecar,
)
from kubeproc.kubelet.backoff import Backoff
from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.containerconfig import (
    ContainerConfigError,
    PodContext,
    etc_hosts,
    generate_container_config,
    sandbox_config,
)
from kubeproc.kubelet.envvars import ConfigSources
from kubeproc.kubelet.lifecycle import HookRunner
from kubeproc.kubelet.poddns import pod_dns, read_host_dns
from kubeproc.kubelet.probehooks import ProbeHooks, ProbeKind
from kubeproc.kubelet.runtime.types import (
    ContainerPhase,
    ContainerRuntimeError,
    ContainerStatus,
    NotFoundError,
    Runtime,
    SandboxConfig,
    SandboxStatus,
)
from kubeproc.kubelet.runtimestatus import (
    PodRuntimeStatus,
    ReasonCache,
    StartFailure,
)
from kubeproc.kubelet.termination import Terminator, find_spec
from kubeproc.kubelet.volumes import VolumeError, VolumeManager
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)
_KEEP_INSTANCES = 2  # the current instance and the one ``lastState``/``--previous`` show


@dataclass(frozen=True)
class SyncOutcome:
    requeue_after: float | None = None
    error: str | None = None
    acted: bool = False
    """The runtime changed (something created, started or killed): relist soon."""
    reasons_changed: bool = False


class RuntimeManager:
    def __init__(
        self,
        runtime: Runtime,
        config: KubeletConfig,
        clock: Clock,
        *,
        recorder: ev.EventSink,
        backoff: Backoff,
        reasons: ReasonCache,
        hooks: HookRunner,
        volumes: VolumeManager,
        sources: ConfigSources,
        services: Callable[[str], Mapping[str, str]] = lambda namespace: {},
        allocatable: Mapping[str, str] | None = None,
        probes: ProbeHooks | None = None,
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.clock = clock
        self.recorder = recorder
        self.backoff = backoff
        self.reasons = reasons
        self.hooks = hooks
        self.volumes = volumes
        self.sources = sources
        self.services = services
        self.allocatable = dict(allocatable or {})
        self.probes = probes or ProbeHooks()
        self.terminator = Terminator(runtime, config, clock, recorder=recorder, hooks=hooks)

    # -- sync ----------------------------------------------------------------------------

    async def sync_pod(self, pod: dict[str, Any], status: PodRuntimeStatus) -> SyncOutcome:
        """Compute the pod's actions and apply them (``SyncPod``)."""
        actions = compute_pod_actions(
            pod, status, self.backoff, self.clock.now(), probes=self.probes
        )
        acted = await self._apply_kills(pod, status, actions)
        await self.prune(pod, status)
        changed = self._hold_back(pod, actions)
        starts = [*actions.init_containers_to_start, *actions.containers_to_start]
        if not starts and not actions.create_sandbox:
            return SyncOutcome(actions.requeue_after, None, acted, changed)
        try:
            volumes = await self.volumes.setup(pod, self.clock.now())
        except VolumeError as err:
            self.recorder.event(pod, ev.WARNING, ev.FAILED_MOUNT, err.event_message)
            return SyncOutcome(None, err.event_message, acted, changed)
        sandbox = status.active_sandbox
        if actions.create_sandbox:
            try:
                sandbox = await self.runtime.run_sandbox(self._sandbox_config(pod))
            except ContainerRuntimeError as err:
                message = f"Failed to create pod sandbox: {err.message}"
                self.recorder.event(pod, ev.WARNING, ev.FAILED_CREATE_SANDBOX, message)
                return SyncOutcome(None, message, acted, changed)
            acted = True
        if sandbox is None:
            return SyncOutcome(actions.requeue_after, None, acted, changed)
        ctx = PodContext(
            pod_ips=[sandbox.ip] if sandbox.ip else [],
            volumes=volumes,
            services=self.services(pod["metadata"].get("namespace", "")),
            etc_hosts_path=self._write_etc_hosts(pod, sandbox),
        )
        started, error = await self._start_all(pod, status, sandbox, ctx, actions)
        return SyncOutcome(actions.requeue_after, error, acted or started, changed or bool(starts))

    async def _apply_kills(
        self, pod: dict[str, Any], status: PodRuntimeStatus, actions: PodActions
    ) -> bool:
        """Kill the pod (sandbox changed, or nothing left to run) or the unwanted containers."""
        if actions.create_sandbox and actions.sandbox_id:
            self.recorder.event(
                pod,
                ev.NORMAL,
                ev.SANDBOX_CHANGED,
                "Pod sandbox changed, it will be killed and re-created.",
            )
        if actions.kill_pod:
            # The kill reasons computed for single containers still name the cause
            # (``Container app failed liveness probe`` with restartPolicy Never, §9.4 AT-64).
            reasons = {k.container_id: k for k in actions.containers_to_kill}
            acted = await self.kill_pod(pod, status, reasons=reasons)
            if actions.create_sandbox:  # a new sandbox starts initialization over
                for cs in status.containers:
                    if find_spec(pod, cs.name)[1]:
                        await self._remove_container(pod, cs)
            return acted
        acted = False
        for kill in actions.containers_to_kill:
            spec, init = find_spec(pod, kill.name)
            instance = next((c for c in status.containers if c.id == kill.container_id), None)
            if instance is not None:
                await self.kill_container(pod, spec, instance, kill.message, kill.probe, init=init)
                acted = True
        return acted

    def _hold_back(self, pod: dict[str, Any], actions: PodActions) -> bool:
        """``BackOff`` events and ``CrashLoopBackOff`` reasons for the starts held back."""
        changed = False
        for held in actions.backing_off:
            self.recorder.event(
                pod,
                ev.WARNING,
                ev.BACKOFF,
                held.event_message,
                field_path=ev.field_path(held.name, init=held.init),
            )
            failure = StartFailure("CrashLoopBackOff", held.message)
            changed |= self._set_reason(pod["metadata"]["uid"], held.name, failure)
        return changed

    async def _start_all(
        self,
        pod: dict[str, Any],
        status: PodRuntimeStatus,
        sandbox: SandboxStatus,
        ctx: PodContext,
        actions: PodActions,
    ) -> tuple[bool, str | None]:
        """Init containers in order (a failed one stops the rest), then the regular ones."""
        acted = False
        for start in actions.init_containers_to_start:
            ok, did = await self._start(pod, status, sandbox, ctx, start)
            acted |= did
            spec, _ = find_spec(pod, start.name)
            if not ok and not (spec is not None and is_sidecar(spec)):
                return acted, f"init container {start.name} failed to start"
        error: str | None = None
        for start in actions.containers_to_start:
            ok, did = await self._start(pod, status, sandbox, ctx, start)
            acted |= did
            if not ok:
                error = f"container {start.name} failed to start"
        return acted, error

    def _set_reason(self, uid: str, name: str, failure: StartFailure | None) -> bool:
        before = self.reasons.get(uid, name)
        self.reasons.update(uid, name, failure)
        return before != failure

    def _sandbox_config(self, pod: dict[str, Any]) -> SandboxConfig:
        """The sandbox's record, its DNS settings over the node's resolver file (read now,
        as the kubelet reads it for every sandbox); a cut to the limits is a warning event."""
        dns = pod_dns(
            pod,
            cluster_dns=self.config.cluster_dns,
            cluster_domain=self.config.cluster_domain,
            host=read_host_dns(self.config.resolv_conf),
        )
        for message in dns.warnings:
            self.recorder.event(pod, ev.WARNING, ev.DNS_CONFIG_FORMING, message)
        return sandbox_config(pod, self.config, dns.config)

    def _write_etc_hosts(self, pod: dict[str, Any], sandbox: SandboxStatus) -> str | None:
        """The managed /etc/hosts, for pods with their own network namespace only."""
        if sandbox.netns_path is None or pod["spec"].get("hostNetwork"):
            return None
        path = self.config.pod_dir(pod["metadata"]["uid"]) / "etc-hosts"
        path.parent.mkdir(parents=True, exist_ok=True)
        content = etc_hosts(pod, sandbox.ip, self.config)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
        return str(path)

    async def _start(
        self,
        pod: dict[str, Any],
        status: PodRuntimeStatus,
        sandbox: SandboxStatus,
        ctx: PodContext,
        start: ContainerToStart,
    ) -> tuple[bool, bool]:
        """``startContainer``: (succeeded, touched the runtime)."""
        uid = pod["metadata"]["uid"]
        spec, init = find_spec(pod, start.name)
        assert spec is not None
        where = ev.field_path(start.name, init=init)
        if start.backoff_since is not None:
            self.backoff.next(start.backoff_key, start.backoff_since)
        latest = status.find(start.name)
        attempt = latest.attempt + 1 if latest is not None else 0
        if spec.get("command"):
            self.recorder.event(
                pod,
                ev.NORMAL,
                ev.PULLED,
                ev.pulled_message(spec.get("image", "")),
                field_path=where,
            )
        try:
            cfg, warnings = await generate_container_config(
                pod,
                spec,
                init=init,
                attempt=attempt,
                ctx=ctx,
                sources=self.sources,
                config=self.config,
                allocatable=self.allocatable,
            )
        except ContainerConfigError as err:
            self.recorder.event(
                pod, ev.WARNING, ev.FAILED, f"Error: {err.message}", field_path=where
            )
            self._set_reason(uid, start.name, StartFailure(err.reason, err.message))
            return False, False
        for warning in warnings:
            self.recorder.event(pod, ev.WARNING, ev.INVALID_ENV_NAMES, warning)
        Path(cfg.log_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            container_id = await self.runtime.create_container(sandbox.id, cfg)
        except ContainerRuntimeError as err:
            self.recorder.event(
                pod, ev.WARNING, ev.FAILED, f"Error: {err.message}", field_path=where
            )
            self._set_reason(uid, start.name, StartFailure("CreateContainerError", err.message))
            return False, False
        self.recorder.event(
            pod, ev.NORMAL, ev.CREATED, ev.created_message(start.name), field_path=where
        )
        try:
            await self.runtime.start_container(container_id)
        except ContainerRuntimeError as err:
            self.recorder.event(
                pod, ev.WARNING, ev.FAILED, f"Error: {err.message}", field_path=where
            )
            self._set_reason(uid, start.name, StartFailure("RunContainerError", err.message))
            return False, True
        self.recorder.event(
            pod, ev.NORMAL, ev.STARTED, ev.started_message(start.name), field_path=where
        )
        log.info(
            "container started pod=%s container=%s attempt=%d", format_pod(pod), start.name, attempt
        )
        post_start = (spec.get("lifecycle") or {}).get("postStart")
        if post_start is not None:
            message = await self.hooks.run(pod, spec, container_id, post_start, sandbox.ip)
            if message is not None:
                self.recorder.event(
                    pod, ev.WARNING, ev.FAILED_POST_START_HOOK, message, field_path=where
                )
                instance = await self.runtime.container_status(container_id)
                await self.kill_container(
                    pod, spec, instance, "FailedPostStartHook", None, init=init
                )
                self._set_reason(uid, start.name, StartFailure("PostStartHookError", message))
                return False, True
        self._set_reason(uid, start.name, None)
        return True, True

    # -- killing -------------------------------------------------------------------------

    async def kill_container(
        self,
        pod: dict[str, Any] | None,
        spec: dict[str, Any] | None,
        instance: ContainerStatus,
        message: str,
        probe: ProbeKind | None,
        *,
        init: bool = False,
    ) -> None:
        await self.terminator.kill_container(pod, spec, instance, message, probe, init=init)

    async def kill_pod(
        self,
        pod: dict[str, Any] | None,
        status: PodRuntimeStatus,
        *,
        grace_override: float | None = None,
        reasons: Mapping[str, ContainerToKill] | None = None,
    ) -> bool:
        return await self.terminator.kill_pod(
            pod, status, grace_override=grace_override, reasons=reasons
        )

    # -- removal -------------------------------------------------------------------------

    async def prune(self, pod: dict[str, Any], status: PodRuntimeStatus) -> None:
        """Container GC: keep the newest two instances per container, remove older exited ones."""
        seen: dict[str, int] = {}
        for cs in status.containers:
            seen[cs.name] = seen.get(cs.name, 0) + 1
            if seen[cs.name] > _KEEP_INSTANCES and cs.phase in (
                ContainerPhase.EXITED,
                ContainerPhase.CREATED,
            ):
                await self._remove_container(pod, cs)

    async def _remove_container(self, pod: dict[str, Any] | None, cs: ContainerStatus) -> None:
        path = cs.log_path
        if not path and pod is not None:
            meta = pod["metadata"]
            path = str(
                self.config.container_log_path(
                    meta.get("namespace", ""),
                    meta.get("name", ""),
                    meta.get("uid", ""),
                    cs.name,
                    cs.attempt,
                )
            )
        with contextlib.suppress(NotFoundError):
            await self.runtime.remove_container(cs.id)
        if path:
            log_file = Path(path)
            for rotated in log_file.parent.glob(log_file.name + "*"):
                with contextlib.suppress(OSError):
                    rotated.unlink()

    async def remove_pod(self, pod: dict[str, Any] | None, status: PodRuntimeStatus) -> None:
        """Remove every container and sandbox of the pod (after ``kill_pod``)."""
        for cs in status.containers:
            await self._remove_container(pod, cs)
        for box in status.sandboxes:
            with contextlib.suppress(NotFoundError):
                await self.runtime.stop_sandbox(box.id)
            with contextlib.suppress(NotFoundError):
                await self.runtime.remove_sandbox(box.id)
