"""Defaulting of the served kinds: what ``SetDefaults_*`` and the API's markers do.

The one door is ``apply_defaults(rt, obj)``, which fills in, in place, every field the
real server would have filled in by the time a client reads the object back: the
registered defaulting functions and ``+default`` markers of each group-version, and, for
Pods, the mutations of the admission plugins every cluster runs. It only ever fills
absent (or zero) fields, so applying it to an already-defaulted object changes nothing;
the apiserver may run it on every write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubeproc.api.defaults import objects, pod, service, workloads
from kubeproc.api.resources import ResourceType

__all__ = ["apply_defaults"]

_DEFAULTERS: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("", "Pod"): pod.default_pod,
    ("", "Service"): service.default_service,
    ("", "Endpoints"): service.default_endpoints,
    ("", "Namespace"): objects.default_namespace,
    ("", "Node"): objects.default_node,
    ("", "Secret"): objects.default_secret,
    ("", "ReplicationController"): workloads.default_replication_controller,
    ("apps", "Deployment"): workloads.default_deployment,
    ("apps", "ReplicaSet"): workloads.default_replica_set,
    ("discovery.k8s.io", "EndpointSlice"): objects.default_endpoint_slice,
    ("networking.k8s.io", "NetworkPolicy"): objects.default_network_policy,
}


def apply_defaults(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Fill in ``obj``'s defaults in place (kinds without defaults are left alone)."""
    defaulter = _DEFAULTERS.get((rt.group, rt.kind))
    if defaulter is not None:
        defaulter(obj)
