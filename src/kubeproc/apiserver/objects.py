"""The generic object store: Kubernetes object semantics on top of the revision log.

Owns what every kind shares, as the real apiserver's generic registry does: uid, names
from generateName, timestamps, resourceVersion (the store revision), optimistic
concurrency, defaulting and validation at the right moments, managedFields, status
subresource separation, generation, graceful deletion, finalizers and the deletion that
follows once they are gone. Handlers translate HTTP into calls here; the only I/O is the
store. Decoded objects are cached by revision and must be treated as read-only: every
write path deep-copies before changing anything.
"""

from __future__ import annotations

import base64
import builtins
import copy
import datetime as dt
import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from kubeproc.api import defaults, validation
from kubeproc.api.conversion import event_from_events_v1, event_to_events_v1
from kubeproc.api.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    StatusError,
    forbidden,
)
from kubeproc.api.patch import apply as ssa_apply
from kubeproc.api.patch import track_update
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.api.selectors import FieldSelector, LabelSelector, field_set
from kubeproc.apiserver import strategy
from kubeproc.apiserver.allocators import ServiceAllocator
from kubeproc.storage import (
    Compacted,
    Event,
    EventType,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionMismatch,
    SqliteStore,
    Watcher,
)
from kubeproc.util.clock import Clock, rfc3339

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True)
class WriteOptions:
    field_manager: str = ""
    dry_run: bool = False
    force: bool = False
    user_agent: str = ""


@dataclass(frozen=True)
class DeleteOptions:
    propagation: str = ""
    grace_period: int | None = None
    precondition_uid: str = ""
    precondition_rv: str = ""
    dry_run: bool = False


@dataclass(frozen=True)
class ListResult:
    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


@dataclass(frozen=True)
class WatchEvent:
    type: str
    object: dict[str, Any]
    revision: int = 0


@dataclass
class _Cache:
    """Decoded objects by key, valid while the key's mod_revision is unchanged."""

    entries: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def decode(self, kv: KeyValue) -> dict[str, Any]:
        hit = self.entries.get(kv.key)
        if hit is not None and hit[0] == kv.mod_revision:
            return hit[1]
        obj: dict[str, Any] = json.loads(kv.value)
        obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
        self.entries[kv.key] = (kv.mod_revision, obj)
        return obj

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)


