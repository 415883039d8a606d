"""Validation of the served kinds, as kube-apiserver's registry strategies run it.

The one door for the apiserver: ``validate_create``, ``validate_update`` (with the
immutability rules) and ``validate_status_update``, each returning the field errors in the
real server's order, ready for ``Invalid.of``. Objects are plain JSON dicts, already
defaulted (``kubeproc.api.defaults``), named (generateName resolved) and placed in their
namespace by the server. Around every kind's own rules sit the generic store's: on create,
once the kind's rules pass, the name must also be a valid URL path segment; on update,
the generic metadata rules run first (Go's ``validateCommonFields``), which is why an
immutable-name error can appear twice among the causes, as it does in the real server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubeproc.api.errors import FieldError
from kubeproc.api.resources import ResourceType
from kubeproc.api.validation import (
    cluster,
    config,
    endpoints,
    events,
    networking,
    pod,
    service,
    workloads,
)
from kubeproc.api.validation.meta import (
    name_is_path_segment,
    validate_object_meta,
    validate_object_meta_update,
)

__all__ = ["validate_create", "validate_status_update", "validate_update"]

Obj = dict[str, Any]
_Create = Callable[[Obj], list[FieldError]]
_Update = Callable[[Obj, Obj], list[FieldError]]

_CREATE: dict[tuple[str, str], _Create] = {
    ("", "Pod"): pod.validate_pod_create,
    ("", "Service"): service.validate_service,
    ("", "Endpoints"): endpoints.validate_endpoints,
    ("", "Event"): lambda o: events.validate_event(o, events_v1=False),
    ("", "Namespace"): cluster.validate_namespace,
    ("", "Node"): cluster.validate_node,
    ("", "ConfigMap"): config.validate_config_map,
    ("", "Secret"): config.validate_secret,
    ("", "ServiceAccount"): config.validate_service_account,
    ("", "ReplicationController"): workloads.validate_rc,
    ("apps", "Deployment"): workloads.validate_deployment,
    ("apps", "ReplicaSet"): workloads.validate_replica_set,
    ("coordination.k8s.io", "Lease"): cluster.validate_lease,
    ("discovery.k8s.io", "EndpointSlice"): networking.validate_endpoint_slice,
    ("events.k8s.io", "Event"): lambda o: events.validate_event(o, events_v1=True),
    ("networking.k8s.io", "NetworkPolicy"): networking.validate_network_policy,
}

_UPDATE: dict[tuple[str, str], _Update] = {
    ("", "Pod"): pod.validate_pod_update,
    ("", "Service"): service.validate_service_update,
    ("", "Endpoints"): endpoints.validate_endpoints_update,
    ("", "Event"): lambda n, o: events.validate_event_update(n, o, events_v1=False),
    ("", "Namespace"): cluster.validate_namespace_update,
    ("", "Node"): cluster.validate_node_update,
    ("", "ConfigMap"): config.validate_config_map_update,
    ("", "Secret"): config.validate_secret_update,
    ("", "ServiceAccount"): config.validate_service_account_update,
    ("", "ReplicationController"): workloads.validate_rc_update,
    ("apps", "Deployment"): workloads.validate_deployment_update,
    ("apps", "ReplicaSet"): workloads.validate_replica_set_update,
    ("coordination.k8s.io", "Lease"): cluster.validate_lease_update,
    ("discovery.k8s.io", "EndpointSlice"): networking.validate_endpoint_slice_update,
    ("events.k8s.io", "Event"): lambda n, o: events.validate_event_update(n, o, events_v1=True),
    ("networking.k8s.io", "NetworkPolicy"): networking.validate_network_policy_update,
}

_STATUS: dict[tuple[str, str], _Update] = {
    ("", "Pod"): pod.validate_pod_status_update,
    ("", "Service"): lambda n, o: (
        validate_object_meta_update(n, o) + service.validate_service_status(n)
    ),
    ("", "Namespace"): cluster.validate_namespace_status,
    ("", "Node"): cluster.validate_node_update,
    ("", "ReplicationController"): lambda n, o: workloads.validate_workload_status(
        "ReplicationController", n, o
    ),
    ("apps", "Deployment"): lambda n, o: workloads.validate_workload_status("Deployment", n, o),
    ("apps", "ReplicaSet"): lambda n, o: workloads.validate_workload_status("ReplicaSet", n, o),
}


def _common_update(new: Obj, old: Obj) -> list[FieldError]:
    """The generic store's checks before any update (``validateCommonFields``)."""
    errs = validate_object_meta(new, name_is_path_segment, kube_finalizers=False)
    return errs + validate_object_meta_update(new, old, kube_finalizers=False)


def validate_create(rt: ResourceType, obj: Obj) -> list[FieldError]:
    """Errors that make a create of ``obj`` invalid, in the real server's order."""
    check = _CREATE.get((rt.group, rt.kind))
    errs = check(obj) if check else []
    if not errs:
        errs = validate_object_meta(obj, name_is_path_segment, kube_finalizers=False)
    return errs


def validate_update(rt: ResourceType, new: Obj, old: Obj) -> list[FieldError]:
    """Errors that make replacing ``old`` by ``new`` invalid, immutability included."""
    check = _UPDATE.get((rt.group, rt.kind))
    return _common_update(new, old) + (check(new, old) if check else [])


def validate_status_update(rt: ResourceType, new: Obj, old: Obj) -> list[FieldError]:
    """Errors of a write through the status subresource: metadata and status rules."""
    check = _STATUS.get((rt.group, rt.kind))
    return _common_update(new, old) + (check(new, old) if check else [])
