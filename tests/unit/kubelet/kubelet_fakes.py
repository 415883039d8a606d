"""Test doubles for the kubelet core: an in-memory runtime and an in-memory API client.

``FakeRuntime`` implements the ``Runtime`` seam on a ``FakeClock``: tests make containers
exit (``exit``), choose which ones ignore SIGTERM (``stubborn``) and script exec results;
``stop_container`` honours the grace period on the fake clock (137 after it, 143 at once).
``FakeApi`` is an ``ApiClient`` over a dict with resource versions, graceful pod deletion,
``fieldSelector=spec.nodeName=…`` and watches, enough for informers and the status manager.
Until the runtime package ships its own fake, this one stands in.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.client import WatchEvent
from kubeproc.kubelet.runtime.types import (
    ContainerConfig,
    ContainerPhase,
    ContainerStatus,
    ExecResult,
    ExecSession,
    NotFoundError,
    SandboxConfig,
    SandboxStatus,
    StartContainerError,
)
from kubeproc.util.clock import FakeClock, rfc3339


def rt(plural: str) -> ResourceType:
    found = REGISTRY.get("", "v1", plural)
    assert found is not None
    return found


PODS = rt("pods")
EVENTS = rt("events")


async def settle(rounds: int = 200) -> None:
    """Let every ready task run (no time passes: the clock is fake)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@dataclass
class _Ctr:
    status: ContainerStatus
    config: ContainerConfig


