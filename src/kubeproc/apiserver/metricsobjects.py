"""metrics.k8s.io/v1beta1 as metrics-server serves it: discovery, objects, quantities.

Pure: builds the discovery documents of the group and the ``NodeMetrics`` and
``PodMetrics`` objects from the kubelet's ``/stats/resource`` report (see
``kubeproc.kubelet.server_stats``) and the Node and Pod objects; ``metricsapi`` does the
I/O. The shapes follow metrics-server: resources ``nodes`` (cluster scope) and ``pods``
(namespaced), verbs ``get`` and ``list``, no singular name; each object's metadata holds
the name, namespace and labels of its node or pod and a ``creationTimestamp`` of now; CPU
in nanocores and memory in bytes as canonical quantities; ``window`` as a Go duration. For
``as=Table`` (``kubectl get podmetrics``) the columns are metrics-server's: Name, cpu,
memory (a pod's summed over its containers) and Window.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubeproc.api.errors import BadRequest
from kubeproc.api.validation.quantity import parse_quantity
from kubeproc.util.clock import parse_rfc3339, rfc3339

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"

# (resource, kind, namespaced)
_RESOURCES = (("nodes", "NodeMetrics", False), ("pods", "PodMetrics", True))
_VERBS = ["get", "list"]


# -- discovery ----------------------------------------------------------------------------


def group_entry() -> dict[str, Any]:
    """The group as listed in ``/apis`` (legacy ``APIGroupList``)."""
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {"name": GROUP, "versions": [version], "preferredVersion": version}


def api_group() -> dict[str, Any]:
    return {"kind": "APIGroup", "apiVersion": "v1", **group_entry()}


def api_resource_list() -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": [
            {"name": name, "singularName": "", "namespaced": ns, "kind": kind, "verbs": _VERBS}
            for name, kind, ns in _RESOURCES
        ],
    }


def aggregated_group() -> dict[str, Any]:
    """The group's entry in the aggregated ``APIGroupDiscoveryList`` of ``/apis``."""
    return {
        "metadata": {"name": GROUP, "creationTimestamp": None},
        "versions": [
            {
                "version": VERSION,
                "resources": [
                    {
                        "resource": name,
                        "responseKind": {"group": GROUP, "version": VERSION, "kind": kind},
                        "scope": "Namespaced" if ns else "Cluster",
                        "singularResource": "",
                        "verbs": _VERBS,
                    }
                    for name, kind, ns in _RESOURCES
                ],
                "freshness": "Current",
            }
        ],
    }


# -- quantities ---------------------------------------------------------------------------

_DECIMAL = ((1_000_000_000, ""), (1_000_000, "m"), (1_000, "u"), (1, "n"))
_BINARY = ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki")


def cpu_quantity(nanocores: int) -> str:
    """Nanocores as ``resource.NewScaledQuantity(n, -9)`` prints: ``1500m``, ``12345n``."""
    if nanocores == 0:
        return "0"
    for factor, suffix in _DECIMAL:
        if nanocores % factor == 0:
            return f"{nanocores // factor}{suffix}"
    raise AssertionError("unreachable: every integer is a multiple of 1")


def memory_quantity(size: int) -> str:
    """Bytes as a binary-SI quantity prints: ``200Mi``, ``204804Ki``, ``1000``."""
    if size == 0:
        return "0"
    for power, suffix in zip(range(6, 0, -1), _BINARY, strict=True):
        if size % 1024**power == 0:
            return f"{size // 1024**power}{suffix}"
    return str(size)


