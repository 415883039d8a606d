"""The kubelet: runs the pods bound to this node and reports them, through the API only.

``Kubelet.run`` owns, in one ``TaskGroup``: an informer on this node's pods
(``fieldSelector=spec.nodeName=<node>``) feeding the pod workers, an informer on Services
(for the service link variables), the PLEG, the status manager, the event recorder and
the housekeeping loop that stops and removes sandboxes and containers of pods that no
longer exist (at start, which is how a restarted kubeproc adopts or reaps what it left
running, and every ``housekeeping_period``).

Cancelling ``run`` leaves containers running on purpose: pods survive a restart of
kubeproc. ``drain`` is the other ending, for ``kubeproc down``: every pod stopped
gracefully (preStop, SIGTERM, grace, SIGKILL) and its sandbox removed.

The kubelet is also the ``PodContainers`` the kubelet server asks for log and exec
targets: the current or previous instance of a container, per the pod's status.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Mapping
from typing import Any

from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient, Informer
from kubeproc.kubelet.apisources import ApiSources, resource_of
from kubeproc.kubelet.backoff import Backoff
from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.envvars import service_env
from kubeproc.kubelet.events import EventRecorder, field_path
from kubeproc.kubelet.lifecycle import HookRunner, HttpGetter
from kubeproc.kubelet.locator import LocatedContainer
from kubeproc.kubelet.nodestatus import machine_resources
from kubeproc.kubelet.pleg import Pleg, PodLifecycleEvent
from kubeproc.kubelet.podsync import PodSync
from kubeproc.kubelet.podworkers import PodWorkers
from kubeproc.kubelet.probehooks import ProbeHooks
from kubeproc.kubelet.prober import ProbeEvent, ProbeManager, ProbeRunner
from kubeproc.kubelet.prober.runner import KubeletProbeRunner
from kubeproc.kubelet.runtime.types import ContainerPhase, Runtime
from kubeproc.kubelet.runtimemanager import RuntimeManager
from kubeproc.kubelet.runtimestatus import ReasonCache
from kubeproc.kubelet.status import refresh_probe_fields
from kubeproc.kubelet.statusmanager import StatusManager
from kubeproc.kubelet.timing import wait_event
from kubeproc.kubelet.volumes import VolumeManager
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


class Kubelet:
    def __init__(
        self,
        client: ApiClient,
        registry: Registry,
        clock: Clock,
        runtime: Runtime,
        config: KubeletConfig,
        *,
        probes: ProbeHooks | None = None,
        prober: ProbeRunner | None = None,
        on_ready: Callable[[bool], None] | None = None,
        allocatable: Mapping[str, str] | None = None,
        http_get: HttpGetter | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.runtime = runtime
        self.config = config
        self.prober = ProbeManager(
            clock,
            prober or KubeletProbeRunner(runtime),
            on_pod_change=self._probe_result_changed,
            on_event=self._probe_event,
        )
        self.probes = probes or self.prober.hooks()
        self.on_ready = on_ready
        if allocatable is None:
            config.root_dir.mkdir(parents=True, exist_ok=True)
            allocatable = machine_resources(config.root_dir)
        self.pods_rt = resource_of(registry, "", "pods")
        self.services_rt = resource_of(registry, "", "services")
        sources = ApiSources(client, registry)
        self.backoff = Backoff(
            clock,
            initial=config.backoff_initial,
            maximum=config.backoff_max,
            reset_after=config.backoff_reset,
        )
        self.reasons = ReasonCache()
        self.recorder = EventRecorder(
            client, resource_of(registry, "", "events"), clock, node_name=config.node_name
        )
        self.pleg = Pleg(
            runtime, clock, relist_period=config.relist_period, on_event=self._on_pleg_event
        )
        self.volumes = VolumeManager(
            config.pods_dir, sources, host_ip=config.host_ip, allocatable=allocatable
        )
        self.manager = RuntimeManager(
            runtime,
            config,
            clock,
            recorder=self.recorder,
            backoff=self.backoff,
            reasons=self.reasons,
            hooks=HookRunner(runtime, clock, http_get=http_get),
            volumes=self.volumes,
            sources=sources,
            services=self._service_env,
            allocatable=allocatable,
            probes=self.probes,
        )
        self.status_manager = StatusManager(
            client,
            self.pods_rt,
            clock,
            resync=config.status_resync,
            pod_lookup=self._pod_by_uid,
            pod_finished=self._pod_finished,
        )
        self.sync = PodSync(
            config=config,
            pleg=self.pleg,
            manager=self.manager,
            status_manager=self.status_manager,
            volumes=self.volumes,
            reasons=self.reasons,
            backoff=self.backoff,
            probes=self.probes,
            runtime_name=runtime.name,
            on_status=self._status_generated,
            on_gone=self.prober.remove_pod,
        )
        self.pod_workers = PodWorkers(
            self.sync,
            clock,
            resync_period=config.resync_period,
            error_backoff=config.sync_error_backoff,
            on_finished=self.status_manager.poke,
        )
        self._pods_by_uid: dict[str, dict[str, Any]] = {}
        self._services: Informer | None = None
        self.ready = asyncio.Event()

    # -- wiring --------------------------------------------------------------------------

    def _pod_by_uid(self, uid: str) -> dict[str, Any] | None:
        return self._pods_by_uid.get(uid)

    def _pod_finished(self, uid: str) -> bool:
        return self.pod_workers.is_finished(uid)

    def _service_env(self, namespace: str) -> dict[str, str]:
        if self._services is None:
            return {}
        services = self._services.objects.values()
        return service_env(
            s
            for s in services
            if s["metadata"].get("namespace") == namespace
            or (s["metadata"].get("namespace"), s["metadata"]["name"]) == ("default", "kubernetes")
        )

    def _pod_changed(
        self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        if old is not None and (new is None or old["metadata"]["uid"] != new["metadata"]["uid"]):
            self._pods_by_uid.pop(old["metadata"]["uid"], None)
            self.pod_workers.remove_pod(old["metadata"]["uid"])
        if new is None:
            return
        if new.get("spec", {}).get("nodeName") != self.config.node_name:
            self.pod_workers.remove_pod(new["metadata"]["uid"])
            return
        self._pods_by_uid[new["metadata"]["uid"]] = new
        self.prober.add_pod(new)  # idempotent: workers exist before the first status
        self.pod_workers.update_pod(new, sync=old is None or _differs_semantically(old, new))

    def _status_generated(self, pod: dict[str, Any], status: dict[str, Any]) -> None:
        """Every freshly generated status reaches the prober (``AddPod``/``UpdatePodStatus``)."""
        statuses = [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]
        self.prober.update_pod({**pod, "status": status}, statuses)

    def _probe_result_changed(self, uid: str) -> None:
        """A probe result changed: ``ready``/``started`` to the API now, then sync the pod."""
        pod = self._pods_by_uid.get(uid)
        cached = self.status_manager.get(uid)
        if pod is not None and cached is not None:
            self.status_manager.set(pod, refresh_probe_fields(pod, cached, self.probes))
        self.trigger_sync(uid)

    def _probe_event(self, event: ProbeEvent) -> None:
        pod = self._pods_by_uid.get(event.pod_uid)
        if pod is None:
            return
        init = any(
            c.get("name") == event.container_name
            for c in pod.get("spec", {}).get("initContainers") or []
        )
        self.recorder.event(
            pod,
            event.type,
            event.reason,
            event.message,
            field_path=field_path(event.container_name, init=init),
        )

    def _on_pleg_event(self, event: PodLifecycleEvent) -> None:
        self.pod_workers.wake(event.pod_uid)

    def trigger_sync(self, pod_uid: str) -> None:
        """Sync this pod now (the prober calls this when a result changes)."""
        self.pod_workers.wake(pod_uid)

    def _set_ready(self, ready: bool) -> None:
        if ready:
            self.ready.set()
        else:
            self.ready.clear()
        if self.on_ready is not None:
            self.on_ready(ready)

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled; containers keep running afterwards (see ``drain``)."""
        self._pods_by_uid = {}
        pods = Informer(
            self.client,
            self.pods_rt,
            self.clock,
            listener=self._pod_changed,
            params={"fieldSelector": f"spec.nodeName={self.config.node_name}"},
        )
        self._services = Informer(self.client, self.services_rt, self.clock)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.recorder.run(), name="kubelet-events")
                tg.create_task(self.status_manager.run(), name="kubelet-status")
                tg.create_task(pods.run(), name="kubelet-pod-informer")
                tg.create_task(self._services.run(), name="kubelet-service-informer")
                await pods.synced.wait()
                await self._services.synced.wait()
                await self.housekeeping()
                tg.create_task(self.prober.run(), name="kubelet-prober")
                tg.create_task(self.pleg.run(), name="kubelet-pleg")
                tg.create_task(self.pod_workers.run(), name="kubelet-pod-workers")
                tg.create_task(self._housekeeping_loop(), name="kubelet-housekeeping")
                self._set_ready(True)
                log.info(
                    "kubelet running node=%s runtime=%s", self.config.node_name, self.runtime.name
                )
        finally:
            self._set_ready(False)

    async def _housekeeping_loop(self) -> None:
        never = asyncio.Event()
        while True:
            await wait_event(never, self.clock, self.config.housekeeping_period)
            try:
                await self.housekeeping()
            except Exception:
                log.exception("housekeeping failed")

    async def housekeeping(self) -> None:
        """Stop and remove what belongs to pods this kubelet no longer knows."""
        snapshot = await self.pleg.relist()
        pods_dir = self.config.pods_dir
        entries = list(pods_dir.iterdir()) if pods_dir.is_dir() else []
        known = self.pod_workers.known() | set(self._pods_by_uid)
        in_runtime = snapshot.uids() & known
        for uid in sorted(snapshot.uids() - known):
            status = snapshot.pod(uid)
            log.info("removing orphaned pod uid=%s containers=%d", uid, len(status.containers))
            await self.manager.kill_pod(
                None, status, grace_override=self.config.orphan_grace_seconds
            )
            await self.manager.remove_pod(None, status)
            await self.volumes.teardown(uid)
        for entry in entries:
            uid = entry.name.rsplit("_", 1)[-1]
            if uid in known or uid in in_runtime:
                continue
            if entry.name == uid:
                await self.volumes.teardown(uid)
            shutil.rmtree(entry, ignore_errors=True)
        self.backoff.gc()

    async def drain(self) -> None:
        """Stop every pod gracefully and remove its sandbox (``kubeproc down``); after ``run``."""
        snapshot = await self.pleg.relist()
        async with asyncio.TaskGroup() as tg:
            for uid in snapshot.uids():
                tg.create_task(self._drain_pod(uid))
        log.info("kubelet drained node=%s pods=%d", self.config.node_name, len(snapshot.uids()))

    async def _drain_pod(self, uid: str) -> None:
        status = self.pleg.snapshot.pod(uid)
        pod = self._pods_by_uid.get(uid)
        await self.manager.kill_pod(pod, status)
        await self.manager.remove_pod(pod, status)
        await self.volumes.teardown(uid)

    # -- PodContainers -------------------------------------------------------------------

    def locate(
        self, namespace: str, pod: str, container: str, *, previous: bool
    ) -> LocatedContainer | None:
        """The instance ``kubectl logs [--previous]`` means, as ``validateContainerLogStatus``."""
        obj = next(
            (
                p
                for p in self._pods_by_uid.values()
                if p["metadata"].get("namespace") == namespace and p["metadata"].get("name") == pod
            ),
            None,
        )
        if obj is None:
            return None
        uid = obj["metadata"]["uid"]
        status = self.status_manager.get(uid) or obj.get("status") or {}
        found = next(
            (
                s
                for s in [
                    *status.get("containerStatuses", []),
                    *status.get("initContainerStatuses", []),
                ]
                if s.get("name") == container
            ),
            None,
        )
        if found is None:
            return None
        container_id = _log_container_id(found, previous=previous).partition("://")[2]
        if not container_id:
            return None
        instance = self.pleg.container(container_id)
        if instance is None:
            return None
        return LocatedContainer(
            pod_uid=uid,
            container_id=container_id,
            log_path=instance.log_path or self._log_path(obj, instance.name, instance.attempt),
            running=instance.phase is ContainerPhase.RUNNING,
        )

    def _log_path(self, pod: dict[str, Any], container: str, attempt: int) -> str:
        meta = pod["metadata"]
        return str(
            self.config.container_log_path(
                meta["namespace"], meta["name"], meta["uid"], container, attempt
            )
        )

    def is_running(self, container_id: str) -> bool:
        instance = self.pleg.container(container_id)
        return instance is not None and instance.phase is ContainerPhase.RUNNING


