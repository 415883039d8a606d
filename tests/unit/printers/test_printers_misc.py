"""Event, Node, Namespace, ConfigMap, Secret, ServiceAccount and Lease rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubeproc.api.printers import row_cells
from kubeproc.api.resources import REGISTRY, ResourceType

NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
META = {"name": "x", "namespace": "default", "creationTimestamp": "2024-12-31T12:00:00Z"}


def rt(group: str, plural: str) -> ResourceType:
    found = REGISTRY.get(group, "v1", plural)
    assert found is not None
    return found


CORE_EVENT = {
    "metadata": {"name": "web.17a", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
    "reason": "BackOff",
    "type": "Warning",
    "message": "  Back-off restarting failed container\n",
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": "2025-01-01T11:00:00Z",
    "lastTimestamp": "2025-01-01T11:59:30Z",
    "count": 7,
}


def test_event_row() -> None:
    """An event row names its object kind/name and its source "component, host"."""
    assert row_cells(rt("", "events"), CORE_EVENT, NOW) == [
        "30s",
        "Warning",
        "BackOff",
        "pod/web",
        "spec.containers{app}",
        "kubelet, node-1",
        "Back-off restarting failed container",
        "60m",
        7,
        "web.17a",
    ]


def event(**fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": "e"}, "involvedObject": {"kind": "Node"}, **fields}


EVENT_AGE_CASES = [
    ("no timestamps at all", event(), "<unknown>", "<unknown>", 1),
    ("first only", event(firstTimestamp="2025-01-01T11:58:00Z"), "2m", "2m", 1),
    ("eventTime only", event(eventTime="2025-01-01T11:59:50.000001Z"), "9s", "9s", 1),
    (
        "series wins for last seen and count",
        event(
            eventTime="2025-01-01T11:00:00.000000Z",
            series={"count": 12, "lastObservedTime": "2025-01-01T11:59:00.000000Z"},
        ),
        "60s",
        "60m",
        12,
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "last", "first", "count"), EVENT_AGE_CASES, ids=[c[0] for c in EVENT_AGE_CASES]
)
def test_event_times_and_count(
    case: str, obj: dict[str, Any], last: str, first: str, count: int
) -> None:
    """LAST SEEN falls back to first seen, then eventTime; singletons count 1."""
    cells = row_cells(rt("", "events"), obj, NOW)
    assert (cells[0], cells[7], cells[8]) == (last, first, count), case
    assert cells[3] == "node"


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        ({"source": {"component": "kubelet"}}, "kubelet"),
        ({"reportingComponent": "deployment-controller"}, "deployment-controller"),
        ({"reportingComponent": "kubelet", "reportingInstance": "node-2"}, "kubelet, node-2"),
        ({}, ""),
    ],
)
def test_event_source(fields: dict[str, Any], source: str) -> None:
    """SOURCE uses source.component/host, falling back to reportingComponent/Instance."""
    assert row_cells(rt("", "events"), event(**fields), NOW)[5] == source


def test_events_k8s_io_shape() -> None:
    """An events.k8s.io/v1 object prints the same row as its core/v1 form."""
    new = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": CORE_EVENT["metadata"],
        "regarding": CORE_EVENT["involvedObject"],
        "reason": "BackOff",
        "type": "Warning",
        "note": CORE_EVENT["message"],
        "deprecatedSource": CORE_EVENT["source"],
        "deprecatedFirstTimestamp": CORE_EVENT["firstTimestamp"],
        "deprecatedLastTimestamp": CORE_EVENT["lastTimestamp"],
        "deprecatedCount": 7,
        "eventTime": None,
    }
    assert row_cells(rt("events.k8s.io", "events"), new, NOW) == row_cells(
        rt("", "events"), CORE_EVENT, NOW
    )


def node(
    conditions: list[dict[str, str]],
    *,
    unschedulable: bool = False,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "node-1",
            "creationTimestamp": "2024-12-31T12:00:00Z",
            "labels": labels or {},
        },
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": conditions},
    }


READY = {"type": "Ready", "status": "True"}

NODE_CASES = [
    ("ready", node([READY]), "Ready"),
    ("not ready", node([{"type": "Ready", "status": "False"}]), "NotReady"),
    ("ready unknown", node([{"type": "Ready", "status": "Unknown"}]), "NotReady"),
    ("no ready condition", node([{"type": "MemoryPressure", "status": "False"}]), "Unknown"),
    ("cordoned", node([READY], unschedulable=True), "Ready,SchedulingDisabled"),
]


@pytest.mark.parametrize(("case", "obj", "status"), NODE_CASES, ids=[c[0] for c in NODE_CASES])
def test_node_status(case: str, obj: dict[str, Any], status: str) -> None:
    """STATUS comes from the Ready condition, plus SchedulingDisabled when cordoned."""
    assert row_cells(rt("", "nodes"), obj, NOW)[1] == status, case


@pytest.mark.parametrize(
    ("labels", "roles"),
    [
        ({}, "<none>"),
        (
            {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "true"},
            "control-plane,worker",
        ),
        ({"kubernetes.io/role": "master", "node-role.kubernetes.io/": ""}, "master"),
        ({"kubernetes.io/role": ""}, "<none>"),
    ],
)
def test_node_roles(labels: dict[str, str], roles: str) -> None:
    """ROLES comes from node-role.kubernetes.io/<role> and kubernetes.io/role labels."""
    assert row_cells(rt("", "nodes"), node([READY], labels=labels), NOW)[2] == roles


def test_node_wide_cells() -> None:
    """The wide cells show the first internal and external address and system info."""
    obj = node([READY])
    obj["status"]["addresses"] = [
        {"type": "Hostname", "address": "node-1"},
        {"type": "InternalIP", "address": "192.168.1.2"},
        {"type": "InternalIP", "address": "192.168.1.3"},
    ]
    obj["status"]["nodeInfo"] = {"kubeletVersion": "v1.33.0", "osImage": "Debian GNU/Linux 12"}
    assert row_cells(rt("", "nodes"), obj, NOW) == [
        "node-1",
        "Ready",
        "<none>",
        "24h",
        "v1.33.0",
        "192.168.1.2",
        "<none>",
        "Debian GNU/Linux 12",
        "<unknown>",
        "<unknown>",
    ]


SMALL_CASES = [
    ("namespace", "", "namespaces", {"status": {"phase": "Terminating"}}, ["Terminating", "24h"]),
    ("namespace phase defaults to Active", "", "namespaces", {}, ["Active", "24h"]),
    (
        "configmap counts data and binaryData",
        "",
        "configmaps",
        {"data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}},
        [3, "24h"],
    ),
    ("empty configmap", "", "configmaps", {}, [0, "24h"]),
    (
        "secret",
        "",
        "secrets",
        {"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}},
        ["kubernetes.io/tls", 2, "24h"],
    ),
    (
        "secret type defaults to Opaque",
        "",
        "secrets",
        {"stringData": {"a": "1"}},
        ["Opaque", 1, "24h"],
    ),
    ("service account", "", "serviceaccounts", {"secrets": [{"name": "t"}]}, [1, "24h"]),
    (
        "lease",
        "coordination.k8s.io",
        "leases",
        {"spec": {"holderIdentity": "node-1"}},
        ["node-1", "24h"],
    ),
    ("lease without holder", "coordination.k8s.io", "leases", {"spec": {}}, ["", "24h"]),
]


@pytest.mark.parametrize(
    ("case", "group", "plural", "body", "cells"), SMALL_CASES, ids=[c[0] for c in SMALL_CASES]
)
def test_small_kinds(
    case: str, group: str, plural: str, body: dict[str, Any], cells: list[object]
) -> None:
    """Namespaces, ConfigMaps, Secrets, ServiceAccounts and Leases print name, fields, age."""
    assert row_cells(rt(group, plural), {"metadata": META, **body}, NOW) == ["x", *cells], case
