"""Which kinds can arrive as protobuf, and the one merged table their messages come from.

Owns the map from a body's ``(apiVersion, kind)`` to its root message and the union of the
table modules. The kinds are the ones kubeproc serves (see `kubeproc.api.resources`) plus
the request-only kinds a client posts to them: Binding, Eviction, Scale, DeleteOptions.
DeleteOptions is registered in every group, so it is accepted under any apiVersion.

The tables were taken from k8s.io/api and k8s.io/apimachinery master of mid-2026 (commit
10b39a39 of kubernetes/api), newer than any kubectl we run: field numbers are never reused,
so bodies from older clients decode too, and fields newer than a client are simply absent.
They were checked against upstream's round-trip fixtures (``testdata/HEAD`` and
``v1.33.0``: every served kind, every field filled), which decode to their ``.json`` twins.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from kubeproc.api.protobuf import core, core_pod, core_volume, groups, meta
from kubeproc.api.protobuf.schema import Message

__all__ = ["ANY_VERSION", "MESSAGES", "ROOTS", "root_message"]

ANY_VERSION: Final = "*"


def _merge(*tables: dict[str, Message]) -> MappingProxyType[str, Message]:
    merged: dict[str, Message] = {}
    for table in tables:
        clash = merged.keys() & table.keys()
        if clash:
            raise ValueError(f"messages defined twice: {sorted(clash)}")
        merged.update(table)
    return MappingProxyType(merged)


MESSAGES: Final = _merge(
    meta.MESSAGES, core.MESSAGES, core_pod.MESSAGES, core_volume.MESSAGES, groups.MESSAGES
)

ROOTS: Final = MappingProxyType(
    {
        ("v1", "Binding"): "Binding",
        ("v1", "ConfigMap"): "ConfigMap",
        ("v1", "Endpoints"): "Endpoints",
        ("v1", "Event"): "Event",
        ("v1", "Namespace"): "Namespace",
        ("v1", "Node"): "Node",
        ("v1", "Pod"): "Pod",
        ("v1", "ReplicationController"): "ReplicationController",
        ("v1", "Secret"): "Secret",
        ("v1", "Service"): "Service",
        ("v1", "ServiceAccount"): "ServiceAccount",
        ("apps/v1", "Deployment"): "Deployment",
        ("apps/v1", "ReplicaSet"): "ReplicaSet",
        ("autoscaling/v1", "Scale"): "Scale",
        ("coordination.k8s.io/v1", "Lease"): "Lease",
        ("discovery.k8s.io/v1", "EndpointSlice"): "EndpointSlice",
        ("events.k8s.io/v1", "Event"): "events.Event",
        ("networking.k8s.io/v1", "NetworkPolicy"): "NetworkPolicy",
        ("policy/v1", "Eviction"): "Eviction",
        (ANY_VERSION, "DeleteOptions"): "DeleteOptions",
    }
)


def root_message(api_version: str, kind: str) -> str | None:
    """The message a body of this apiVersion and kind is encoded as, if we know it."""
    return ROOTS.get((api_version, kind)) or ROOTS.get((ANY_VERSION, kind))