@dataclass
class FakeRuntime:
    clock: FakeClock
    name: str = "fake"
    sandboxes: dict[str, SandboxStatus] = field(default_factory=dict)
    containers: dict[str, _Ctr] = field(default_factory=dict)
    stubborn: set[str] = field(default_factory=set)
    """Container names that ignore SIGTERM (exit 137 after the grace period)."""
    unstartable: dict[str, str] = field(default_factory=dict)
    """argv[0] → start error message (StartError, 128)."""
    exec_results: dict[tuple[str, ...], ExecResult] = field(default_factory=dict)
    stops: list[tuple[str, float]] = field(default_factory=list)
    execs: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def run_sandbox(self, config: SandboxConfig) -> SandboxStatus:
        sid = f"sb{next(self._ids)}"
        box = SandboxStatus(
            id=sid,
            pod_uid=config.pod_uid,
            pod_name=config.pod_name,
            namespace=config.namespace,
            ip=f"10.88.0.{len(self.sandboxes) + 2}",
            ready=True,
            created_at=self.clock.now(),
            netns_path=f"/run/netns/{sid}",
            labels=dict(config.labels),
        )
        self.sandboxes[sid] = box
        return box

    async def stop_sandbox(self, sandbox_id: str) -> None:
        box = self.sandboxes.get(sandbox_id)
        if box is None:
            return
        for c in self.containers.values():
            if c.status.sandbox_id == sandbox_id and c.status.phase is ContainerPhase.RUNNING:
                self._finish(c, 137)
        self.sandboxes[sandbox_id] = replace(box, ready=False)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        self.sandboxes.pop(sandbox_id, None)

    async def list_sandboxes(self) -> list[SandboxStatus]:
        return list(self.sandboxes.values())

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        cid = f"c{next(self._ids)}"
        status = ContainerStatus(
            id=cid,
            sandbox_id=sandbox_id,
            name=config.name,
            attempt=config.attempt,
            phase=ContainerPhase.CREATED,
            created_at=self.clock.now(),
            log_path=config.log_path,
            labels=dict(config.labels),
        )
        self.containers[cid] = _Ctr(status, config)
        return cid

    async def start_container(self, container_id: str) -> None:
        c = self._get(container_id)
        message = self.unstartable.get(c.config.argv[0])
        now = self.clock.now()
        if message is not None:
            c.status = replace(
                c.status,
                phase=ContainerPhase.EXITED,
                started_at=now,
                finished_at=now,
                exit_code=128,
                reason="StartError",
                message=message,
            )
            raise StartContainerError(message)
        c.status = replace(c.status, phase=ContainerPhase.RUNNING, started_at=now, pid=1000)

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        c = self._get(container_id)
        self.stops.append((c.status.name, grace_seconds))
        if c.status.phase is not ContainerPhase.RUNNING:
            if c.status.phase is ContainerPhase.CREATED:
                self._finish(c, 0)
            return
        if c.status.name in self.stubborn:
            await self.clock.sleep(grace_seconds)
            if c.status.phase is ContainerPhase.RUNNING:
                self._finish(c, 137)
            return
        self._finish(c, 143)

    async def remove_container(self, container_id: str) -> None:
        self.containers.pop(container_id, None)

    async def list_containers(self) -> list[ContainerStatus]:
        return [c.status for c in self.containers.values()]

    async def container_status(self, container_id: str) -> ContainerStatus:
        return self._get(container_id).status

    async def exec_sync(
        self, container_id: str, argv: tuple[str, ...], *, timeout_seconds: float, output_limit: int
    ) -> ExecResult:
        self.execs.append((container_id, argv))
        return self.exec_results.get(argv, ExecResult(0, b""))

    async def exec_session(
        self, container_id: str, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> ExecSession:
        raise NotImplementedError

    async def close(self) -> None:
        return None

    # -- test controls -----------------------------------------------------------------

    def _get(self, container_id: str) -> _Ctr:
        c = self.containers.get(container_id)
        if c is None:
            raise NotFoundError(f"container {container_id} not found")
        return c

    def _finish(self, c: _Ctr, code: int, reason: str = "") -> None:
        c.status = replace(
            c.status,
            phase=ContainerPhase.EXITED,
            finished_at=self.clock.now(),
            exit_code=code,
            reason=reason or ("Completed" if code == 0 else "Error"),
        )

    def running(self, name: str) -> list[ContainerStatus]:
        return [
            c.status
            for c in self.containers.values()
            if c.status.name == name and c.status.phase is ContainerPhase.RUNNING
        ]

    def instances(self, name: str) -> list[ContainerStatus]:
        return sorted(
            (c.status for c in self.containers.values() if c.status.name == name),
            key=lambda s: s.attempt,
        )

    def config_of(self, name: str) -> ContainerConfig:
        latest = self.instances(name)[-1]
        return self.containers[latest.id].config

    def exit(self, name: str, code: int, reason: str = "") -> None:
        """The running instance of container ``name`` exits with ``code``."""
        (status,) = self.running(name)
        self._finish(self.containers[status.id], code, reason)


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeApi:
    """An ``ApiClient`` over a dict, with the semantics the kubelet relies on."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._rv = itertools.count(1)
        self._watchers: list[tuple[str, asyncio.Queue[WatchEvent]]] = []
        self.writes: list[tuple[str, str, str]] = []
        """(verb, plural, name) of every write, in order."""

    # -- helpers ---------------------------------------------------------------------

    def put(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.setdefault("creationTimestamp", rfc3339(self.clock.now()))
        meta["resourceVersion"] = str(next(self._rv))
        key = (plural, meta["namespace"], meta["name"])
        existed = key in self.objects
        self.objects[key] = copy.deepcopy(obj)
        self._emit(plural, "MODIFIED" if existed else "ADDED", obj)
        return copy.deepcopy(obj)

    def obj(self, plural: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        found = self.objects.get((plural, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def of_kind(self, plural: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (p, _, _), o in self.objects.items() if p == plural]

    def _emit(self, plural: str, kind: str, obj: dict[str, Any]) -> None:
        for watched, queue in self._watchers:
            if watched == plural:
                queue.put_nowait(WatchEvent(kind, copy.deepcopy(obj)))

    def _find(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        found = self.objects.get((rt.plural, namespace or "default", name))
        if found is None:
            raise errors.NotFound(f'{rt.plural} "{name}" not found')
        return found

    # -- ApiClient -------------------------------------------------------------------

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._find(rt, namespace, name))

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        items = [o for o in self.of_kind(rt.plural) if _selected(o, params)]
        return {"items": items, "metadata": {"resourceVersion": str(next(self._rv))}}

    async def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        *,
        subresource: str = "",
        name: str = "",
    ) -> dict[str, Any]:
        key = (rt.plural, namespace or "default", body["metadata"]["name"])
        if key in self.objects:
            raise errors.AlreadyExists(f"{rt.plural} {key[2]} already exists")
        self.writes.append(("create", rt.plural, key[2]))
        return self.put(rt.plural, copy.deepcopy(body))

    async def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        current = self._find(rt, namespace, name)
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise errors.Conflict("the object has been modified")
        new = copy.deepcopy(current)
        if subresource == "status":
            new["status"] = copy.deepcopy(body.get("status"))
        else:
            new = copy.deepcopy(body)
        self.writes.append((f"update{'/' + subresource if subresource else ''}", rt.plural, name))
        return self.put(rt.plural, new)

    async def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        patch_type: str = "application/merge-patch+json",
        subresource: str = "",
    ) -> dict[str, Any]:
        new = copy.deepcopy(self._find(rt, namespace, name))
        _merge(new, patch)
        self.writes.append(("patch", rt.plural, name))
        return self.put(rt.plural, new)

    async def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        options = options or {}
        current = self._find(rt, namespace, name)
        uid = (options.get("preconditions") or {}).get("uid")
        if uid and uid != current["metadata"].get("uid"):
            raise errors.Conflict("Precondition failed: UID in precondition")
        grace = options.get("gracePeriodSeconds")
        if rt.plural == "pods" and grace is None:
            grace = current["spec"].get("terminationGracePeriodSeconds", 30)
        self.writes.append((f"delete(grace={grace})", rt.plural, name))
        if rt.plural == "pods" and grace:
            meta = current["metadata"]
            # As the API server: a shorter grace period replaces a longer one, never the reverse.
            if not meta.get("deletionTimestamp") or grace < meta["deletionGracePeriodSeconds"]:
                meta["deletionTimestamp"] = rfc3339(self.clock.now() + dt.timedelta(seconds=grace))
                meta["deletionGracePeriodSeconds"] = grace
            return self.put("pods", copy.deepcopy(current))
        del self.objects[(rt.plural, namespace or "default", name)]
        current["metadata"]["resourceVersion"] = str(next(self._rv))
        self._emit(rt.plural, "DELETED", current)
        return copy.deepcopy(current)

    async def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[WatchEvent]:
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        entry = (rt.plural, queue)
        self._watchers.append(entry)
        try:
            while True:
                event = await queue.get()
                if _selected(event.object, params):
                    yield event
        finally:
            self._watchers.remove(entry)


def _selected(obj: dict[str, Any], params: Mapping[str, str] | None) -> bool:
    selector = (params or {}).get("fieldSelector", "")
    if not selector:
        return True
    field_name, _, value = selector.partition("=")
    current: Any = obj
    for part in field_name.split("."):
        current = current.get(part, "") if isinstance(current, dict) else ""
    return str(current) == value


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)
