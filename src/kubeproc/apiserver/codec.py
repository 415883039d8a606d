"""The stored form of an object: its bytes, its decoded cache, and how a resource shows it.

Owns the one translation between the revision log's values and API objects. The stored
bytes carry no ``resourceVersion`` (the revision that wrote a key is its version), so
decoding puts it back. Decoding is cached by key and revision for the object store's
reads, lists and watches; cached objects are shared and must be treated as read-only.
Events are stored as ``v1`` and shown as ``events.k8s.io`` on that group's paths, as
kube-apiserver's shared storage with conversion does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kubeproc.api.conversion import event_from_events_v1, event_to_events_v1
from kubeproc.api.resources import ResourceType
from kubeproc.storage import KeyValue


def encode(obj: dict[str, Any]) -> bytes:
    """The stored bytes: compact JSON without ``resourceVersion`` (``obj`` is left as is)."""
    meta = obj["metadata"]
    rv = meta.pop("resourceVersion", None)
    try:
        return json.dumps(obj, separators=(",", ":")).encode()
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


def decode(kv: KeyValue) -> dict[str, Any]:
    """A fresh object from a stored value, versioned by the revision that wrote it."""
    obj: dict[str, Any] = json.loads(kv.value)
    obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
    return obj


@dataclass
class DecodedCache:
    """Decoded objects by key, valid while the key's mod_revision is unchanged."""

    entries: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def decode(self, kv: KeyValue) -> dict[str, Any]:
        hit = self.entries.get(kv.key)
        if hit is not None and hit[0] == kv.mod_revision:
            return hit[1]
        obj = decode(kv)
        self.entries[kv.key] = (kv.mod_revision, obj)
        return obj

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)


def present(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as this resource type shows it (conversion for shared storage)."""
    if rt.group == "events.k8s.io":
        return event_to_events_v1(obj)
    if "kind" not in obj or obj.get("apiVersion") != rt.api_version:
        obj = dict(obj)
        obj["kind"] = rt.kind
        obj["apiVersion"] = rt.api_version
    return obj


def to_storage(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as it is stored, whichever resource type wrote it."""
    if rt.group == "events.k8s.io":
        return event_from_events_v1(obj)
    return obj
