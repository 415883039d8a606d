"""The kubelet's per-pod sync steps (kubelet.go ``SyncPod`` and friends), for the pod workers.

``sync_pod`` generates the status from a fresh runtime picture, hands it to the status
manager, stops if the pod is now terminal, else lets the runtime manager act and, when a
start failed or was held back, regenerates the status so the waiting reason shows at once.
``sync_terminating_pod`` kills the pod and writes the status of its stopped containers;
``sync_terminated_pod`` releases volumes and, for a pod being deleted, removes its
containers and sandbox so the status manager can delete the object; ``cleanup_pod``
removes every trace of a pod that left the API.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from typing import Any

from kubeproc.kubelet.backoff import Backoff
from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.pleg import Pleg
from kubeproc.kubelet.podworkers import SyncResult
from kubeproc.kubelet.probehooks import ProbeHooks
from kubeproc.kubelet.runtimemanager import RuntimeManager
from kubeproc.kubelet.runtimestatus import PodRuntimeStatus, ReasonCache
from kubeproc.kubelet.status import generate_pod_status
from kubeproc.kubelet.statusmanager import StatusManager
from kubeproc.kubelet.volumes import VolumeManager

log = logging.getLogger(__name__)


class PodSync:
    def __init__(
        self,
        *,
        config: KubeletConfig,
        pleg: Pleg,
        manager: RuntimeManager,
        status_manager: StatusManager,
        volumes: VolumeManager,
        reasons: ReasonCache,
        backoff: Backoff,
        probes: ProbeHooks,
        runtime_name: str,
        on_status: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
        on_gone: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.pleg = pleg
        self.manager = manager
        self.status_manager = status_manager
        self.volumes = volumes
        self.reasons = reasons
        self.backoff = backoff
        self.probes = probes
        self.runtime_name = runtime_name
        self.on_status = on_status
        self.on_gone = on_gone
        self._marks: dict[str, int] = {}

    async def _runtime_status(self, uid: str) -> PodRuntimeStatus:
        return await self.pleg.pod_status(uid, self._marks.get(uid, 0))

    def _status(
        self, pod: dict[str, Any], runtime: PodRuntimeStatus, *, terminal: bool
    ) -> dict[str, Any]:
        uid = pod["metadata"]["uid"]
        status = generate_pod_status(
            pod,
            runtime,
            old_status=self.status_manager.get(uid),
            reasons=self.reasons.for_pod(uid),
            probes=self.probes,
            runtime_name=self.runtime_name,
            host_ip=self.config.host_ip,
            pod_is_terminal=terminal,
        )
        self.status_manager.set(pod, status)
        if self.on_status is not None:
            self.on_status(pod, status)
        return status

    async def sync_pod(self, pod: dict[str, Any]) -> SyncResult:
        uid = pod["metadata"]["uid"]
        runtime = await self._runtime_status(uid)
        status = self._status(pod, runtime, terminal=False)
        if status["phase"] in ("Succeeded", "Failed"):
            return SyncResult(terminal=True)
        outcome = await self.manager.sync_pod(pod, runtime)
        if outcome.acted:
            self._marks[uid] = self.pleg.mark()
            self.pleg.kick()
        elif outcome.reasons_changed:
            self._status(pod, runtime, terminal=False)
        return SyncResult(requeue_after=outcome.requeue_after, error=outcome.error)

    async def sync_terminating_pod(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        runtime = await self._runtime_status(uid)
        self._status(pod, runtime, terminal=False)
        await self.manager.kill_pod(pod, runtime)
        self._marks[uid] = self.pleg.mark()
        stopped = await self._runtime_status(uid)
        self._status(pod, stopped, terminal=True)

    async def sync_terminated_pod(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        runtime = await self._runtime_status(uid)
        self._status(pod, runtime, terminal=True)
        await self.volumes.teardown(uid)
        if self.on_gone is not None:
            self.on_gone(uid)  # every container has stopped: no probe worker is left to run
        if pod["metadata"].get("deletionTimestamp"):
            await self.manager.remove_pod(pod, runtime)
            self._marks[uid] = self.pleg.mark()

    async def cleanup_pod(self, uid: str, pod: dict[str, Any]) -> None:
        runtime = await self._runtime_status(uid)
        await self.manager.kill_pod(pod, runtime)
        await self.manager.remove_pod(pod, runtime)
        await self.volumes.teardown(uid)
        meta = pod["metadata"]
        shutil.rmtree(self.config.pod_dir(uid), ignore_errors=True)
        shutil.rmtree(
            self.config.pod_log_dir(meta.get("namespace", ""), meta.get("name", ""), uid),
            ignore_errors=True,
        )
        self.status_manager.forget(uid)
        if self.on_gone is not None:
            self.on_gone(uid)
        self.reasons.forget_pod(uid)
        self.backoff.forget_pod(uid)
        self._marks.pop(uid, None)
        log.info("pod cleaned up pod=%s/%s uid=%s", meta.get("namespace"), meta.get("name"), uid)
