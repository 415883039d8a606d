"""The garbage collector: follows ownerReferences, as kube-controller-manager's does.

- A dependent whose owners are all gone (absent, or present with another uid) is deleted
  in the background; owners that are gone are dropped from a dependent that still has one.
- An owner being deleted with ``foregroundDeletion`` has its dependents deleted, and the
  finalizer is removed once none whose reference sets ``blockOwnerDeletion`` is left (the
  others do not hold it up, as in Kubernetes).
- An owner being deleted with ``orphan`` has its references removed from every dependent,
  then loses the finalizer.

The graph (objects by uid, dependents by owner uid) is kept current by the informers'
listener, and each change queues only the objects it can affect: the object itself, its
owners (a foreground owner may be waiting on it) and, when it goes, its dependents. So a
write costs the collector O(1), not a sweep of every object. An owner's absence is
confirmed with a live GET before anything is deleted, so a cache that lags never kills a
dependent.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.client import ApiClient, Informer
from kubeproc.controllers.namespace import namespaced_types
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Node:
    rt: ResourceType
    obj: dict[str, Any]

    @property
    def uid(self) -> str:
        return str(self.obj["metadata"].get("uid", ""))

    @property
    def namespace(self) -> str | None:
        ns = self.obj["metadata"].get("namespace")
        return str(ns) if ns else None

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def owners(self) -> list[dict[str, Any]]:
        return list(self.obj["metadata"].get("ownerReferences") or [])

    @property
    def finalizers(self) -> list[str]:
        return list(self.obj["metadata"].get("finalizers") or [])


class GarbageCollector:
    def __init__(self, client: ApiClient, registry: Registry, clock: Clock) -> None:
        self.client = client
        self.registry = registry
        self.clock = clock
        self._wake = asyncio.Event()
        self._pending: set[str] = set()
        self.by_uid: dict[str, Node] = {}
        self.dependents: dict[str, set[str]] = {}
        types = namespaced_types(registry) + [r for r in registry if not r.namespaced]
        self.informers = [
            Informer(client, rt, clock, listener=functools.partial(self._changed, rt))
            for rt in types
        ]

    def _queue(self, *uids: str) -> None:
        self._pending.update(u for u in uids if u)
        self._wake.set()

    def _changed(
        self, rt: ResourceType, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        before = Node(rt, old) if old is not None else None
        after = Node(rt, new) if new is not None else None
        if before is not None:
            for ref in before.owners:
                self.dependents.get(str(ref.get("uid")), set()).discard(before.uid)
        if after is None:
            if before is not None:
                self.by_uid.pop(before.uid, None)
                owners = [str(r.get("uid")) for r in before.owners]
                self._queue(*owners, *self.dependents.get(before.uid, ()))
            return
        self.by_uid[after.uid] = after
        for ref in after.owners:
            self.dependents.setdefault(str(ref.get("uid")), set()).add(after.uid)
        owners = [str(r.get("uid")) for r in after.owners]
        if after.owners or after.obj["metadata"].get("deletionTimestamp"):
            self._queue(after.uid, *owners)
        elif before is not None and before.owners:
            self._queue(*[str(r.get("uid")) for r in before.owners])

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for inf in self.informers:
                tg.create_task(inf.run())
            tg.create_task(self._loop())

    async def _loop(self) -> None:
        for inf in self.informers:
            await inf.synced.wait()
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, set()
            retry: list[str] = []
            for uid in batch:
                try:
                    if await self.process(uid):
                        retry.append(uid)
                except errors.StatusError as err:
                    log.info("garbage collection retry uid=%s reason=%s", uid, err)
                    retry.append(uid)
            if retry:
                await self.clock.sleep(0.5)
                self._queue(*retry)

    async def process(self, uid: str) -> bool:
        """Act on one object. True when it must be looked at again later."""
        node = self.by_uid.get(uid)
        if node is None:
            return False
        busy = False
        if node.obj["metadata"].get("deletionTimestamp"):
            deps = [self.by_uid[d] for d in self.dependents.get(uid, ()) if d in self.by_uid]
            busy = await self._finish_owner(node, deps)
        if node.owners:
            await self._check_dependent(node, self.by_uid)
        return busy

    async def _owner_exists(
        self, ref: dict[str, Any], namespace: str | None, by_uid: dict[str, Node]
    ) -> bool:
        if str(ref.get("uid")) in by_uid:
            return True
        api_version = str(ref.get("apiVersion", ""))
        rt = self.registry.by_api_version(api_version, str(ref.get("kind", "")))
        if rt is None:
            return True  # a kind we do not serve: never collect on its account
        try:
            live = await self.client.get(
                rt, namespace if rt.namespaced else None, str(ref.get("name", ""))
            )
        except errors.NotFound:
            return False
        return str(live["metadata"].get("uid")) == str(ref.get("uid"))

    async def _check_dependent(self, n: Node, by_uid: dict[str, Node]) -> None:
        if n.obj["metadata"].get("deletionTimestamp"):
            return
        absent = [r for r in n.owners if not await self._owner_exists(r, n.namespace, by_uid)]
        if not absent:
            return
        try:
            if len(absent) == len(n.owners):
                log.info(
                    "deleting dependent whose owners are gone kind=%s object=%s/%s",
                    n.rt.kind,
                    n.namespace,
                    n.name,
                )
                await self.client.delete(
                    n.rt,
                    n.namespace,
                    n.name,
                    options={"propagationPolicy": "Background", "preconditions": {"uid": n.uid}},
                )
            else:
                gone = {str(r.get("uid")) for r in absent}
                await self._set_owners(n, [r for r in n.owners if str(r.get("uid")) not in gone])
        except (errors.NotFound, errors.Conflict):
            pass

    async def _set_owners(self, n: Node, owners: list[dict[str, Any]]) -> None:
        await self.client.patch(
            n.rt,
            n.namespace,
            n.name,
            {
                "metadata": {
                    "ownerReferences": owners or None,
                    "resourceVersion": n.obj["metadata"]["resourceVersion"],
                }
            },
        )

    async def _finish_owner(self, owner: Node, deps: list[Node]) -> bool:
        finalizers = owner.finalizers
        try:
            if "foregroundDeletion" in finalizers:
                for d in deps:
                    if d.obj["metadata"].get("deletionTimestamp"):
                        continue
                    # A dependent with dependents of its own is emptied the same way.
                    policy = "Foreground" if self.dependents.get(d.uid) else "Background"
                    await self.client.delete(
                        d.rt,
                        d.namespace,
                        d.name,
                        options={"propagationPolicy": policy, "preconditions": {"uid": d.uid}},
                    )
                if any(_blocks(d, owner.uid) for d in deps):
                    return True
                await self._drop_finalizer(owner, "foregroundDeletion")
            elif "orphan" in finalizers:
                for d in deps:
                    await self._set_owners(
                        d, [r for r in d.owners if str(r.get("uid")) != owner.uid]
                    )
                await self._drop_finalizer(owner, "orphan")
        except (errors.NotFound, errors.Conflict):
            return True
        return False

    async def _drop_finalizer(self, n: Node, name: str) -> None:
        remaining = [f for f in n.finalizers if f != name]
        await self.client.patch(
            n.rt,
            n.namespace,
            n.name,
            {
                "metadata": {
                    "finalizers": remaining or None,
                    "resourceVersion": n.obj["metadata"]["resourceVersion"],
                }
            },
        )


def _blocks(dependent: Node, owner_uid: str) -> bool:
    """Whether ``dependent`` holds up its owner's foreground deletion (blockOwnerDeletion)."""
    return any(
        str(ref.get("uid")) == owner_uid and ref.get("blockOwnerDeletion") is True
        for ref in dependent.owners
    )