def go_duration(seconds: float) -> str:
    """A ``metav1.Duration`` as Go's ``time.Duration.String`` prints it: ``10.002s``."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    return f"{sign}{text}{_fraction(rest, 1_000_000_000)}s"


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


# -- objects ------------------------------------------------------------------------------


def _meta(obj: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    source = obj.get("metadata") or {}
    meta: dict[str, Any] = {"name": source.get("name", "")}
    if source.get("namespace"):
        meta["namespace"] = source["namespace"]
    meta["creationTimestamp"] = rfc3339(now)
    if source.get("labels"):
        meta["labels"] = dict(source["labels"])
    return meta


def _usage(entry: dict[str, Any]) -> dict[str, str]:
    return {
        "cpu": cpu_quantity(int(entry["cpuNanoCores"])),
        "memory": memory_quantity(int(entry["memoryWorkingSetBytes"])),
    }


def _timing(entry: dict[str, Any]) -> dict[str, str]:
    return {
        "timestamp": rfc3339(parse_rfc3339(str(entry["timestamp"]))),
        "window": go_duration(float(entry["windowSeconds"])),
    }


def node_metrics(
    node: dict[str, Any], report: dict[str, Any] | None, now: dt.datetime
) -> dict[str, Any] | None:
    """The ``NodeMetrics`` of ``node`` from its kubelet's report; None without figures."""
    entry = (report or {}).get("node")
    if not isinstance(entry, dict):
        return None
    return {
        "kind": "NodeMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": _meta(node, now),
        **_timing(entry),
        "usage": _usage(entry),
    }


def pod_metrics(
    pod: dict[str, Any], report: dict[str, Any] | None, now: dt.datetime
) -> dict[str, Any] | None:
    """The ``PodMetrics`` of ``pod``; None unless the report has this very pod (its uid)."""
    meta = pod.get("metadata") or {}
    entry = next(
        (
            p
            for p in (report or {}).get("pods") or []
            if p.get("uid") == meta.get("uid")
            and p.get("namespace") == meta.get("namespace")
            and p.get("name") == meta.get("name")
        ),
        None,
    )
    containers = (entry or {}).get("containers") or []
    if not containers:
        return None
    # As metrics-server: the pod's time is its earliest container's.
    earliest = min(containers, key=lambda c: parse_rfc3339(str(c["timestamp"])))
    return {
        "kind": "PodMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": _meta(pod, now),
        **_timing(earliest),
        "containers": [{"name": c["name"], "usage": _usage(c)} for c in containers],
    }


def metrics_list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """``NodeMetricsList`` / ``PodMetricsList``; items sorted as metrics-server sorts them."""
    ordered = sorted(
        items,
        key=lambda i: (i["metadata"].get("namespace", ""), i["metadata"]["name"]),
    )
    return {
        "kind": kind,
        "apiVersion": GROUP_VERSION,
        "metadata": {},
        "items": [{k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in ordered],
    }


# -- tables -------------------------------------------------------------------------------

_COLUMNS = [
    {"name": "Name", "type": "string", "format": "name", "description": "Name of the resource",
     "priority": 0},
    {"name": "cpu", "type": "string", "format": "quantity", "description": "", "priority": 0},
    {"name": "memory", "type": "string", "format": "quantity", "description": "", "priority": 0},
    {"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0},
]  # fmt: skip


def _total(usages: list[dict[str, str]], resource: str) -> int:
    total = 0
    for usage in usages:
        parsed = parse_quantity(usage.get(resource, "0"))
        if parsed is not None:
            total += int(parsed.value * (10**9 if resource == "cpu" else 1))
    return total


def metrics_table(items: list[dict[str, Any]], include_object: str) -> dict[str, Any]:
    """The ``meta.k8s.io/v1`` Table of NodeMetrics or PodMetrics objects."""
    if include_object not in ("Metadata", "Object", "None", ""):
        raise BadRequest(f'unrecognized includeObject value: "{include_object}"')
    rows = []
    for item in items:
        usages = [c["usage"] for c in item.get("containers", [])] or [item.get("usage", {})]
        cells = [
            item["metadata"]["name"],
            cpu_quantity(_total(usages, "cpu")),
            memory_quantity(_total(usages, "memory")),
            item["window"],
        ]
        obj: dict[str, Any] | None = None
        if include_object in ("Metadata", ""):
            obj = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": item["metadata"],
            }
        elif include_object == "Object":
            obj = item
        rows.append({"cells": cells, "object": obj})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": _COLUMNS,
        "rows": rows,
    }
