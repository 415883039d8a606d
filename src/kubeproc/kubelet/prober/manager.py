"""The prober manager: workers follow the pods, results feed ``ProbeHooks``.

Mirrors ``prober_manager.go``. The kubelet calls ``update_pod`` on every pod sync with the
statuses it just generated (idempotent: it adds missing workers, stops liveness/startup
workers of a terminating pod, and sends readiness its "run now" kick) and ``remove_pod``
once the pod's containers are gone. ``hooks()`` hands the kubelet core the three lookups
it already reads. ``run()`` owns every worker task in one ``TaskGroup``.

``started`` is computed here from the startup cache rather than read back from the
kubelet's status, so a startup Success ungates liveness/readiness and kicks readiness at
once instead of one pod sync later (§2.3.3, AT-31).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeproc.kubelet.probehooks import ProbeHooks, ProbeKind
from kubeproc.kubelet.prober.handlers import ProbeRunner
from kubeproc.kubelet.prober.history import ProbeHistory
from kubeproc.kubelet.prober.results import (
    ProbeType,
    Result,
    ResultKey,
    ResultsCache,
    ResultUpdate,
)
from kubeproc.kubelet.prober.worker import (
    ContainerView,
    EventSink,
    PodView,
    Worker,
    first_delay,
)
from kubeproc.util.clock import Clock, parse_rfc3339

logger = logging.getLogger(__name__)

_PROBE_FIELDS: Mapping[ProbeType, str] = {
    ProbeType.LIVENESS: "livenessProbe",
    ProbeType.READINESS: "readinessProbe",
    ProbeType.STARTUP: "startupProbe",
}


_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")

RESTART_GRACE = 10.0
"""Seconds a container must predate the kubelet's start to keep its published state."""


@dataclass(frozen=True)
class WorkerKey:
    pod_uid: str
    container_name: str
    probe_type: ProbeType


@dataclass
class _PodEntry:
    pod: dict[str, Any]
    statuses: list[dict[str, Any]]
    view: PodView


@dataclass
class _Handle:
    worker: Worker
    task: asyncio.Task[None] | None = field(default=None)


def bare_container_id(container_id: str) -> str:
    """``runtime://id`` → ``id``, the form ``ProbeHooks`` and the caches are keyed by."""
    _, sep, rest = container_id.partition("://")
    return rest if sep else container_id


def probed_containers(pod: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Regular containers and sidecars (init containers with ``restartPolicy: Always``)."""
    spec = pod.get("spec", {})
    for c in spec.get("initContainers", []):
        if c.get("restartPolicy") == "Always":
            yield c
    yield from spec.get("containers", [])


def will_restart(container: Mapping[str, Any], pod: Mapping[str, Any], exit_code: int) -> bool:
    """Whether an exited container comes back: sidecars always, else the pod's policy."""
    if container.get("restartPolicy") == "Always":
        return True
    policy = pod.get("spec", {}).get("restartPolicy", "Always")
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and exit_code == 0)


