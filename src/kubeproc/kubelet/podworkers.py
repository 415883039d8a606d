"""One serialized worker per pod, woken by pod updates, PLEG events, timers and probes.

As the kubelet's pod_workers.go, each pod moves through three states: *syncing* (keep
it running: ``sync_pod``), *terminating* (stop its containers gracefully:
``sync_terminating_pod``) and *terminated* (final status, volumes released, runtime
objects removed once the pod is being deleted: ``sync_terminated_pod``). A pod enters
termination when it is deleted (``deletionTimestamp``), removed from the API, or reaches a
terminal phase. A termination request cancels a sync in progress, so a hung postStart
hook cannot keep a deleted pod alive. A grace period can only shrink: a second delete
with a shorter ``deletionGracePeriodSeconds`` while the pod terminates cancels the
termination in progress and starts it again with the shorter grace (the kubelet's
``calculateEffectiveGracePeriod``), so ``kubectl delete --grace-period=1`` after a 30 s
delete does not wait the 30 s. When the pod is gone from the API the worker runs
``cleanup_pod`` and ends.

Every worker task belongs to the ``TaskGroup`` of ``run``; wake-ups are an event per pod
plus a deadline on the injected clock (CrashLoopBackOff expiry, the periodic resync, the
retry after a failed sync), so the timing is exact on a ``FakeClock``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from kubeproc.kubelet.timing import wait_event
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    terminal: bool = False
    """The pod reached Succeeded or Failed: terminate it."""
    requeue_after: float | None = None
    error: str | None = None


class PodSyncer(Protocol):
    async def sync_pod(self, pod: dict[str, Any]) -> SyncResult: ...

    async def sync_terminating_pod(self, pod: dict[str, Any]) -> None: ...

    async def sync_terminated_pod(self, pod: dict[str, Any]) -> None: ...

    async def cleanup_pod(self, uid: str, pod: dict[str, Any]) -> None: ...


class WorkState(StrEnum):
    SYNCING = "syncing"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


@dataclass
class _Worker:
    uid: str
    pod: dict[str, Any]
    state: WorkState = WorkState.SYNCING
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    removed: bool = False
    finished: bool = False
    deadline: float | None = None
    sync_task: asyncio.Task[SyncResult] | None = None
    terminate_task: asyncio.Task[None] | None = None
    terminate_grace: int = 0
    """The grace period the termination in progress started with."""


def _deletion_grace(pod: dict[str, Any]) -> int | None:
    grace = pod.get("metadata", {}).get("deletionGracePeriodSeconds")
    return int(grace) if grace is not None else None


def _effective_grace(pod: dict[str, Any]) -> int:
    """The grace a termination of ``pod`` starts with: the deletion's, else the pod's."""
    grace = _deletion_grace(pod)
    if grace is None:
        grace = pod.get("spec", {}).get("terminationGracePeriodSeconds")
    return int(grace) if grace is not None else 30


def _terminal_phase(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class PodWorkers:
    def __init__(
        self,
        syncer: PodSyncer,
        clock: Clock,
        *,
        resync_period: float = 60.0,
        error_backoff: float = 10.0,
        on_finished: Callable[[str], None] | None = None,
    ) -> None:
        self.syncer = syncer
        self.clock = clock
        self.resync_period = resync_period
        self.error_backoff = error_backoff
        self.on_finished = on_finished
        self._workers: dict[str, _Worker] = {}
        self._pending: list[_Worker] = []
        self._tg: asyncio.TaskGroup | None = None

    # -- inputs --------------------------------------------------------------------------

    def update_pod(self, pod: dict[str, Any], *, sync: bool = True) -> None:
        """A pod bound to this node was added or changed (``sync``: worth a sync)."""
        uid = pod["metadata"]["uid"]
        worker = self._workers.get(uid)
        if worker is None:
            worker = _Worker(uid, pod)
            self._workers[uid] = worker
            self._spawn(worker)
            sync = True
        else:
            worker.pod = pod
        if self._should_terminate(worker):
            self._cancel_sync(worker)
            sync = True
        if self._grace_shortened(worker):
            log.info("grace period shortened uid=%s grace=%s", uid, _deletion_grace(pod))
            assert worker.terminate_task is not None
            worker.terminate_task.cancel()
        if sync:
            worker.wake.set()

    def remove_pod(self, uid: str) -> None:
        """The pod is gone from the API (or from this node)."""
        worker = self._workers.get(uid)
        if worker is None:
            return
        worker.removed = True
        self._cancel_sync(worker)
        worker.wake.set()

    def wake(self, uid: str) -> None:
        worker = self._workers.get(uid)
        if worker is not None:
            worker.wake.set()

    # -- queries -------------------------------------------------------------------------

    def known(self) -> set[str]:
        return set(self._workers)

    def state(self, uid: str) -> WorkState | None:
        worker = self._workers.get(uid)
        return worker.state if worker is not None else None

    def is_finished(self, uid: str) -> bool:
        """Terminated: containers stopped, and runtime objects removed if it is being deleted."""
        worker = self._workers.get(uid)
        return worker is not None and worker.finished

    def pod(self, uid: str) -> dict[str, Any] | None:
        worker = self._workers.get(uid)
        return worker.pod if worker is not None else None

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                for worker in self._pending:
                    self._spawn(worker)
                self._pending.clear()
                await asyncio.Event().wait()  # the workers run until this task is cancelled
        finally:
            self._tg = None
            self._workers.clear()

    def _spawn(self, worker: _Worker) -> None:
        if self._tg is None:
            self._pending.append(worker)
            return
        self._tg.create_task(self._work(worker), name=f"pod-worker-{worker.uid}")

    def _should_terminate(self, worker: _Worker) -> bool:
        pod = worker.pod
        return (
            worker.removed
            or bool(pod.get("metadata", {}).get("deletionTimestamp"))
            or _terminal_phase(pod)
        )

    def _grace_shortened(self, worker: _Worker) -> bool:
        if worker.terminate_task is None or worker.terminate_task.done():
            return False
        grace = _deletion_grace(worker.pod)
        return grace is not None and grace < worker.terminate_grace

    def _cancel_sync(self, worker: _Worker) -> None:
        if worker.state is WorkState.SYNCING and worker.sync_task is not None:
            worker.sync_task.cancel()

    async def _work(self, worker: _Worker) -> None:
        try:
            while True:
                timeout = None
                if worker.deadline is not None:
                    timeout = max(worker.deadline - self.clock.monotonic(), 0.0)
                await wait_event(worker.wake, self.clock, timeout)
                worker.wake.clear()
                worker.deadline = None
                try:
                    if await self._step(worker):
                        return
                except Exception:
                    log.exception(
                        "pod worker step failed uid=%s state=%s", worker.uid, worker.state
                    )
                    worker.deadline = self.clock.monotonic() + self.error_backoff
        finally:
            if self._workers.get(worker.uid) is worker:
                del self._workers[worker.uid]

    async def _step(self, worker: _Worker) -> bool:
        """One pass through the state machine; True once the worker is done for good."""
        if worker.state is WorkState.SYNCING:
            if not self._should_terminate(worker):
                result = await self._sync(worker)
                if result is None:  # cancelled by a termination request: go on at once
                    worker.wake.set()
                    return False
                if not result.terminal:
                    self._requeue(worker, result)
                    return False
            worker.state = WorkState.TERMINATING
            log.info("pod terminating uid=%s", worker.uid)
        if worker.state is WorkState.TERMINATING:
            if not await self._terminate(worker):  # a shorter grace: start over with it
                worker.wake.set()
                return False
            worker.state = WorkState.TERMINATED
        if worker.removed:
            await self.syncer.cleanup_pod(worker.uid, worker.pod)
            log.info("pod worker done uid=%s", worker.uid)
            return True
        await self.syncer.sync_terminated_pod(worker.pod)
        if not worker.finished:
            worker.finished = True
            log.info("pod terminated uid=%s", worker.uid)
        if self.on_finished is not None:
            self.on_finished(worker.uid)
        return False

    async def _sync(self, worker: _Worker) -> SyncResult | None:
        task = asyncio.ensure_future(self.syncer.sync_pod(worker.pod))
        worker.sync_task = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or current.cancelling() == 0):
                return None
            raise
        finally:
            worker.sync_task = None
            if not task.done():
                task.cancel()

    async def _terminate(self, worker: _Worker) -> bool:
        """``sync_terminating_pod``; False if a shorter grace period cancelled it."""
        worker.terminate_grace = _effective_grace(worker.pod)
        task = asyncio.ensure_future(self.syncer.sync_terminating_pod(worker.pod))
        worker.terminate_task = task
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or current.cancelling() == 0):
                return False
            raise
        finally:
            worker.terminate_task = None
            if not task.done():
                task.cancel()
        return True

    def _requeue(self, worker: _Worker, result: SyncResult) -> None:
        delay = self.resync_period
        if result.requeue_after is not None:
            delay = min(delay, result.requeue_after)
        if result.error is not None:
            delay = min(delay, self.error_backoff)
        worker.deadline = self.clock.monotonic() + delay