_SEMANTIC_META = ("labels", "annotations", "deletionTimestamp", "deletionGracePeriodSeconds")


def _differs_semantically(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """``podsDifferSemantically``, plus readiness-gate conditions (``HandlePodReconcile``).

    A change of status alone (most often the kubelet's own write coming back) does not
    warrant a sync.
    """
    if old.get("spec") != new.get("spec"):
        return True
    old_meta, new_meta = old.get("metadata", {}), new.get("metadata", {})
    if any(old_meta.get(k) != new_meta.get(k) for k in _SEMANTIC_META):
        return True
    gates = {g.get("conditionType") for g in new.get("spec", {}).get("readinessGates") or []}
    if not gates:
        return False

    def gate_conditions(pod: dict[str, Any]) -> list[Any]:
        conditions = (pod.get("status") or {}).get("conditions") or []
        return [(c.get("type"), c.get("status")) for c in conditions if c.get("type") in gates]

    return gate_conditions(old) != gate_conditions(new)


def _log_container_id(status: dict[str, Any], *, previous: bool) -> str:
    last = (status.get("lastState") or {}).get("terminated") or {}
    state = status.get("state") or {}
    if previous:
        return str(last.get("containerID", ""))
    if "running" in state:
        return str(status.get("containerID", ""))
    if "terminated" in state:
        return str(state["terminated"].get("containerID") or last.get("containerID", ""))
    return str(last.get("containerID", ""))
