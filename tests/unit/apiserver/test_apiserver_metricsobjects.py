"""metrics.k8s.io objects, quantities and discovery as metrics-server serves them (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubeproc.apiserver import metricsobjects as mo

NOW = dt.datetime(2026, 1, 1, 12, 0, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("nanocores", "text"),
    [
        (0, "0"),
        (964297257, "964297257n"),
        (1_000_000_000, "1"),
        (2_500_000_000, "2500m"),
        (5_000, "5u"),
        (1_500_000, "1500u"),
        (7, "7n"),
    ],
)
def test_cpu_quantity(nanocores: int, text: str) -> None:
    """Nanocores print as the canonical quantity of ``NewScaledQuantity(n, -9)``."""
    assert mo.cpu_quantity(nanocores) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0"),
        (200 * 1024 * 1024, "200Mi"),
        (3008 * 1024, "3008Ki"),
        (3 * 1024**3, "3Gi"),
        (1000, "1000"),
        (209715201, "209715201"),
    ],
)
def test_memory_quantity(size: int, text: str) -> None:
    """Bytes print as a binary-SI quantity: the largest exact suffix, else plain bytes."""
    assert mo.memory_quantity(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (10.0, "10s"),
        (10.006804, "10.006804s"),
        (0.5, "500ms"),
        (0.0015, "1.5ms"),
        (90.25, "1m30.25s"),
        (3600, "1h0m0s"),
        (0.000002, "2µs"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    """``window`` reads as Go's ``time.Duration.String``."""
    assert mo.go_duration(seconds) == text


def usage(ts: str, cpu: int, memory: int, **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": ts,
        "windowSeconds": 10.0068,
        "cpuNanoCores": cpu,
        "memoryWorkingSetBytes": memory,
        **extra,
    }


POD = {
    "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "labels": {"app": "web"}},
    "spec": {"nodeName": "vm"},
}
REPORT = {
    "node": usage("2026-01-01T12:00:29.750000Z", 1_310_000_000, 2 * 1024**3, source="node"),
    "pods": [
        {
            "namespace": "ns",
            "name": "web",
            "uid": "u1",
            "containers": [
                {"name": "a", **usage("2026-01-01T12:00:29.900000Z", 5_000_000, 1024 * 1024)},
                {"name": "b", **usage("2026-01-01T12:00:27.100000Z", 0, 2048)},
            ],
        }
    ],
}


def test_pod_metrics() -> None:
    """A PodMetrics: the pod's name, namespace and labels, its earliest container's time."""
    assert mo.pod_metrics(POD, REPORT, NOW) == {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": "web",
            "namespace": "ns",
            "creationTimestamp": "2026-01-01T12:00:30Z",
            "labels": {"app": "web"},
        },
        "timestamp": "2026-01-01T12:00:27Z",
        "window": "10.0068s",
        "containers": [
            {"name": "a", "usage": {"cpu": "5m", "memory": "1Mi"}},
            {"name": "b", "usage": {"cpu": "0", "memory": "2Ki"}},
        ],
    }


def test_a_pod_of_another_uid_or_not_reported_has_no_metrics() -> None:
    """A pod recreated under the same name (new uid) gets nothing from the old figures."""
    recreated = {**POD, "metadata": {**POD["metadata"], "uid": "u2"}}  # type: ignore[dict-item]
    assert mo.pod_metrics(recreated, REPORT, NOW) is None
    assert mo.pod_metrics(POD, None, NOW) is None
    assert mo.pod_metrics(POD, {"node": None, "pods": []}, NOW) is None


def test_node_metrics() -> None:
    """A NodeMetrics from the kubelet's node entry; None while it has no window yet."""
    node = {"metadata": {"name": "vm", "labels": {"kubernetes.io/os": "linux"}}}
    assert mo.node_metrics(node, REPORT, NOW) == {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": "vm",
            "creationTimestamp": "2026-01-01T12:00:30Z",
            "labels": {"kubernetes.io/os": "linux"},
        },
        "timestamp": "2026-01-01T12:00:29Z",
        "window": "10.0068s",
        "usage": {"cpu": "1310m", "memory": "2Gi"},
    }
    assert mo.node_metrics(node, {"node": None, "pods": []}, NOW) is None


def test_lists_are_sorted_by_namespace_then_name() -> None:
    """Items sort as metrics-server sorts them; their kind and apiVersion are the list's."""
    items = [
        {"kind": "PodMetrics", "apiVersion": "x", "metadata": {"name": n, "namespace": ns}}
        for ns, n in [("b", "a"), ("a", "z"), ("a", "b")]
    ]
    listed = mo.metrics_list("PodMetricsList", items)
    assert listed["kind"] == "PodMetricsList"
    assert listed["metadata"] == {}
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed["items"]] == [
        ("a", "b"),
        ("a", "z"),
        ("b", "a"),
    ]
    assert all("kind" not in i for i in listed["items"])


def test_discovery_documents() -> None:
    """nodes (cluster) and pods (namespaced), get and list, no singular name."""
    resources = mo.api_resource_list()["resources"]
    assert resources == [
        {
            "name": "nodes",
            "singularName": "",
            "namespaced": False,
            "kind": "NodeMetrics",
            "verbs": ["get", "list"],
        },
        {
            "name": "pods",
            "singularName": "",
            "namespaced": True,
            "kind": "PodMetrics",
            "verbs": ["get", "list"],
        },
    ]
    assert mo.api_group()["preferredVersion"] == {
        "groupVersion": "metrics.k8s.io/v1beta1",
        "version": "v1beta1",
    }
    (version,) = mo.aggregated_group()["versions"]
    assert [r["scope"] for r in version["resources"]] == ["Cluster", "Namespaced"]
