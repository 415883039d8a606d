"""The generic object store: Kubernetes object semantics on top of the revision log.

Owns the verbs every kind shares, as the real apiserver's generic registry does: get,
list and watch; create and update; the patch types and server-side apply, retried when
another writer wins the race; pod binding; and delete with preconditions, finalizers and
graceful deletion. Handlers translate HTTP into calls here; the only I/O is the store.

Shaped as a thin core that decides what to write and delegates the rest: ``commit`` runs
the write pipeline (metadata, defaulting, strategy, validation, admission, managedFields,
the conditional store write), ``deletion`` plans what a delete does, ``listing`` pages
lists, ``watch`` translates store events, and ``codec`` holds the stored form and the
decoded cache. Cached objects are shared and read-only: every write path deep-copies
before changing anything. The records (``WriteOptions`` and the rest) live in
``records`` and are re-exported here.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

from kubeproc.api.errors import BadRequest, Conflict, NotFound
from kubeproc.api.patch import apply as ssa_apply
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.api.selectors import FieldSelector, LabelSelector
from kubeproc.apiserver import deletion, listing, namespaces, strategy
from kubeproc.apiserver.allocators import ServiceAllocator
from kubeproc.apiserver.codec import DecodedCache, encode, present, to_storage
from kubeproc.apiserver.commit import Change, WritePipeline
from kubeproc.apiserver.records import DeleteOptions, ListResult, WatchEvent, WriteOptions
from kubeproc.apiserver.watch import Watches
from kubeproc.storage import KeyValue, RevisionMismatch, SqliteStore
from kubeproc.util.clock import Clock, rfc3339

# How often a write that lost a race to another writer is tried again.
_ATTEMPTS = 5


class ObjectStore:
    """Create, read, update, delete and watch objects of every served kind."""

    def __init__(
        self,
        store: SqliteStore,
        registry: Registry,
        clock: Clock,
        *,
        allocator: ServiceAllocator | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.allocator = allocator or ServiceAllocator()
        self._cache = DecodedCache()
        self._watches = Watches(store, self._cache)
        self._pipeline = WritePipeline(store, self._cache, registry, clock, self.allocator)

    # -- reads ---------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return present(rt, self._cache.decode(self._stored(rt, namespace, name)))

    def try_get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        kv = self.store.get(rt.key(namespace, name))
        return None if kv is None else present(rt, self._cache.decode(kv))

    def _stored(self, rt: ResourceType, namespace: str | None, name: str) -> KeyValue:
        kv = self.store.get(rt.key(namespace, name))
        if kv is None:
            raise NotFound.of(rt.group_resource, name)
        return kv

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListResult:
        return listing.list_page(
            self.store,
            self._cache,
            rt,
            namespace,
            labels=labels,
            fields=fields,
            limit=limit,
            continue_token=continue_token,
        )

    def open_watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        resource_version: str,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> AsyncIterator[WatchEvent]:
        """Events after ``resource_version``; see ``Watches.open``."""
        return self._watches.open(
            rt, namespace, resource_version=resource_version, labels=labels, fields=fields
        )

    # -- writes --------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        opts: WriteOptions,
    ) -> dict[str, Any]:
        return self._pipeline.create(rt, namespace, body, opts, applied=None)

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        opts: WriteOptions,
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        kv = self._stored(rt, namespace, name)
        old = present(rt, self._cache.decode(kv))
        new = copy.deepcopy(body)
        new.setdefault("metadata", {})
        body_name = new["metadata"].get("name")
        if body_name and body_name != name:
            raise BadRequest(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        _check_resource_version(rt, name, new, old)
        change = Change(rt, namespace, name, opts, subresource)
        return self._pipeline.update(change, old, new, kv.mod_revision)

    # -- patch and server-side apply -----------------------------------------------------

    def apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        config: dict[str, Any],
        opts: WriteOptions,
        *,
        subresource: str = "",
    ) -> tuple[dict[str, Any], bool]:
        """Server-side apply: create when missing. Returns (object, created)."""
        change = Change(rt, namespace, name, opts, subresource, "Apply", managed=False)
        key = rt.key(namespace, name)
        for _ in range(_ATTEMPTS):
            kv = self.store.get(key)
            now = rfc3339(self.clock.now())
            if not opts.field_manager:
                raise BadRequest(
                    "PATCH, application/apply-patch+yaml requires fieldManager parameter"
                )
            if kv is None:
                if subresource:
                    raise NotFound.of(rt.group_resource, name)
                return self._apply_create(change, config, now), True
            old = present(rt, self._cache.decode(kv))
            merged = self._ssa(change, copy.deepcopy(old), config, now)
            try:
                return self._pipeline.update(change, old, merged, kv.mod_revision), False
            except Conflict as err:
                if not _lost_race(err):
                    raise
        raise Conflict.modified(rt.group_resource, name)

    def _apply_create(self, change: Change, config: dict[str, Any], now: str) -> dict[str, Any]:
        merged = self._ssa(change, None, config, now)
        merged.setdefault("metadata", {})["name"] = change.name
        managed = merged["metadata"].pop("managedFields", None)
        return self._pipeline.create(
            change.rt, change.namespace, merged, change.opts, applied=managed
        )

    def _ssa(
        self, change: Change, live: dict[str, Any] | None, config: dict[str, Any], now: str
    ) -> dict[str, Any]:
        opts, rt = change.opts, change.rt
        return ssa_apply(
            live,
            config,
            manager=opts.field_manager,
            force=opts.force,
            group=rt.group,
            kind=rt.kind,
            now=now,
        )

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        mutate: Callable[[dict[str, Any]], Any],
        opts: WriteOptions,
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Apply ``mutate(current) -> new`` with optimistic retries (the patch types)."""
        change = Change(rt, namespace, name, opts, subresource)
        for _ in range(_ATTEMPTS):
            kv = self._stored(rt, namespace, name)
            old = present(rt, self._cache.decode(kv))
            new = mutate(copy.deepcopy(old))
            if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
                raise BadRequest("the patch produced an object that is not an object")
            rv = _check_resource_version(rt, name, new, old)
            try:
                return self._pipeline.update(change, old, new, kv.mod_revision)
            except Conflict as err:
                # A patch naming a resourceVersion asked not to be applied to another one.
                if rv or not _lost_race(err):
                    raise
        raise Conflict.modified(rt.group_resource, name)

    # -- binding -------------------------------------------------------------------------

    def bind(self, rt: ResourceType, namespace: str | None, name: str, node: str) -> dict[str, Any]:
        """Assign a pod to a node: ``nodeName`` and ``PodScheduled`` in one write.

        Like the real binding REST, this bypasses pod-update validation (``nodeName`` is
        otherwise immutable) and refuses a pod that is already bound or being deleted.
        """
        kv = self._stored(rt, namespace, name)
        pod = copy.deepcopy(self._cache.decode(kv))
        strategy.assign_pod(pod, name, node, rfc3339(self.clock.now()))
        return self._pipeline.write(rt, namespace, name, pod, kv.mod_revision)

    # -- delete --------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        opts: DeleteOptions,
    ) -> tuple[dict[str, Any], bool]:
        """Delete or start deleting. Returns (object, gone_now)."""
        namespaces.check_deletable(rt, name)
        for _ in range(_ATTEMPTS):
            kv = self._stored(rt, namespace, name)
            old = present(rt, self._cache.decode(kv))
            deletion.check_preconditions(rt, name, old, opts)
            plan = deletion.plan_delete(rt, old, opts, self.clock.now())
            if plan.marked is None:
                if opts.dry_run:
                    return old, True
                return self._pipeline.remove(rt, namespace, name, old, kv.mod_revision), True
            if opts.dry_run or plan.marked == old:
                return old, False
            try:
                kv = self.store.update(
                    kv.key, encode(to_storage(rt, plan.marked)), expected_revision=kv.mod_revision
                )
            except RevisionMismatch:
                continue
            return present(rt, self._cache.decode(kv)), False
        raise Conflict.modified(rt.group_resource, name)


def _check_resource_version(
    rt: ResourceType, name: str, new: dict[str, Any], old: dict[str, Any]
) -> str:
    """The resourceVersion ``new`` names, if any; a 409 when it is not ``old``'s."""
    rv = str(new.get("metadata", {}).get("resourceVersion") or "")
    if rv and rv != old["metadata"]["resourceVersion"]:
        raise Conflict.modified(rt.group_resource, name)
    return rv


def _lost_race(err: Conflict) -> bool:
    """A commit refused because another write came first: worth another attempt."""
    return "modified" in err.message


__all__ = ["DeleteOptions", "ListResult", "ObjectStore", "WatchEvent", "WriteOptions"]
