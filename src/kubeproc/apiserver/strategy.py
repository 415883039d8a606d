"""Per-kind rules the generic object store applies on create and update.

Mirrors the real registry strategies: which kinds have a status subresource (so the main
resource ignores status changes and the status resource ignores everything else), which
bump ``metadata.generation`` on a spec change, the initial status a new object gets,
which deletions are graceful, and what the pod binding subresource changes. Pure functions
over JSON dicts.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeproc.api.errors import Conflict
from kubeproc.api.resources import ResourceType
from kubeproc.apiserver.servicetype import drop_type_dependent_fields

# Kinds whose status is written only through the status subresource.
_STATUS_SUBRESOURCE = frozenset(
    {
        ("", "Pod"),
        ("", "Service"),
        ("", "Node"),
        ("", "Namespace"),
        ("", "ReplicationController"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
    }
)

# Kinds whose generation follows spec changes (the rest keep generation 1... or none).
_GENERATION_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "ReplicationController"): ("spec",),
    ("apps", "Deployment"): ("spec",),
    ("apps", "ReplicaSet"): ("spec",),
    ("", "Pod"): ("spec",),
    ("networking.k8s.io", "NetworkPolicy"): ("spec",),
    ("", "Service"): (),
}


def has_status_subresource(rt: ResourceType) -> bool:
    return (rt.group, rt.kind) in _STATUS_SUBRESOURCE


def tracks_generation(rt: ResourceType) -> bool:
    return (rt.group, rt.kind) in _GENERATION_FIELDS


def prepare_for_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Reset what a client may not set on create, and give the initial status."""
    key = (rt.group, rt.kind)
    if tracks_generation(rt):
        obj["metadata"]["generation"] = 1
    if key == ("", "Pod"):
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec", {}))}
    elif key == ("", "Namespace"):
        obj["status"] = {"phase": "Active"}
    elif key == ("", "Service"):
        obj["status"] = {"loadBalancer": {}}
    elif key in (("apps", "Deployment"), ("apps", "ReplicaSet"), ("", "ReplicationController")):
        obj["status"] = {"replicas": 0} if key == ("", "ReplicationController") else {}
    elif has_status_subresource(rt):
        obj.pop("status", None)


def prepare_for_update(
    rt: ResourceType, new: dict[str, Any], old: dict[str, Any], *, subresource: str
) -> None:
    """Keep what this endpoint may not change, and bump generation on spec changes."""
    if subresource == "status":
        status = new.get("status")
        meta = new["metadata"]
        new.clear()
        new.update(copy.deepcopy(old))
        # The status endpoint also carries label and annotation changes in the real server
        # only for a few kinds; keep them from the old object, as most strategies do.
        new["metadata"]["resourceVersion"] = meta.get("resourceVersion", "")
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
        return
    if has_status_subresource(rt):
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    if (rt.group, rt.kind) == ("", "Service"):
        drop_type_dependent_fields(new, old)
    if (rt.group, rt.kind) == ("", "Namespace") and subresource != "finalize":
        # Only /finalize changes spec.finalizers, as the namespace strategy has it: a plain
        # update cannot drop the "kubernetes" finalizer and skip emptying the namespace.
        _keep_namespace_finalizers(new, old)
    fields = _GENERATION_FIELDS.get((rt.group, rt.kind))
    if fields is None:
        return
    generation = int(old["metadata"].get("generation", 1))
    changed = any(new.get(f) != old.get(f) for f in fields)
    new["metadata"]["generation"] = generation + 1 if changed else generation


def _keep_namespace_finalizers(new: dict[str, Any], old: dict[str, Any]) -> None:
    old_spec = old.get("spec") or {}
    spec = new.get("spec")
    if not isinstance(spec, dict):
        spec = new["spec"] = {}
    if "finalizers" in old_spec:
        spec["finalizers"] = copy.deepcopy(old_spec["finalizers"])
    else:
        spec.pop("finalizers", None)


def graceful_delete_seconds(rt: ResourceType, obj: dict[str, Any], requested: int | None) -> int:
    """The grace period a delete gets: only pods bound to a node wait for their kubelet."""
    if (rt.group, rt.kind) != ("", "Pod"):
        return 0
    spec = obj.get("spec", {})
    if not spec.get("nodeName"):
        return 0
    if obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(requested, 0)
    return int(spec.get("terminationGracePeriodSeconds", 30))


def assign_pod(pod: dict[str, Any], name: str, node: str, now: str) -> None:
    """Bind ``pod`` to ``node`` in place: ``nodeName`` and a true ``PodScheduled``.

    As the binding REST's ``assignPod``: a pod already bound or being deleted is a 409.
    """
    if pod["metadata"].get("deletionTimestamp"):
        raise _binding_conflict(name, f"pod {name} is being deleted, cannot be assigned to a host")
    bound = pod.get("spec", {}).get("nodeName")
    if bound:
        raise _binding_conflict(name, f'pod {name} is already assigned to node "{bound}"')
    pod["spec"]["nodeName"] = node
    status = pod.setdefault("status", {})
    conditions = [c for c in status.get("conditions", []) if c.get("type") != "PodScheduled"]
    scheduled = {
        "type": "PodScheduled",
        "status": "True",
        "lastProbeTime": None,
        "lastTransitionTime": now,
    }
    status["conditions"] = [scheduled, *conditions]


def _binding_conflict(name: str, why: str) -> Conflict:
    return Conflict(
        f'Operation cannot be fulfilled on pods/binding "{name}": {why}',
        details={"name": name, "kind": "pods/binding"},
    )


def qos_class(spec: dict[str, Any]) -> str:
    """The pod's QoS class, from its containers' requests and limits."""
    containers = list(spec.get("containers", [])) + list(spec.get("initContainers", []))
    requests_any = False
    guaranteed = True
    for c in containers:
        res = c.get("resources", {})
        limits = res.get("limits", {})
        requests = res.get("requests", {})
        if limits or requests:
            requests_any = True
        for name in ("cpu", "memory"):
            if name not in limits or (name in requests and requests[name] != limits[name]):
                guaranteed = False
    if not requests_any:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
