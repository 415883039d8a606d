"""ObjectMeta on every write: what the server sets, keeps and ignores, whatever the kind.

Owns the generic half of kube-apiserver's ``rest.BeforeCreate`` and ``BeforeUpdate``: a
create gets its namespace from the request, a name from ``generateName``, a fresh uid and
creationTimestamp, and loses the fields only the server writes; an update keeps the
stored object's identity, timestamps and generation, and may not add finalizers once
deletion started. Per-kind rules live in ``strategy``; this module is pure and the object
store calls it before defaulting and validation.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from kubeproc.api.errors import BadRequest
from kubeproc.api.resources import ResourceType
from kubeproc.apiserver.deletion import check_finalizer_changes
from kubeproc.apiserver.namespaces import check_body_namespace
from kubeproc.util.clock import rfc3339

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_NAME_SUFFIX_LENGTH = 5

# Only the server writes these: a client's values are dropped on create.
_SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
    "managedFields",
)

# An update keeps these from the stored object, whatever its body says.
_KEPT_ON_UPDATE = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
)


def before_create(
    rt: ResourceType, namespace: str | None, obj: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    """Prepare a new object's metadata in place; returns it."""
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise BadRequest("metadata must be an object")
    _scope(rt, namespace, meta)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = str(meta["generateName"]) + "".join(
            random.choice(_NAME_CHARS) for _ in range(_NAME_SUFFIX_LENGTH)
        )
    obj["kind"] = rt.kind
    obj["apiVersion"] = rt.api_version
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = rfc3339(now)
    return meta


def _scope(rt: ResourceType, namespace: str | None, meta: dict[str, Any]) -> None:
    """The request's namespace for a namespaced kind; none for a cluster-scoped one."""
    if not rt.namespaced:
        meta.pop("namespace", None)
        return
    check_body_namespace(meta.get("namespace"), namespace)
    meta["namespace"] = namespace


def before_update(
    rt: ResourceType,
    namespace: str | None,
    name: str,
    new: dict[str, Any],
    old: dict[str, Any],
) -> None:
    """Prepare an updated object's metadata in place from the stored ``old``."""
    meta = new.setdefault("metadata", {})
    old_meta = old["metadata"]
    meta["name"] = name
    if rt.namespaced:
        meta["namespace"] = namespace
    new["kind"] = rt.kind
    new["apiVersion"] = rt.api_version
    for keep in _KEPT_ON_UPDATE:
        if keep in old_meta:
            meta[keep] = old_meta[keep]
        else:
            meta.pop(keep, None)
    if old_meta.get("deletionTimestamp"):
        check_finalizer_changes(rt, name, old_meta, meta)


def same_content(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an update changes nothing but managedFields (then nothing is written)."""
    a = dict(old)
    b = dict(new)
    a["metadata"] = {k: v for k, v in old["metadata"].items() if k != "managedFields"}
    b["metadata"] = {k: v for k, v in new["metadata"].items() if k != "managedFields"}
    return a == b
