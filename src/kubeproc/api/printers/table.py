"""Which printer serves which kind, and the ``meta.k8s.io/v1`` Table body built from them.

``table`` is what the API server returns for ``Accept: ...;as=Table``: the column
definitions (left out on watch events after the first), one row per object with every
cell, and in each row the object as ``includeObject`` asks: ``PartialObjectMetadata``
(the default, which kubectl uses for NAMESPACE, labels and ``kind/name``), the full object
(``--sort-by``), or nothing. Kinds without a printer get the generic Name / Created At
table, as the real server gives custom resources without printer columns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubeproc.api.errors import BadRequest
from kubeproc.api.printers import events, misc, pods, services, workloads
from kubeproc.api.printers.age import parse_time
from kubeproc.api.printers.columns import NAME, Column, Printer, get, name
from kubeproc.api.resources import ResourceType

_PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "pods"): pods.PRINTER,
    ("", "services"): services.SERVICES,
    ("", "endpoints"): services.ENDPOINTS,
    ("discovery.k8s.io", "endpointslices"): services.ENDPOINT_SLICES,
    ("networking.k8s.io", "networkpolicies"): services.NETWORK_POLICIES,
    ("", "events"): events.PRINTER,
    ("events.k8s.io", "events"): events.PRINTER,
    ("", "namespaces"): misc.NAMESPACES,
    ("", "nodes"): misc.NODES,
    ("", "configmaps"): misc.CONFIGMAPS,
    ("", "secrets"): misc.SECRETS,
    ("", "serviceaccounts"): misc.SERVICE_ACCOUNTS,
    ("coordination.k8s.io", "leases"): misc.LEASES,
    ("apps", "deployments"): workloads.DEPLOYMENTS,
    ("apps", "replicasets"): workloads.REPLICASETS,
    ("", "replicationcontrollers"): workloads.REPLICATION_CONTROLLERS,
}


def _created_at(obj: dict[str, Any], now: dt.datetime) -> list[object]:
    del now  # the default table shows the timestamp itself, not an age
    created = parse_time(get(obj, "metadata.creationTimestamp"))
    moment = created or dt.datetime(1, 1, 1, tzinfo=dt.UTC)  # Go's zero time
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return [name(obj), utc.isoformat(timespec="seconds") + "Z"]


_DEFAULT = Printer(
    (NAME, Column("Created At", "date", "", "When the object was created.", 0)), _created_at
)


def printer(rt: ResourceType) -> Printer:
    return _PRINTERS.get((rt.group, rt.plural), _DEFAULT)


def columns(rt: ResourceType) -> list[Column]:
    """The kind's column definitions, priority-1 ones included."""
    return list(printer(rt).columns)


def row_cells(rt: ResourceType, obj: dict[str, Any], now: dt.datetime) -> list[object]:
    """One row's cells, one per column of ``columns(rt)``."""
    return printer(rt).cells(obj, now)


def _row_object(rt: ResourceType, obj: dict[str, Any], include_object: str) -> Any:
    if include_object in ("Metadata", ""):
        return {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            # Rows are serialized at once and never changed: a shallow copy is enough, and a
            # deep one cost two thirds of a 10,000-row list (bench/README.md).
            "metadata": dict(obj.get("metadata") or {}),
        }
    if include_object == "Object":
        full = dict(obj)
        full.setdefault("kind", rt.kind)
        full.setdefault("apiVersion", rt.api_version)
        return full
    return None  # "None"


def table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    *,
    now: dt.datetime,
    resource_version: str,
    continue_token: str | None,
    include_object: str,
    include_columns: bool = True,
) -> dict[str, Any]:
    """The Table for ``objects``; ``BadRequest`` for an unknown ``includeObject``."""
    if include_object not in ("Metadata", "Object", "None", ""):
        raise BadRequest(f'unrecognized includeObject value: "{include_object}"')
    kind_printer = printer(rt)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": kind_printer.cells(obj, now)}
        conditions = kind_printer.conditions(obj) if kind_printer.conditions else []
        if conditions:
            row["conditions"] = conditions
        row["object"] = _row_object(rt, obj, include_object)
        rows.append(row)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": (
            [c.definition() for c in kind_printer.columns] if include_columns else []
        ),
        "rows": rows,
    }
