"""Cluster-level objects: Namespaces, Nodes, and coordination Leases.

Mirrors ``ValidateNamespace`` (+ update, status), ``ValidateNode`` (+ update, which the
status endpoint also uses) and coordination's ``ValidateLease``. Node taints are reported
under ``metadata.taints`` and a namespace's phase under ``status.Phase``: both are Go's own
paths and kubectl shows them as they are.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, FieldErrorType, forbidden, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_list, as_str, index, json_list, opt_int
from kubeproc.api.validation.meta import (
    name_is_dns_label,
    name_is_dns_subdomain,
    validate_kube_finalizer_name,
    validate_label_name,
    validate_object_meta,
    validate_object_meta_update,
)
from kubeproc.api.validation.quantity import QUANTITY_FORMAT_ERROR, parse_quantity

_TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]


def validate_namespace(ns: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(ns, name_is_dns_label)
    for f in as_list(as_dict(ns.get("spec")).get("finalizers")):
        value = as_str(f)
        errs.extend(invalid("spec.finalizers", value, m) for m in names.is_qualified_name(value))
        errs.extend(validate_kube_finalizer_name(value, "spec.finalizers"))
    return errs


def validate_namespace_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    return validate_namespace(new) + validate_object_meta_update(new, old)


def validate_namespace_status(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    phase = as_str(as_dict(new.get("status")).get("phase"))
    if not as_dict(new.get("metadata")).get("deletionTimestamp"):
        if phase != "Active":
            errs.append(
                invalid(
                    "status.Phase", phase, "may only be 'Active' if `deletionTimestamp` is empty"
                )
            )
    elif phase != "Terminating":
        errs.append(
            invalid(
                "status.Phase",
                phase,
                "may only be 'Terminating' if `deletionTimestamp` is not empty",
            )
        )
    return errs


def _taints(taints: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(taints):
        taint, ipath = as_dict(raw), index(path, i)
        k, value, effect = (
            as_str(taint.get("key")),
            as_str(taint.get("value")),
            as_str(taint.get("effect")),
        )
        errs.extend(validate_label_name(k, f"{ipath}.key"))
        msgs = names.is_label_value(value)
        if msgs:
            errs.append(invalid(f"{ipath}.value", value, ";".join(msgs)))
        if not effect:
            errs.append(required(f"{ipath}.effect"))
        elif effect not in _TAINT_EFFECTS:
            errs.append(unsupported(f"{ipath}.effect", effect, _TAINT_EFFECTS))
        if (effect, k) in seen:
            errs.append(
                FieldError(
                    FieldErrorType.DUPLICATE,
                    ipath,
                    taint,
                    "taints must be unique by key and effect pair",
                )
            )
            continue
        seen.add((effect, k))
    return errs


def _node_resources(status: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    for field in ("capacity", "allocatable"):
        for name, raw in as_dict(status.get(field)).items():
            path = f"status.{field}.{name}"
            q = parse_quantity(raw)
            if q is None:
                errs.append(invalid(path, raw, QUANTITY_FORMAT_ERROR))
            elif q.value < 0:
                errs.append(invalid(path, str(q), "must be greater than or equal to 0"))
    return errs


def validate_node(node: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(node, name_is_dns_subdomain)
    spec = as_dict(node.get("spec"))
    errs.extend(_taints(as_list(spec.get("taints")), "metadata.taints"))
    errs.extend(_node_resources(as_dict(node.get("status"))))
    cidrs = [as_str(c) for c in as_list(spec.get("podCIDRs"))]
    for i, cidr in enumerate(cidrs):
        errs.extend(invalid(f"spec.podCIDRs[{i}]", cidr, m) for m in names.is_valid_cidr(cidr))
    if len(cidrs) > 1:
        families = [":" in c for c in cidrs]
        if len(cidrs) > 2 or len(set(families)) != len(families):
            errs.append(
                invalid(
                    "spec.podCIDRs",
                    json_list(cidrs),
                    "may specify no more than one CIDR for each IP family",
                )
            )
        seen: set[str] = set()
        for i, cidr in enumerate(cidrs):
            if cidr in seen:
                errs.append(FieldError(FieldErrorType.DUPLICATE, f"spec.podCIDRs[{i}]", cidr))
            seen.add(cidr)
    return errs


def validate_node_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_node(new) + validate_object_meta_update(new, old)
    errs.extend(_node_resources(as_dict(new.get("status"))))
    seen: list[Any] = []
    for i, address in enumerate(as_list(as_dict(new.get("status")).get("addresses"))):
        if address in seen:
            errs.append(FieldError(FieldErrorType.DUPLICATE, f"status.addresses[{i}]", address))
        seen.append(address)
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    old_cidrs, new_cidrs = as_list(old_spec.get("podCIDRs")), as_list(new_spec.get("podCIDRs"))
    cidr_msg = 'node updates may not change podCIDR except from "" to valid'
    if old_cidrs:
        if len(old_cidrs) != len(new_cidrs):
            errs.append(forbidden("spec.podCIDRs", cidr_msg))
        else:
            errs.extend(
                forbidden("spec.podCIDRs", cidr_msg)
                for o, n in zip(old_cidrs, new_cidrs, strict=True)
                if o != n
            )
    old_provider = as_str(old_spec.get("providerID"))
    if old_provider and old_provider != as_str(new_spec.get("providerID")):
        errs.append(
            forbidden(
                "spec.providerID", 'node updates may not change providerID except from "" to valid'
            )
        )
    errs.extend(_taints(as_list(new_spec.get("taints")), "metadata.taints"))
    if new_spec.get("externalID", "") != old_spec.get("externalID", ""):
        errs.append(forbidden("spec.externalID", "may not be updated"))
    return errs


def _lease_spec(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    duration = opt_int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        errs.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = opt_int(spec.get("leaseTransitions"))
    if transitions is not None and transitions < 0:
        errs.append(
            invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
        )
    strategy = spec.get("strategy")
    if strategy is not None:
        value = as_str(strategy)
        # Go reports this one at spec.strategy.strategy.
        if "/" not in value:
            if value != "OldestEmulationVersion":
                errs.append(
                    unsupported("spec.strategy.strategy", value, ["OldestEmulationVersion"])
                )
        else:
            errs.extend(
                invalid("spec.strategy.strategy", value, m) for m in names.is_qualified_name(value)
            )
    if as_str(spec.get("preferredHolder")) and not as_str(strategy):
        errs.append(
            forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined")
        )
    return errs


def validate_lease(lease: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(lease, name_is_dns_subdomain, kube_finalizers=False)
    return errs + _lease_spec(as_dict(lease.get("spec")))


def validate_lease_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old, kube_finalizers=False)
    return errs + _lease_spec(as_dict(new.get("spec")))
