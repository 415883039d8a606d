"""Deployment, ReplicaSet and ReplicationController rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubeproc.api.printers import row_cells
from kubeproc.api.resources import REGISTRY, ResourceType

NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
META = {"name": "web", "namespace": "default", "creationTimestamp": "2025-01-01T08:40:00Z"}
TEMPLATE = {
    "spec": {
        "containers": [{"name": "app", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]
    }
}


def rt(group: str, plural: str) -> ResourceType:
    found = REGISTRY.get(group, "v1", plural)
    assert found is not None
    return found


def workload(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": META, "spec": {"template": TEMPLATE, **spec}, "status": status or {}}


def test_deployment_row() -> None:
    """READY is ready/desired; UP-TO-DATE and AVAILABLE are counts; wide adds the template."""
    obj = workload(
        {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
        {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    )
    assert row_cells(rt("apps", "deployments"), obj, NOW) == [
        "web",
        "2/3",
        3,
        2,
        "3h20m",
        "app,log",
        "nginx:1.27,busybox",
        "app=web",
    ]


@pytest.mark.parametrize(
    ("spec", "ready", "selector"),
    [
        ({}, "0/1", ""),
        ({"replicas": 0, "selector": {}}, "0/0", ""),
        (
            {
                "selector": {
                    "matchLabels": {"app": "web"},
                    "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}],
                }
            },
            "0/1",
            "app=web,env notin (prod)",
        ),
        ({"selector": {"matchLabels": {"bad key": "x"}}}, "0/1", "<invalid>"),
    ],
)
def test_deployment_defaults_and_selector(spec: dict[str, Any], ready: str, selector: str) -> None:
    """Absent replicas read as 1; the selector prints bare, <invalid> when broken."""
    cells = row_cells(rt("apps", "deployments"), workload(spec), NOW)
    assert (cells[1], cells[7]) == (ready, selector)


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        ({"matchLabels": {"app": "web"}}, "app=web"),
        ({}, "<none>"),
        (None, "<none>"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "<error>"),
    ],
)
def test_replicaset_row(selector: dict[str, Any] | None, text: str) -> None:
    """DESIRED, CURRENT and READY are integers; SELECTOR is <none> or <error> when so."""
    obj = workload({"replicas": 3, "selector": selector}, {"replicas": 3, "readyReplicas": 1})
    assert row_cells(rt("apps", "replicasets"), obj, NOW) == [
        "web",
        3,
        3,
        1,
        "3h20m",
        "app,log",
        "nginx:1.27,busybox",
        text,
    ]


def test_replication_controller_row() -> None:
    """A ReplicationController's selector is a plain map; a missing template prints empty."""
    obj = {
        "metadata": META,
        "spec": {"replicas": 2, "selector": {"b": "2", "a": "1"}},
        "status": {"replicas": 1},
    }
    assert row_cells(rt("", "replicationcontrollers"), obj, NOW) == [
        "web",
        2,
        1,
        0,
        "3h20m",
        "",
        "",
        "a=1,b=2",
    ]
    bare = {"metadata": META, "spec": {}}
    assert row_cells(rt("", "replicationcontrollers"), bare, NOW)[1:4] == [1, 0, 0]
    assert row_cells(rt("", "replicationcontrollers"), bare, NOW)[7] == "<none>"
