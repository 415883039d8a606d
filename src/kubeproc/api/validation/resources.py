"""Container resource requirements: names, quantities, and requests against limits.

Mirrors ``validateResourceRequirements`` with the container resource-name rules. Requests
above limits are reported at ``…resources.requests`` (not at the key), quoting both values
canonically, exactly as the real server does.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, invalid, required
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, child, key
from kubeproc.api.validation.quantity import QUANTITY_FORMAT_ERROR, Quantity, parse_quantity

_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_STANDARD_RESOURCES = _CONTAINER_RESOURCES | frozenset(
    {
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "storage",
        "requests.cpu",
        "requests.memory",
        "requests.storage",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_INTEGER_RESOURCES = frozenset(
    {
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    }
)


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def _is_native(name: str) -> bool:
    return "/" not in name or name.startswith("kubernetes.io/") or ".kubernetes.io/" in name


def _is_extended(name: str) -> bool:
    if _is_native(name) or name.startswith("requests."):
        return False
    return not names.is_qualified_name("requests." + name)


def _overcommit_allowed(name: str) -> bool:
    return _is_native(name) and not _is_hugepages(name)


def _resource_name(name: str, path: str) -> list[FieldError]:
    errs = [invalid(path, name, m) for m in names.is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name:
        if name not in _STANDARD_RESOURCES and not _is_hugepages(name):
            errs.append(invalid(path, name, "must be a standard resource type or fully qualified"))
        if name not in _CONTAINER_RESOURCES and not _is_hugepages(name):
            errs.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _is_native(name) and not _is_extended(name):
        errs.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def _quantity(name: str, raw: object, path: str) -> tuple[Quantity | None, list[FieldError]]:
    q = parse_quantity(raw)
    if q is None:
        return None, [invalid(path, raw, QUANTITY_FORMAT_ERROR)]
    errs: list[FieldError] = []
    if q.value < 0:
        errs.append(invalid(path, str(q), "must be greater than or equal to 0"))
    integer = name in _INTEGER_RESOURCES or (not _is_native(name) and _is_extended(name))
    if integer and q.value.denominator != 1:
        errs.append(invalid(path, str(q), "must be an integer"))
    return q, errs


def validate_resources(resources: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    lim_path, req_path = child(path, "limits"), child(path, "requests")
    limits: dict[str, Quantity | None] = {}
    for name, raw in as_dict(resources.get("limits")).items():
        kpath = key(lim_path, name)
        errs.extend(_resource_name(name, kpath))
        limits[name], qerrs = _quantity(name, raw, kpath)
        errs.extend(qerrs)
    for name, raw in as_dict(resources.get("requests")).items():
        kpath = key(req_path, name)
        errs.extend(_resource_name(name, kpath))
        request, qerrs = _quantity(name, raw, kpath)
        errs.extend(qerrs)
        if name in limits:
            limit = limits[name]
            if request is None or limit is None:
                continue
            if request.value != limit.value and not _overcommit_allowed(name):
                errs.append(
                    invalid(req_path, str(request), f"must be equal to {name} limit of {limit}")
                )
            elif request.value > limit.value:
                errs.append(
                    invalid(
                        req_path,
                        str(request),
                        f"must be less than or equal to {name} limit of {limit}",
                    )
                )
        elif not _overcommit_allowed(name):
            errs.append(required(lim_path, "Limit must be set for non overcommitable resources"))
    return errs
