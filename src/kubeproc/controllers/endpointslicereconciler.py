"""Which EndpointSlices to create, update and delete so a Service's slices match its pods.

A pure function over the Service, its selected pods and its existing managed slices, as
upstream's ``k8s.io/endpointslice`` Reconciler: slices are grouped by address type and
resolved port set; within a group, endpoints that are no longer desired are dropped,
changed ones rewritten in place, new ones fill the slices being updated anyway before an
unchanged one, and only then go to new slices (at most ``max_per_slice`` each). A slice
left with no endpoints is deleted; a Service with no endpoints keeps one empty
placeholder slice. A slice is written only when its endpoints or labels differ, so a
sync that changes nothing writes nothing. Choices are deterministic (sorted), where
upstream picks from hash sets.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kubeproc.controllers.endpointdesired import (
    TRIGGER_TIME_ANNOTATION,
    PortGroup,
    address_types,
    desired_groups,
    endpoint_key,
    port_key,
    slice_labels,
)
from kubeproc.controllers.endpointtracking import rfc3339_nano

Json = dict[str, Any]

MAX_ENDPOINTS_PER_SLICE = 100
_ENDPOINT_FIELDS = ("addresses", "conditions", "targetRef", "nodeName", "zone", "hostname", "hints")


@dataclass(frozen=True)
class SlicePlan:
    create: list[Json] = field(default_factory=list)
    update: list[Json] = field(default_factory=list)
    delete: list[Json] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def owned_by(slice_: Json, svc: Json) -> bool:
    return any(
        ref.get("uid") == svc["metadata"].get("uid")
        and ref.get("kind") == "Service"
        and ref.get("apiVersion") == "v1"
        for ref in slice_["metadata"].get("ownerReferences") or []
    )


def new_slice(svc: Json, ports: list[Json], address_type: str) -> Json:
    meta = svc["metadata"]
    name = meta["name"]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{name}-",
            "namespace": meta["namespace"],
            "labels": slice_labels(svc),
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": name,
                    "uid": meta.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "addressType": address_type,
        "endpoints": [],
        "ports": copy.deepcopy(ports),
    }


def _as_stored(endpoint: Json) -> Json:
    """The fields of a stored endpoint this controller owns (others' extras are ignored)."""
    return {k: endpoint[k] for k in _ENDPOINT_FIELDS if endpoint.get(k) is not None}


def plan_slices(
    svc: Json,
    pods: list[Json],
    existing: list[Json],
    *,
    trigger_time: dt.datetime | None = None,
    max_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
) -> SlicePlan:
    """The writes that bring ``existing`` (this Service's managed slices) to the desired state."""
    plan = SlicePlan()
    types = address_types(svc)
    by_type: dict[str, list[Json]] = {t: [] for t in types}
    for slice_ in existing:
        if slice_.get("addressType") in by_type:
            by_type[slice_["addressType"]].append(slice_)
        else:
            plan.delete.append(slice_)
    for address_type in types:
        _plan_address_type(
            svc, pods, by_type[address_type], address_type, max_per_slice=max_per_slice, plan=plan
        )
    _reuse_deleted_slices(svc, plan)
    if svc["metadata"].get("deletionTimestamp"):
        plan.create.clear()  # do not race the garbage collector
    for slice_ in [*plan.create, *plan.update]:
        annotations = slice_["metadata"].setdefault("annotations", {})
        if trigger_time is not None:
            annotations[TRIGGER_TIME_ANNOTATION] = rfc3339_nano(trigger_time)
        else:
            annotations.pop(TRIGGER_TIME_ANNOTATION, None)
        if not annotations:
            del slice_["metadata"]["annotations"]
    return plan


def _plan_address_type(
    svc: Json,
    pods: list[Json],
    existing: list[Json],
    address_type: str,
    *,
    max_per_slice: int,
    plan: SlicePlan,
) -> None:
    existing_by_ports: dict[str, list[Json]] = {}
    to_delete: list[Json] = []
    for slice_ in sorted(existing, key=lambda s: str(s["metadata"].get("name"))):
        if owned_by(slice_, svc):
            existing_by_ports.setdefault(port_key(slice_.get("ports") or []), []).append(slice_)
        else:
            to_delete.append(slice_)
    desired = desired_groups(svc, pods, address_type)
    to_create: list[Json] = []
    for key, group in desired.items():
        created, updated, deleted = _plan_port_group(
            svc, existing_by_ports.get(key, []), group, address_type, max_per_slice
        )
        to_create += created
        plan.update.extend(updated)
        to_delete += deleted
    for key, slices in existing_by_ports.items():
        if key not in desired:
            to_delete += slices
    if len(existing) == len(to_delete) and not to_create:
        placeholder = new_slice(svc, [], address_type)
        if len(to_delete) == 1 and _same_placeholder(to_delete[0], placeholder):
            to_delete.clear()
        else:
            to_create.append(placeholder)
    plan.create.extend(to_create)
    plan.delete.extend(to_delete)


def _same_placeholder(slice_: Json, placeholder: Json) -> bool:
    return (
        not slice_.get("endpoints")
        and not slice_.get("ports")
        and slice_.get("addressType") == placeholder["addressType"]
        and (slice_["metadata"].get("labels") or {}) == placeholder["metadata"]["labels"]
    )


def _plan_port_group(
    svc: Json, existing: list[Json], group: PortGroup, address_type: str, max_per_slice: int
) -> tuple[list[Json], list[Json], list[Json]]:
    """``reconcileByPortMapping``: (create, update, delete) for one port set."""
    wanted = dict(group.endpoints)
    labels = slice_labels(svc)
    to_update: dict[str, Json] = {}
    to_delete: list[Json] = []
    unchanged: dict[str, Json] = {}
    # 1. Keep the desired endpoints existing slices hold, rewriting the changed ones.
    for slice_ in existing:
        kept: list[Json] = []
        changed = False
        for endpoint in slice_.get("endpoints") or []:
            desired = wanted.pop(endpoint_key(endpoint), None)
            if desired is not None:
                kept.append(desired)
                changed = changed or _as_stored(endpoint) != desired
        removed = len(slice_.get("endpoints") or []) != len(kept)
        if (changed or removed) and not kept:
            to_delete.append(slice_)
        elif changed or removed or (slice_["metadata"].get("labels") or {}) != labels:
            updated = copy.deepcopy(slice_)
            updated["endpoints"] = kept
            updated["metadata"]["labels"] = dict(labels)
            to_update[slice_["metadata"]["name"]] = updated
        else:
            unchanged[slice_["metadata"]["name"]] = slice_
    remaining = [wanted[k] for k in sorted(wanted)]
    # 2. Fill the slices being written anyway, fullest first.
    for updated in sorted(to_update.values(), key=lambda s: -len(s["endpoints"])):
        room = max_per_slice - len(updated["endpoints"])
        if room > 0 and remaining:
            updated["endpoints"] += remaining[:room]
            remaining = remaining[room:]
    # 3. Put the rest in the unchanged slice they fill best, else in new slices.
    to_create: list[Json] = []
    while remaining:
        target: Json | None = None
        if len(remaining) < max_per_slice and unchanged:
            target = _slice_to_fill(list(unchanged.values()), len(remaining), max_per_slice)
        if target is None:
            target = new_slice(svc, group.ports, address_type)
            to_create.append(target)
        else:
            name = target["metadata"]["name"]
            target = copy.deepcopy(unchanged.pop(name))
            to_update[name] = target
        room = max_per_slice - len(target["endpoints"])
        target["endpoints"] = [*target.get("endpoints", []), *remaining[:room]]
        remaining = remaining[room:]
    return to_create, list(to_update.values()), to_delete


def _slice_to_fill(slices: list[Json], count: int, max_per_slice: int) -> Json | None:
    """``getSliceToFill``: the slice closest to full once ``count`` endpoints are added."""
    best: Json | None = None
    best_gap = max_per_slice
    for slice_ in slices:
        gap = max_per_slice - (count + len(slice_.get("endpoints") or []))
        if 0 <= gap < best_gap:
            best, best_gap = slice_, gap
    return best


def _reuse_deleted_slices(svc: Json, plan: SlicePlan) -> None:
    """``finalize``: a create paired with a delete becomes an update of the deleted slice."""
    i = 0
    while i < len(plan.delete) and plan.create:
        doomed = plan.delete[i]
        fresh = plan.create[-1]
        if doomed.get("addressType") == fresh["addressType"] and owned_by(doomed, svc):
            plan.create.pop()
            reused = copy.deepcopy(doomed)
            reused["metadata"]["labels"] = fresh["metadata"]["labels"]
            reused["ports"] = fresh["ports"]
            reused["endpoints"] = fresh["endpoints"]
            plan.update.append(reused)
            del plan.delete[i]
        else:
            i += 1