class ProbeManager:
    """Adds and removes probe workers as pods change; implements ``ProbeHooks``."""

    def __init__(
        self,
        clock: Clock,
        runner: ProbeRunner,
        *,
        on_pod_change: Callable[[str], None] | None = None,
        kubelet_started: float | None = None,
        jitter: Callable[[], float] = random.random,
        on_event: EventSink | None = None,
    ) -> None:
        self._clock = clock
        self._runner = runner
        self._on_pod_change = on_pod_change
        self._kubelet_started = clock.monotonic() if kubelet_started is None else kubelet_started
        self._kubelet_started_wall = clock.now().timestamp() - (
            clock.monotonic() - self._kubelet_started
        )
        self._jitter = jitter
        self._on_event = on_event
        self.results = ResultsCache(self._on_result)
        self.history = ProbeHistory()
        self._pods: dict[str, _PodEntry] = {}
        self._workers: dict[WorkerKey, _Handle] = {}
        self._finished: dict[WorkerKey, str | None] = {}
        self._tg: asyncio.TaskGroup | None = None

    async def run(self) -> None:
        """Own the workers until cancelled."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                for uid in list(self._pods):
                    self._sync_workers(uid)
                    self._refresh(uid)
                await asyncio.get_running_loop().create_future()
        finally:
            self._tg = None

    # -- the kubelet's calls -----------------------------------------------------------

    def add_pod(self, pod: dict[str, Any]) -> None:
        """A pod seen for the first time (this kubelet's first sight, too, after a restart).

        Its workers exist from now on, so status generation reads "no result yet" (not
        ready, not started) rather than "no probe". A container that was already running
        more than ``RESTART_GRACE`` before this kubelet started keeps the ``ready`` and
        ``started`` its published status shows until a probe decides otherwise, as the
        kubelet does since v1.35 (§2.11): a restart of kubeproc does not flap readiness.
        """
        uid = pod["metadata"].get("uid", "")
        if uid in self._pods:
            return
        published = [
            *(pod.get("status", {}).get("initContainerStatuses") or []),
            *(pod.get("status", {}).get("containerStatuses") or []),
        ]
        self._seed(pod, published)
        self._pods[uid] = _PodEntry(pod, published, self._view(pod, published))
        self._sync_workers(uid)

    def _seed(self, pod: dict[str, Any], published: list[dict[str, Any]]) -> None:
        uid = pod["metadata"].get("uid", "")
        specs = {c["name"]: c for c in probed_containers(pod)}
        for status in published:
            running = (status.get("state") or {}).get("running") or {}
            spec = specs.get(status.get("name", ""))
            if spec is None or not running.get("startedAt") or not status.get("containerID"):
                continue
            started_at = parse_rfc3339(running["startedAt"]).timestamp()
            if started_at >= self._kubelet_started_wall - RESTART_GRACE:
                continue
            cid = bare_container_id(status["containerID"])
            if spec.get("readinessProbe") is not None:
                ready = Result.SUCCESS if status.get("ready") else Result.FAILURE
                self.results.set(ResultKey(uid, cid, ProbeType.READINESS), ready)
            if spec.get("startupProbe") is not None and status.get("started"):
                self.results.set(ResultKey(uid, cid, ProbeType.STARTUP), Result.SUCCESS)

    def update_pod(self, pod: dict[str, Any], container_statuses: list[dict[str, Any]]) -> None:
        """``AddPod`` + ``UpdatePodStatus``: sync workers, then kick unready readiness."""
        uid = pod["metadata"].get("uid", "")
        entry = _PodEntry(pod, container_statuses, self._view(pod, container_statuses))
        self._pods[uid] = entry
        self._sync_workers(uid)
        self._refresh(uid)  # ``started`` depends on which startup workers now exist
        view = entry.view
        for name, c in view.containers.items():
            if c.running and c.started:
                self._kick_readiness(uid, name, c.container_id)

    def remove_pod(self, uid: str) -> None:
        """``RemovePod``: stop every worker of the pod and forget it."""
        for key in [k for k in self._workers if k.pod_uid == uid]:
            self._stop(key)
        for key in [k for k in self._finished if k.pod_uid == uid]:
            del self._finished[key]
        self._pods.pop(uid, None)
        self.history.remove_pod(uid)

    def stop_liveness_and_startup(self, uid: str) -> None:
        """``StopLivenessAndStartup``: termination began; readiness keeps probing."""
        for key in [k for k in self._workers if k.pod_uid == uid]:
            if key.probe_type is not ProbeType.READINESS:
                self._stop(key)

    def worker_count(self) -> int:
        return len(self._workers)

    def pods(self) -> set[str]:
        """UIDs of the pods the prober follows."""
        return set(self._pods)

    def worker(self, key: WorkerKey) -> Worker | None:
        handle = self._workers.get(key)
        return handle.worker if handle else None

    # -- ProbeHooks --------------------------------------------------------------------

    def hooks(self) -> ProbeHooks:
        return ProbeHooks(readiness=self.readiness, startup=self.startup, failed=self.failed)

    def readiness(self, pod_uid: str, container_id: str, /, name: str | None = None) -> bool | None:
        return self._lookup(pod_uid, container_id, ProbeType.READINESS, name)

    def startup(self, pod_uid: str, container_id: str, /, name: str | None = None) -> bool | None:
        return self._lookup(pod_uid, container_id, ProbeType.STARTUP, name)

    def failed(self, pod_uid: str, container_id: str) -> ProbeKind | None:
        for probe_type, kind in (
            (ProbeType.LIVENESS, ProbeKind.LIVENESS),
            (ProbeType.STARTUP, ProbeKind.STARTUP),
        ):
            if self.results.get(ResultKey(pod_uid, container_id, probe_type)) is Result.FAILURE:
                return kind
        return None

    def _lookup(
        self, uid: str, container_id: str, probe_type: ProbeType, name: str | None
    ) -> bool | None:
        """A cached result decides; else a live worker means "not yet", none means no probe.

        The name, when the caller knows it, matters for an instance that started since
        the last ``update_pod``: its ID is not in the prober's view yet, but its worker is.
        """
        return self._lookup_named(
            uid, name or self._container_name(uid, container_id), container_id, probe_type
        )

    def _lookup_named(
        self, uid: str, name: str | None, container_id: str, probe_type: ProbeType
    ) -> bool | None:
        result = self.results.get(ResultKey(uid, container_id, probe_type))
        if result is not None:
            return result is Result.SUCCESS
        if name is not None and WorkerKey(uid, name, probe_type) in self._workers:
            return False
        return None

    # -- internals ---------------------------------------------------------------------

    def _container_name(self, uid: str, container_id: str) -> str | None:
        entry = self._pods.get(uid)
        if entry is None:
            return None
        for name, c in entry.view.containers.items():
            if c.container_id == container_id:
                return name
        return None

    def _view(self, pod: dict[str, Any], statuses: list[dict[str, Any]]) -> PodView:
        uid = pod["metadata"].get("uid", "")
        specs = {c["name"]: c for c in probed_containers(pod)}
        containers: dict[str, ContainerView] = {}
        for status in statuses:
            spec = specs.get(status["name"])
            if spec is None:
                continue
            cid = bare_container_id(status.get("containerID", ""))
            state = status.get("state", {})
            running = state.get("running")
            terminated = state.get("terminated")
            # isContainerStarted: a startup result decides; a live startup worker
            # without one means not yet; no worker means no (more) startup gate.
            started = running is not None and (
                self._lookup_named(uid, status["name"], cid, ProbeType.STARTUP) is not False
            )
            started_at = (running or {}).get("startedAt")
            containers[status["name"]] = ContainerView(
                container_id=cid,
                running=running is not None,
                started_at=parse_rfc3339(started_at) if started_at else None,
                started=started,
                terminated=terminated is not None,
                will_restart=will_restart(spec, pod, int((terminated or {}).get("exitCode", 0))),
            )
        status_block = pod.get("status", {})
        return PodView(
            uid=uid,
            phase=status_block.get("phase", "Pending"),
            deleting=bool(pod["metadata"].get("deletionTimestamp")),
            pod_ip=status_block.get("podIP", ""),
            containers=containers,
        )

    def _sync_workers(self, uid: str) -> None:
        entry = self._pods[uid]
        view = entry.view
        if view.deleting:
            self.stop_liveness_and_startup(uid)
        if self._tg is None or view.phase in ("Failed", "Succeeded"):
            return
        for spec in probed_containers(entry.pod):
            for probe_type, fld in _PROBE_FIELDS.items():
                probe = spec.get(fld)
                if probe is None or (view.deleting and probe_type is not ProbeType.READINESS):
                    continue
                key = WorkerKey(uid, spec["name"], probe_type)
                if key in self._workers:
                    continue
                current = view.containers.get(spec["name"])
                if key in self._finished and self._finished[key] == (
                    current.container_id if current else None
                ):
                    continue  # it stopped itself for this instance; wait for a new one
                self._start(key, probe, spec)

    def _start(self, key: WorkerKey, probe: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
        assert self._tg is not None
        period = float(probe.get("periodSeconds") or 10)
        uptime = self._clock.monotonic() - self._kubelet_started
        meta = self._pods[key.pod_uid].pod["metadata"]
        series = self.history.series(
            uid=key.pod_uid,
            namespace=meta.get("namespace", ""),
            pod=meta.get("name", ""),
            container=key.container_name,
            probe_type=key.probe_type,
            handler=next((h for h in _HANDLERS if h in probe), ""),
        )
        worker = Worker(
            probe_type=key.probe_type,
            pod_uid=key.pod_uid,
            container_name=key.container_name,
            probe_spec=probe,
            container_spec=spec,
            pod_view=lambda: self._view_of(key.pod_uid),
            cache=self.results,
            runner=self._runner,
            clock=self._clock,
            start_delay=first_delay(period, uptime, self._jitter()),
            on_event=self._on_event,
            on_attempt=series.record,
        )
        handle = _Handle(worker)
        self._workers[key] = handle
        self._finished.pop(key, None)
        handle.task = self._tg.create_task(self._run_worker(key, handle))
        logger.debug(
            "probe worker started pod=%s container=%s probe=%s",
            key.pod_uid,
            key.container_name,
            key.probe_type,
        )

    async def _run_worker(self, key: WorkerKey, handle: _Handle) -> None:
        try:
            await handle.worker.run()
            self._finished[key] = handle.worker.state.container_id
        finally:
            if self._workers.get(key) is handle:
                del self._workers[key]
            if key.probe_type is ProbeType.STARTUP:
                self._refresh(key.pod_uid)

    def _stop(self, key: WorkerKey) -> None:
        handle = self._workers.pop(key, None)
        if handle is not None and handle.task is not None:
            handle.task.cancel()
        if key.probe_type is ProbeType.STARTUP:
            self._refresh(key.pod_uid)

    def _refresh(self, uid: str) -> None:
        entry = self._pods.get(uid)
        if entry is not None:
            entry.view = self._view(entry.pod, entry.statuses)

    def _view_of(self, uid: str) -> PodView | None:
        entry = self._pods.get(uid)
        return entry.view if entry else None

    def _kick_readiness(self, uid: str, name: str, container_id: str) -> None:
        handle = self._workers.get(WorkerKey(uid, name, ProbeType.READINESS))
        key = ResultKey(uid, container_id, ProbeType.READINESS)
        if handle is not None and self.results.get(key) is not Result.SUCCESS:
            handle.worker.trigger()

    def _on_result(self, update: ResultUpdate) -> None:
        """A cache change: refresh ``started``, kick readiness on startup Success, sync."""
        key = update.key
        entry = self._pods.get(key.pod_uid)
        if entry is None:
            return
        if key.probe_type is ProbeType.STARTUP:
            self._refresh(key.pod_uid)
            name = self._container_name(key.pod_uid, key.container_id)
            if update.result is Result.SUCCESS and name is not None:
                self._kick_readiness(key.pod_uid, name, key.container_id)
        if key.probe_type is ProbeType.LIVENESS and update.result is Result.SUCCESS:
            return  # the sync loop ignores liveness turning Success (§2.5)
        if self._on_pod_change is not None:
            self._on_pod_change(key.pod_uid)
