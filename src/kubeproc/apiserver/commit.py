"""The write pipeline: every create, update and final removal passes through here.

Owns the generic registry's order for one write, as kube-apiserver's ``Store.Create``
and ``Store.Update`` run it: object metadata, defaulting, the kind's strategy,
validation, namespace admission and Service allocation, managedFields, then one store
write under optimistic concurrency, with the store's errors translated to API errors in
this one place. An update that clears the last thing holding an object being deleted
removes it instead. The object store's verbs (patch retries, apply, bind, delete) decide
what to write and call here; nothing here retries.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubeproc.api import defaults, validation
from kubeproc.api.errors import AlreadyExists, Conflict, Invalid, NotFound
from kubeproc.api.patch import track_update
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.apiserver import deletion, namespaces, objectmeta, strategy
from kubeproc.apiserver.allocators import ServiceAllocator
from kubeproc.apiserver.codec import DecodedCache, encode, present, to_storage
from kubeproc.apiserver.records import WriteOptions
from kubeproc.storage import KeyExists, KeyNotFound, RevisionMismatch, SqliteStore
from kubeproc.util.clock import Clock, rfc3339


@dataclass(frozen=True)
class Change:
    """One update's addressing and manner, as the commit records it."""

    rt: ResourceType
    namespace: str | None
    name: str
    opts: WriteOptions
    subresource: str
    operation: str = "Update"
    managed: bool = True  # managedFields tracked here (apply brings its own)


class WritePipeline:
    """Prepares, validates and writes objects into one store."""

    def __init__(
        self,
        store: SqliteStore,
        cache: DecodedCache,
        registry: Registry,
        clock: Clock,
        allocator: ServiceAllocator,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.allocator = allocator
        self._cache = cache

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        opts: WriteOptions,
        *,
        applied: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        """Create; ``applied`` is server-side apply's managedFields, stored in the same write."""
        obj = copy.deepcopy(body)
        meta = objectmeta.before_create(rt, namespace, obj, self.clock.now())
        defaults.apply_defaults(rt, obj)
        strategy.prepare_for_create(rt, obj)
        errs = validation.validate_create(rt, obj)
        if errs:
            raise Invalid.of(rt.kind, rt.group, str(meta.get("name", "")), errs)
        self._check_namespace_active(rt, namespace, str(meta.get("name", "")))
        self._allocate(rt, obj)
        if applied is not None:
            meta["managedFields"] = applied
        else:
            obj = self._track(
                rt, None, obj, manager=opts.manager, operation="Update", subresource=""
            )
        key = rt.key(namespace, meta["name"])
        if opts.dry_run:
            if self.store.get(key) is not None:
                raise AlreadyExists.of(rt.group_resource, meta["name"])
            return obj
        try:
            kv = self.store.create(key, encode(to_storage(rt, obj)))
        except KeyExists:
            raise AlreadyExists.of(rt.group_resource, meta["name"]) from None
        return present(rt, self._cache.decode(kv))

    def update(
        self, change: Change, old: dict[str, Any], new: dict[str, Any], expected: int
    ) -> dict[str, Any]:
        """Prepare, validate and write ``new`` over ``old`` if the key is still at ``expected``."""
        rt, namespace, name = change.rt, change.namespace, change.name
        objectmeta.before_update(rt, namespace, name, new, old)
        defaults.apply_defaults(rt, new)
        strategy.prepare_for_update(rt, new, old, subresource=change.subresource)
        if change.subresource == "status":
            errs = validation.validate_status_update(rt, new, old)
        else:
            errs = validation.validate_update(rt, new, old)
        if errs:
            raise Invalid.of(rt.kind, rt.group, name, errs)
        if change.subresource == "":
            self._allocate(rt, new)
        if change.managed:
            new = self._track(
                rt,
                old,
                new,
                manager=change.opts.manager,
                operation=change.operation,
                subresource=change.subresource,
            )
        if objectmeta.same_content(old, new):
            return old
        if change.opts.dry_run:
            return new
        if new["metadata"].get("deletionTimestamp") and not deletion.deletion_blocked(rt, new):
            return self.remove(rt, namespace, name, new, expected)
        return self.write(rt, namespace, name, to_storage(rt, new), expected)

    def write(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        stored: dict[str, Any],
        expected: int,
    ) -> dict[str, Any]:
        """Store ``stored`` (already in storage form) if the key is still at ``expected``."""
        with _translated(rt, name):
            kv = self.store.update(
                rt.key(namespace, name), encode(stored), expected_revision=expected
            )
        return present(rt, self._cache.decode(kv))

    def remove(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        last: dict[str, Any],
        expected: int,
    ) -> dict[str, Any]:
        """Delete the key if still at ``expected``; ``last`` as of the deleting revision."""
        key = rt.key(namespace, name)
        with _translated(rt, name):
            kv = self.store.delete(key, expected_revision=expected)
        self._cache.forget(key)
        out = copy.deepcopy(last)
        out["metadata"]["resourceVersion"] = str(kv.mod_revision)
        return out

    def _check_namespace_active(self, rt: ResourceType, namespace: str | None, name: str) -> None:
        if not rt.namespaced or namespace is None:
            return
        ns_rt = self.registry.get("", "v1", "namespaces")
        assert ns_rt is not None
        kv = self.store.get(ns_rt.key(None, namespace))
        found = None if kv is None else self._cache.decode(kv)
        ns = namespaces.require_namespace(ns_rt, namespace, found)
        namespaces.check_not_terminating(rt, namespace, name, ns)

    def _allocate(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        """Cluster IPs and node ports for a Service, against every other Service."""
        if (rt.group, rt.kind) != ("", "Service"):
            return
        meta = obj["metadata"]
        me = rt.key(meta.get("namespace"), meta.get("name", ""))
        kvs, _ = self.store.list(rt.prefix(None))
        others = [self._cache.decode(kv) for kv in kvs if kv.key != me]
        errs = self.allocator.allocate(obj, others)
        if errs:
            raise Invalid.of(rt.kind, rt.group, str(meta.get("name", "")), errs)

    def _track(
        self,
        rt: ResourceType,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        *,
        manager: str,
        operation: str,
        subresource: str,
    ) -> dict[str, Any]:
        """``new`` with managedFields recording this write."""
        return track_update(
            old,
            new,
            manager=manager,
            operation=operation,
            subresource=subresource,
            api_version=rt.api_version,
            now=rfc3339(self.clock.now()),
        )


@contextlib.contextmanager
def _translated(rt: ResourceType, name: str) -> Iterator[None]:
    """The store's refusals of a conditional write, as the API errors clients get."""
    try:
        yield
    except RevisionMismatch:
        raise Conflict.modified(rt.group_resource, name) from None
    except KeyNotFound:
        raise NotFound.of(rt.group_resource, name) from None