def _encode(obj: dict[str, Any]) -> bytes:
    meta = obj["metadata"]
    rv = meta.pop("resourceVersion", None)
    try:
        return json.dumps(obj, separators=(",", ":")).encode()
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


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
        self._cache = _Cache()

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

    # -- reads ---------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        kv = self.store.get(rt.key(namespace, name))
        if kv is None:
            raise NotFound.of(rt.group_resource, name)
        return self._present(rt, self._cache.decode(kv))

    def try_get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        kv = self.store.get(rt.key(namespace, name))
        return None if kv is None else self._present(rt, self._cache.decode(kv))

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
        prefix = rt.prefix(namespace)
        start_after, revision = _decode_continue(continue_token, self.store.compact_revision)
        # Every page reports the first page's revision: a client that watches from it
        # then replays the changes made to earlier pages while it paged.
        revision = revision or self.store.revision
        items: list[dict[str, Any]] = []
        last_key = ""
        more = False
        batch = max(limit, 500) if limit else 0
        cursor = start_after
        while True:
            kvs, has_more = self.store.list(prefix, start_after=cursor, limit=batch)
            for kv in kvs:
                obj = self._cache.decode(kv)
                last_key = kv.key
                if self._matches(rt, obj, labels, fields):
                    if limit and len(items) >= limit:
                        more = True
                        break
                    items.append(self._present(rt, obj))
            if more or not has_more or not kvs:
                more = more or (has_more and bool(limit) and len(items) >= limit)
                break
            cursor = kvs[-1].key
        token = ""
        if more and items:
            last_name = items[-1]["metadata"]["name"]
            last_ns = items[-1]["metadata"].get("namespace")
            token = _encode_continue(rt.key(last_ns, last_name), revision)
        del last_key
        return ListResult(items, str(revision), token)

    def _matches(
        self,
        rt: ResourceType,
        obj: dict[str, Any],
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> bool:
        if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
            return False
        return fields is None or fields.matches(field_set(rt, obj))

    def _present(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as this resource type shows it (conversion for shared storage)."""
        if rt.group == "events.k8s.io":
            return event_to_events_v1(obj)
        if "kind" not in obj or obj.get("apiVersion") != rt.api_version:
            obj = dict(obj)
            obj["kind"] = rt.kind
            obj["apiVersion"] = rt.api_version
        return obj

    def _to_storage(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if rt.group == "events.k8s.io":
            return event_from_events_v1(obj)
        return obj

    # -- create --------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        opts: WriteOptions,
    ) -> dict[str, Any]:
        return self._create(rt, namespace, body, opts, applied=None)

    def _create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        opts: WriteOptions,
        *,
        applied: builtins.list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        """Create; ``applied`` is server-side apply's managedFields, stored in the same write."""
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise BadRequest("metadata must be an object")
        self._check_namespace(rt, namespace, meta)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = str(meta["generateName"]) + "".join(
                random.choice(_NAME_CHARS) for _ in range(5)
            )
        obj["kind"] = rt.kind
        obj["apiVersion"] = rt.api_version
        stored_rt = rt
        for key in (
            "uid",
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
            "managedFields",
        ):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock.now())
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
            obj = track_update(
                None,
                obj,
                manager=opts.field_manager or _manager_from(opts.user_agent),
                operation="Update",
                subresource="",
                api_version=rt.api_version,
                now=rfc3339(self.clock.now()),
            )
        if opts.dry_run:
            if self.store.get(rt.key(namespace, meta["name"])) is not None:
                raise AlreadyExists.of(rt.group_resource, meta["name"])
            return obj
        stored = self._to_storage(stored_rt, obj)
        try:
            kv = self.store.create(rt.key(namespace, meta["name"]), _encode(stored))
        except KeyExists:
            raise AlreadyExists.of(rt.group_resource, meta["name"]) from None
        return self._present(rt, self._cache.decode(kv))

    def _check_namespace(
        self, rt: ResourceType, namespace: str | None, meta: dict[str, Any]
    ) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.get("namespace")
        if given and given != namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = namespace

    def _check_namespace_active(self, rt: ResourceType, namespace: str | None, name: str) -> None:
        if not rt.namespaced or namespace is None:
            return
        ns_rt = self.registry.get("", "v1", "namespaces")
        assert ns_rt is not None
        kv = self.store.get(ns_rt.key(None, namespace))
        if kv is None:
            raise NotFound.of(ns_rt.group_resource, namespace)
        ns = self._cache.decode(kv)
        if ns["metadata"].get("deletionTimestamp"):
            raise Forbidden(
                f'{rt.group_resource} "{name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                details={
                    "name": name,
                    "kind": rt.plural,
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )

    # -- update --------------------------------------------------------------------------

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
        key = rt.key(namespace, name)
        kv = self.store.get(key)
        if kv is None:
            raise NotFound.of(rt.group_resource, name)
        old = self._present(rt, self._cache.decode(kv))
        new = copy.deepcopy(body)
        new.setdefault("metadata", {})
        body_name = new["metadata"].get("name")
        if body_name and body_name != name:
            raise BadRequest(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        rv = str(new["metadata"].get("resourceVersion") or "")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise Conflict.modified(rt.group_resource, name)
        return self._commit_update(
            rt,
            namespace=namespace,
            name=name,
            old=old,
            new=new,
            opts=opts,
            subresource=subresource,
            expected=kv.mod_revision,
        )

    def _commit_update(
        self,
        rt: ResourceType,
        *,
        namespace: str | None,
        name: str,
        old: dict[str, Any],
        new: dict[str, Any],
        opts: WriteOptions,
        subresource: str,
        expected: int,
        operation: str = "Update",
        managed: bool = True,
    ) -> dict[str, Any]:
        meta = new.setdefault("metadata", {})
        old_meta = old["metadata"]
        meta["name"] = name
        if rt.namespaced:
            meta["namespace"] = namespace
        new["kind"] = rt.kind
        new["apiVersion"] = rt.api_version
        for keep in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if keep in old_meta:
                meta[keep] = old_meta[keep]
            else:
                meta.pop(keep, None)
        if old_meta.get("deletionTimestamp"):
            _check_finalizer_changes(rt, name, old_meta, meta)
        defaults.apply_defaults(rt, new)
        strategy.prepare_for_update(rt, new, old, subresource=subresource)
        meta = new["metadata"]
        if subresource == "status":
            errs = validation.validate_status_update(rt, new, old)
        else:
            errs = validation.validate_update(rt, new, old)
        if errs:
            raise Invalid.of(rt.kind, rt.group, name, errs)
        if subresource == "":
            self._allocate(rt, new)
        if managed:
            new = track_update(
                old,
                new,
                manager=opts.field_manager or _manager_from(opts.user_agent),
                operation=operation,
                subresource=subresource,
                api_version=rt.api_version,
                now=rfc3339(self.clock.now()),
            )
        meta = new["metadata"]
        if _same_content(old, new):
            return old
        if opts.dry_run:
            return new
        if meta.get("deletionTimestamp") and not _deletion_blocked(rt, new):
            return self._remove(rt, namespace, name, new, expected)
        try:
            kv = self.store.update(
                rt.key(namespace, name),
                _encode(self._to_storage(rt, new)),
                expected_revision=expected,
            )
        except RevisionMismatch:
            raise Conflict.modified(rt.group_resource, name) from None
        except KeyNotFound:
            raise NotFound.of(rt.group_resource, name) from None
        return self._present(rt, self._cache.decode(kv))

    # -- patch ---------------------------------------------------------------------------

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
        key = rt.key(namespace, name)
        for _ in range(5):
            kv = self.store.get(key)
            now = rfc3339(self.clock.now())
            manager = opts.field_manager
            if not manager:
                raise BadRequest(
                    "PATCH, application/apply-patch+yaml requires fieldManager parameter"
                )
            if kv is None:
                if subresource:
                    raise NotFound.of(rt.group_resource, name)
                merged = ssa_apply(
                    None,
                    config,
                    manager=manager,
                    force=opts.force,
                    group=rt.group,
                    kind=rt.kind,
                    now=now,
                )
                merged.setdefault("metadata", {})["name"] = name
                managed = merged["metadata"].pop("managedFields", None)
                created = self._create(
                    rt, namespace, merged, replace(opts, field_manager=manager), applied=managed
                )
                return created, True
            old = self._present(rt, self._cache.decode(kv))
            merged = ssa_apply(
                copy.deepcopy(old),
                config,
                manager=manager,
                force=opts.force,
                group=rt.group,
                kind=rt.kind,
                now=now,
            )
            try:
                return self._commit_update(
                    rt,
                    namespace=namespace,
                    name=name,
                    old=old,
                    new=merged,
                    opts=opts,
                    subresource=subresource,
                    expected=kv.mod_revision,
                    operation="Apply",
                    managed=False,
                ), False
            except Conflict as err:
                if "modified" not in err.message:
                    raise
        raise Conflict.modified(rt.group_resource, name)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        mutate: Any,
        opts: WriteOptions,
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Apply ``mutate(current) -> new`` with optimistic retries (the patch types)."""
        key = rt.key(namespace, name)
        for _ in range(5):
            kv = self.store.get(key)
            if kv is None:
                raise NotFound.of(rt.group_resource, name)
            old = self._present(rt, self._cache.decode(kv))
            new = mutate(copy.deepcopy(old))
            if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
                raise BadRequest("the patch produced an object that is not an object")
            rv = str(new.get("metadata", {}).get("resourceVersion") or "")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise Conflict.modified(rt.group_resource, name)
            try:
                return self._commit_update(
                    rt,
                    namespace=namespace,
                    name=name,
                    old=old,
                    new=new,
                    opts=opts,
                    subresource=subresource,
                    expected=kv.mod_revision,
                )
            except Conflict as err:
                if rv or "modified" not in err.message:
                    raise
        raise Conflict.modified(rt.group_resource, name)

    # -- binding -------------------------------------------------------------------------

    def bind(self, rt: ResourceType, namespace: str | None, name: str, node: str) -> dict[str, Any]:
        """Assign a pod to a node: ``nodeName`` and ``PodScheduled`` in one write.

        Like the real binding REST, this bypasses pod-update validation (``nodeName`` is
        otherwise immutable) and refuses a pod that is already bound or being deleted.
        """
        key = rt.key(namespace, name)
        kv = self.store.get(key)
        if kv is None:
            raise NotFound.of(rt.group_resource, name)
        pod = copy.deepcopy(self._cache.decode(kv))
        if pod["metadata"].get("deletionTimestamp"):
            raise Conflict(
                f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} '
                "is being deleted, cannot be assigned to a host",
                details={"name": name, "kind": "pods/binding"},
            )
        bound = pod.get("spec", {}).get("nodeName")
        if bound:
            raise Conflict(
                f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} '
                f'is already assigned to node "{bound}"',
                details={"name": name, "kind": "pods/binding"},
            )
        pod["spec"]["nodeName"] = node
        status = pod.setdefault("status", {})
        conditions = [c for c in status.get("conditions", []) if c.get("type") != "PodScheduled"]
        conditions.insert(
            0,
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": rfc3339(self.clock.now()),
            },
        )
        status["conditions"] = conditions
        try:
            kv = self.store.update(key, _encode(pod), expected_revision=kv.mod_revision)
        except RevisionMismatch:
            raise Conflict.modified(rt.group_resource, name) from None
        return self._present(rt, self._cache.decode(kv))

    # -- delete --------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        opts: DeleteOptions,
    ) -> tuple[dict[str, Any], bool]:
        """Delete or start deleting. Returns (object, gone_now)."""
        if rt.kind == "Namespace" and rt.group == "" and name in PROTECTED_NAMESPACES:
            raise Forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                details={"name": name, "kind": "namespaces"},
            )
        key = rt.key(namespace, name)
        for _ in range(5):
            kv = self.store.get(key)
            if kv is None:
                raise NotFound.of(rt.group_resource, name)
            old = self._present(rt, self._cache.decode(kv))
            meta = old["metadata"]
            if opts.precondition_uid and opts.precondition_uid != meta.get("uid"):
                raise Conflict(
                    f"Precondition failed: UID in precondition: {opts.precondition_uid}, "
                    f"UID in object meta: {meta.get('uid')}",
                    details={"name": name, "kind": rt.plural},
                )
            if opts.precondition_rv and opts.precondition_rv != meta["resourceVersion"]:
                raise Conflict(
                    f"Precondition failed: ResourceVersion in precondition: "
                    f"{opts.precondition_rv}, ResourceVersion in object meta: "
                    f"{meta['resourceVersion']}",
                    details={"name": name, "kind": rt.plural},
                )
            new = copy.deepcopy(old)
            nmeta = new["metadata"]
            finalizers = list(nmeta.get("finalizers") or [])
            policy = opts.propagation or _default_propagation(rt)
            if policy == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            if policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            grace = strategy.graceful_delete_seconds(rt, old, opts.grace_period)
            if rt.kind == "Namespace" and rt.group == "":
                new.setdefault("status", {})["phase"] = "Terminating"
                finalizers_pending = bool(new.get("spec", {}).get("finalizers"))
            else:
                finalizers_pending = False
            if not finalizers and grace == 0 and not finalizers_pending:
                if opts.dry_run:
                    return old, True
                return self._remove(rt, namespace, name, old, kv.mod_revision), True
            if finalizers:
                nmeta["finalizers"] = finalizers
            if not nmeta.get("deletionTimestamp"):
                nmeta["deletionTimestamp"] = rfc3339(self.clock.now() + _seconds(grace))
                nmeta["deletionGracePeriodSeconds"] = grace
            elif grace < int(nmeta.get("deletionGracePeriodSeconds", grace)):
                # A shorter grace period may replace a longer one, never the reverse.
                nmeta["deletionTimestamp"] = rfc3339(self.clock.now() + _seconds(grace))
                nmeta["deletionGracePeriodSeconds"] = grace
            if grace == 0 and not finalizers and not finalizers_pending:
                return self._remove(rt, namespace, name, new, kv.mod_revision), True
            if opts.dry_run or new == old:
                return old, False
            try:
                kv2 = self.store.update(
                    key, _encode(self._to_storage(rt, new)), expected_revision=kv.mod_revision
                )
            except RevisionMismatch:
                continue
            return self._present(rt, self._cache.decode(kv2)), False
        raise Conflict.modified(rt.group_resource, name)

    def _remove(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        last: dict[str, Any],
        expected: int,
    ) -> dict[str, Any]:
        key = rt.key(namespace, name)
        try:
            kv = self.store.delete(key, expected_revision=expected)
        except RevisionMismatch:
            raise Conflict.modified(rt.group_resource, name) from None
        except KeyNotFound:
            raise NotFound.of(rt.group_resource, name) from None
        self._cache.forget(key)
        out = copy.deepcopy(last)
        out["metadata"]["resourceVersion"] = str(kv.mod_revision)
        return out

    # -- watch ---------------------------------------------------------------------------

    def open_watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        resource_version: str,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> AsyncIterator[WatchEvent]:
        """Events after ``resource_version`` (all current objects first for 0 or "").

        Opening is synchronous so a malformed resourceVersion fails before the response
        starts, while a compacted one fails on the first step (an ERROR event in a 200
        stream, as kube-apiserver answers); the snapshot and the subscription are taken
        with no await between them, so no change can fall in the gap.
        """
        prefix = rt.prefix(namespace)
        initial: list[dict[str, Any]] = []
        if resource_version in ("", "0"):
            start = self.store.revision
            kvs, _ = self.store.list(prefix)
            initial = [self._cache.decode(kv) for kv in kvs]
        else:
            try:
                start = int(resource_version)
            except ValueError:
                raise BadRequest(f'invalid resource version "{resource_version}"') from None
        try:
            watcher = self.store.watch(prefix, start)
        except Compacted as err:
            # kube-apiserver accepts such a watch (200) and sends one ERROR event (410
            # Expired), so clients read it in-stream and relist.
            return _Failed(Gone(f"too old resource version: {start} ({err.compacted})"))
        return self._events(
            rt, watcher=watcher, initial=initial, start=start, labels=labels, fields=fields
        )

    async def _events(
        self,
        rt: ResourceType,
        *,
        watcher: Watcher,
        initial: builtins.list[dict[str, Any]],
        start: int,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> AsyncIterator[WatchEvent]:
        try:
            for obj in initial:
                if self._matches(rt, obj, labels, fields):
                    yield WatchEvent("ADDED", self._present(rt, obj), start)
            async for ev in watcher:
                out = self._translate_event(rt, ev, labels, fields)
                if out is not None:
                    yield out
        finally:
            watcher.close()

    def _translate_event(
        self,
        rt: ResourceType,
        ev: Event,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> WatchEvent | None:
        """A store change as this watch sees it; moving across the selector is ADDED/DELETED."""
        if ev.type is EventType.DELETE:
            self._cache.forget(ev.kv.key)
            last = json.loads(ev.kv.value)
            last["metadata"]["resourceVersion"] = str(ev.kv.mod_revision)
            if self._matches(rt, last, labels, fields):
                return WatchEvent("DELETED", self._present(rt, last), ev.revision)
            return None
        obj = self._cache.decode(ev.kv)
        now_in = self._matches(rt, obj, labels, fields)
        if ev.prev is None:
            return WatchEvent("ADDED", self._present(rt, obj), ev.revision) if now_in else None
        prev = json.loads(ev.prev.value)
        was_in = self._matches(rt, prev, labels, fields)
        if now_in:
            kind = "MODIFIED" if was_in else "ADDED"
            return WatchEvent(kind, self._present(rt, obj), ev.revision)
        if was_in:
            # As kube-apiserver's cacher: the last state the watcher was shown, at the
            # revision of the change that moved it out.
            prev["metadata"]["resourceVersion"] = str(ev.revision)
            return WatchEvent("DELETED", self._present(rt, prev), ev.revision)
        return None


class _Failed:
    """A watch whose first step raises ``err``; the stream sends it as an ERROR event."""

    def __init__(self, err: StatusError) -> None:
        self._err = err

    def __aiter__(self) -> _Failed:
        return self

    async def __anext__(self) -> WatchEvent:
        raise self._err


def _seconds(n: int) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def _deletion_blocked(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """Whether an object being deleted must stay: finalizers, its kubelet, or its content.

    A namespace also waits for ``spec.finalizers`` (emptied through ``/finalize`` once the
    namespace controller deleted what it held), as the namespace registry's
    ``ShouldDeleteNamespaceDuringUpdate`` does; without this, dropping a ``foregroundDeletion``
    or ``orphan`` finalizer would remove a namespace whose content still exists.
    """
    if obj["metadata"].get("finalizers") or _awaits_kubelet(rt, obj):
        return True
    return _is_namespace(rt) and bool(obj.get("spec", {}).get("finalizers"))


def _is_namespace(rt: ResourceType) -> bool:
    return (rt.group, rt.kind) == ("", "Namespace")


def _awaits_kubelet(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """A pod being deleted gracefully stays until its kubelet confirms (grace 0)."""
    if (rt.group, rt.kind) != ("", "Pod"):
        return False
    return int(obj["metadata"].get("deletionGracePeriodSeconds", 0)) > 0


def _default_propagation(rt: ResourceType) -> str:
    return "Background"


def _check_finalizer_changes(
    rt: ResourceType, name: str, old_meta: dict[str, Any], new_meta: dict[str, Any]
) -> None:
    """Once deletion started, finalizers may only be removed, never added.

    apimachinery's ``ValidateNoNewFinalizers``: a 422 on ``metadata.finalizers`` naming the
    new ones as Go prints a sorted ``[]string`` with ``%#v``.
    """
    old = set(old_meta.get("finalizers") or [])
    added = sorted({str(f) for f in new_meta.get("finalizers") or [] if f not in old})
    if added:
        listed = ", ".join(json.dumps(f) for f in added)
        detail = (
            "no new finalizers can be added if the object is being deleted, found new "
            f"finalizers []string{{{listed}}}"
        )
        raise Invalid.of(rt.kind, rt.group, name, [forbidden("metadata.finalizers", detail)])


def _same_content(old: dict[str, Any], new: dict[str, Any]) -> bool:
    a = dict(old)
    b = dict(new)
    a["metadata"] = {k: v for k, v in old["metadata"].items() if k != "managedFields"}
    b["metadata"] = {k: v for k, v in new["metadata"].items() if k != "managedFields"}
    return a == b


def _manager_from(user_agent: str) -> str:
    """The default field manager: the user agent's first word, as the apiserver does."""
    head = user_agent.split("/", maxsplit=1)[0].strip()
    return head[:128] or "unknown"


def _encode_continue(key: str, revision: int) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str, compacted: int) -> tuple[str | None, int]:
    """Where a continued list starts and the revision of its first page (0: no token)."""
    if not token:
        return None, 0
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        start = str(data["start"]).rstrip("\x00")
        revision = int(data["rv"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest(
            "continue key is not valid: incorrect encoded start resourceVersion "
            "(version meta.k8s.io/v1)"
        ) from None
    if revision < compacted:
        raise Gone(
            "The provided continue parameter is too old to display a consistent list result. "
            "You can start a new list without the continue parameter."
        )
    return start, revision
