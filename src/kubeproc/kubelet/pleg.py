"""The pod lifecycle event generator: relist the runtime, diff, tell the pod workers.

Like the kubelet's generic PLEG, ``Pleg`` lists every sandbox and container each
``relist_period``, keeps the result as the node's runtime snapshot (the pod cache), and
reports what changed per pod (container started, died, removed; sandbox changed). A
worker that has just acted asks for state *newer than its action* (``mark`` then
``pod_status``), which forces a relist if none has started since, so a sync never decides
from a picture older than its own doings; concurrent askers share one relist.

A runtime that can push exits (``ContainerEventSource``) makes the PLEG relist at once
instead of at the next tick, so a crash is noticed in milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from kubeproc.kubelet.runtime.types import ContainerPhase, ContainerStatus, Runtime, SandboxStatus
from kubeproc.kubelet.runtimestatus import PodRuntimeStatus, pod_uid_of
from kubeproc.kubelet.timing import wait_event
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


@runtime_checkable
class ContainerEventSource(Protocol):
    """Optional runtime capability: yields (any token) whenever a container changes state."""

    def container_events(self) -> AsyncIterator[object]: ...


class EventType(StrEnum):
    CONTAINER_STARTED = "ContainerStarted"
    CONTAINER_DIED = "ContainerDied"
    CONTAINER_REMOVED = "ContainerRemoved"
    CONTAINER_CHANGED = "ContainerChanged"
    SANDBOX_CHANGED = "SandboxChanged"


@dataclass(frozen=True)
class PodLifecycleEvent:
    pod_uid: str
    type: EventType
    data: str
    """The container or sandbox ID."""


@dataclass(frozen=True)
class Snapshot:
    generation: int
    sandboxes: tuple[SandboxStatus, ...] = ()
    containers: tuple[ContainerStatus, ...] = ()
    by_id: dict[str, ContainerStatus] = field(default_factory=dict)

    @classmethod
    def of(
        cls, generation: int, sandboxes: list[SandboxStatus], containers: list[ContainerStatus]
    ) -> Snapshot:
        return cls(generation, tuple(sandboxes), tuple(containers), {c.id: c for c in containers})

    def uids(self) -> set[str]:
        return {s.pod_uid for s in self.sandboxes} | {
            pod_uid_of(c.labels) for c in self.containers if pod_uid_of(c.labels)
        }

    def pod(self, uid: str) -> PodRuntimeStatus:
        return PodRuntimeStatus.build(
            uid,
            (s for s in self.sandboxes if s.pod_uid == uid),
            (c for c in self.containers if pod_uid_of(c.labels) == uid),
        )


def diff(old: Snapshot, new: Snapshot) -> list[PodLifecycleEvent]:
    """What changed between two relists, per pod."""
    out: list[PodLifecycleEvent] = []
    for cid, cs in new.by_id.items():
        uid = pod_uid_of(cs.labels)
        before = old.by_id.get(cid)
        if before is not None and before.phase is cs.phase:
            continue
        if cs.phase is ContainerPhase.RUNNING:
            kind = EventType.CONTAINER_STARTED
        elif cs.phase is ContainerPhase.EXITED:
            kind = EventType.CONTAINER_DIED
        else:
            kind = EventType.CONTAINER_CHANGED
        out.append(PodLifecycleEvent(uid, kind, cid))
    for cid, cs in old.by_id.items():
        if cid not in new.by_id:
            out.append(PodLifecycleEvent(pod_uid_of(cs.labels), EventType.CONTAINER_REMOVED, cid))
    before_boxes = {s.id: s.ready for s in old.sandboxes}
    after_boxes = {s.id: s for s in new.sandboxes}
    for sid, box in after_boxes.items():
        if before_boxes.get(sid) != box.ready:
            out.append(PodLifecycleEvent(box.pod_uid, EventType.SANDBOX_CHANGED, sid))
    for s in old.sandboxes:
        if s.id not in after_boxes:
            out.append(PodLifecycleEvent(s.pod_uid, EventType.SANDBOX_CHANGED, s.id))
    return out


class Pleg:
    def __init__(
        self,
        runtime: Runtime,
        clock: Clock,
        *,
        relist_period: float = 1.0,
        on_event: Callable[[PodLifecycleEvent], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.relist_period = relist_period
        self.on_event = on_event
        self.snapshot = Snapshot(generation=0)
        self._started = 0
        self._lock = asyncio.Lock()
        self._kick = asyncio.Event()

    def mark(self) -> int:
        """A token: ``pod_status(uid, newer_than=token)`` waits for a relist started later."""
        return self._started

    def kick(self) -> None:
        """Relist now rather than at the next tick."""
        self._kick.set()

    async def relist(self) -> Snapshot:
        async with self._lock:
            return await self._relist_locked()

    async def _relist_locked(self) -> Snapshot:
        self._started += 1
        generation = self._started
        sandboxes = await self.runtime.list_sandboxes()
        containers = await self.runtime.list_containers()
        fresh = Snapshot.of(generation, sandboxes, containers)
        previous, self.snapshot = self.snapshot, fresh
        if self.on_event is not None:
            for event in diff(previous, fresh):
                self.on_event(event)
        return fresh

    async def fresh(self, newer_than: int) -> Snapshot:
        """A snapshot from a relist that started after ``newer_than`` (see ``mark``)."""
        if self.snapshot.generation > newer_than:
            return self.snapshot
        async with self._lock:
            if self.snapshot.generation > newer_than:
                return self.snapshot
            return await self._relist_locked()

    async def pod_status(self, uid: str, newer_than: int) -> PodRuntimeStatus:
        return (await self.fresh(newer_than)).pod(uid)

    def container(self, container_id: str) -> ContainerStatus | None:
        return self.snapshot.by_id.get(container_id)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            if isinstance(self.runtime, ContainerEventSource):
                tg.create_task(self._follow_pushes(self.runtime))
            tg.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            self._kick.clear()
            try:
                await self.relist()
            except Exception:
                log.exception("relist failed")
            await wait_event(self._kick, self.clock, self.relist_period)

    async def _follow_pushes(self, source: ContainerEventSource) -> None:
        async for _ in source.container_events():
            self.kick()
