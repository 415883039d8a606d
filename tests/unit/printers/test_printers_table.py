"""Column definitions per kind and the meta.k8s.io/v1 Table body."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from kubeproc.api.errors import BadRequest
from kubeproc.api.printers import columns, row_cells, table
from kubeproc.api.resources import REGISTRY, ResourceType

NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def rt(group: str, plural: str) -> ResourceType:
    found = REGISTRY.get(group, "v1", plural)
    assert found is not None
    return found


# (group, plural, columns with "*" marking priority-1 ones)
LAYOUTS = [
    ("", "pods", "Name Ready Status Restarts Age *IP *Node *Nominated_Node *Readiness_Gates"),
    ("", "services", "Name Type Cluster-IP External-IP Port(s) Age *Selector"),
    ("", "endpoints", "Name Endpoints Age"),
    ("discovery.k8s.io", "endpointslices", "Name AddressType Ports Endpoints Age"),
    (
        "",
        "events",
        "Last_Seen Type Reason Object *Subobject *Source Message *First_Seen *Count *Name",
    ),
    (
        "events.k8s.io",
        "events",
        "Last_Seen Type Reason Object *Subobject *Source Message *First_Seen *Count *Name",
    ),
    ("", "namespaces", "Name Status Age"),
    (
        "",
        "nodes",
        "Name Status Roles Age Version"
        " *Internal-IP *External-IP *OS-Image *Kernel-Version *Container-Runtime",
    ),
    ("apps", "deployments", "Name Ready Up-to-date Available Age *Containers *Images *Selector"),
    ("apps", "replicasets", "Name Desired Current Ready Age *Containers *Images *Selector"),
    ("", "replicationcontrollers", "Name Desired Current Ready Age *Containers *Images *Selector"),
    ("networking.k8s.io", "networkpolicies", "Name Pod-Selector Age"),
    ("", "configmaps", "Name Data Age"),
    ("", "secrets", "Name Type Data Age"),
    ("", "serviceaccounts", "Name Secrets Age"),
    ("coordination.k8s.io", "leases", "Name Holder Age"),
]


@pytest.mark.parametrize(
    ("group", "plural", "layout"), LAYOUTS, ids=[f"{g}/{p}" for g, p, _ in LAYOUTS]
)
def test_columns(group: str, plural: str, layout: str) -> None:
    """Every kind has the real server's columns, in order, with the same priorities."""
    cols = columns(rt(group, plural))
    expected = [
        (w.lstrip("*").replace("_", " "), 1 if w.startswith("*") else 0) for w in layout.split()
    ]
    assert [(c.name, c.priority) for c in cols] == expected
    assert all(c.description for c in cols)
    assert [c.name for c in cols if c.format == "name"] == ["Name"]


@pytest.mark.parametrize(
    ("group", "plural", "name", "type_"),
    [
        ("", "pods", "Restarts", "string"),
        ("apps", "replicasets", "Desired", "integer"),
        ("", "replicationcontrollers", "Ready", "integer"),
        ("apps", "deployments", "Up-to-date", "string"),
        ("", "events", "Count", "string"),
    ],
)
def test_column_types(group: str, plural: str, name: str, type_: str) -> None:
    """Column types are the real server's (some integer cells sit in string columns)."""
    (col,) = [c for c in columns(rt(group, plural)) if c.name == name]
    assert col.type == type_


@pytest.mark.parametrize("resource", list(REGISTRY), ids=lambda r: f"{r.group}/{r.plural}")
def test_every_row_has_every_cell(resource: ResourceType) -> None:
    """A row has one cell per column, priority-1 ones included, even for a bare object."""
    cells = row_cells(resource, {"metadata": {"name": "x"}}, NOW)
    assert len(cells) == len(columns(resource))
    assert cells[[c.format for c in columns(resource)].index("name")] == "x"


POD = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "uid": "u1",
        "resourceVersion": "106",
        "creationTimestamp": "2025-01-01T11:55:00Z",
        "labels": {"app": "web"},
    },
    "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "node-1"},
    "status": {
        "phase": "Running",
        "podIP": "10.244.0.11",
        "containerStatuses": [
            {"name": "c", "ready": True, "restartCount": 0, "state": {"running": {}}}
        ],
    },
}


def test_table_body() -> None:
    """The Table carries resourceVersion, all column definitions and PartialObjectMetadata rows."""
    body = table(
        rt("", "pods"),
        [POD],
        now=NOW,
        resource_version="115",
        continue_token=None,
        include_object="Metadata",
    )
    assert body["kind"] == "Table"
    assert body["apiVersion"] == "meta.k8s.io/v1"
    assert body["metadata"] == {"resourceVersion": "115"}
    assert body["columnDefinitions"][0] == {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": "Name of the object, unique in its namespace.",
        "priority": 0,
    }
    assert [c["name"] for c in body["columnDefinitions"]] == [
        c.name for c in columns(rt("", "pods"))
    ]
    assert body["rows"] == [
        {
            "cells": [
                "web",
                "1/1",
                "Running",
                "0",
                "5m",
                "10.244.0.11",
                "node-1",
                "<none>",
                "<none>",
            ],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": POD["metadata"],
            },
        }
    ]
    assert body["rows"][0]["object"]["metadata"] is not POD["metadata"]


def test_table_include_object_variants() -> None:
    """includeObject=Object embeds the full object; None embeds null; bad values are refused."""
    pods = rt("", "pods")
    full = table(
        pods, [POD], now=NOW, resource_version="1", continue_token=None, include_object="Object"
    )
    assert full["rows"][0]["object"] == POD
    none = table(
        pods, [POD], now=NOW, resource_version="1", continue_token=None, include_object="None"
    )
    assert none["rows"][0]["object"] is None
    default = table(
        pods, [POD], now=NOW, resource_version="1", continue_token=None, include_object=""
    )
    assert default["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    with pytest.raises(BadRequest) as err:
        table(
            pods,
            [POD],
            now=NOW,
            resource_version="1",
            continue_token=None,
            include_object="Everything",
        )
    assert err.value.message == 'unrecognized includeObject value: "Everything"'


def test_full_object_gets_kind_and_api_version() -> None:
    """A full row object without kind/apiVersion gets the resource's."""
    bare = {"metadata": {"name": "n"}}
    body = table(
        rt("", "namespaces"),
        [bare],
        now=NOW,
        resource_version="",
        continue_token=None,
        include_object="Object",
    )
    assert body["rows"][0]["object"] == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "n"},
    }
    assert body["metadata"] == {}


def test_table_paging_and_watch_rows() -> None:
    """A continue token is passed on; later watch events leave the column definitions out."""
    body = table(
        rt("", "pods"),
        [],
        now=NOW,
        resource_version="9",
        continue_token="abc",
        include_object="Metadata",
        include_columns=False,
    )
    assert body["metadata"] == {"resourceVersion": "9", "continue": "abc"}
    assert body["columnDefinitions"] == []
    assert body["rows"] == []


@pytest.mark.parametrize(
    ("phase", "condition"),
    [
        (
            "Succeeded",
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            },
        ),
        (
            "Failed",
            {
                "type": "Completed",
                "status": "True",
                "reason": "Failed",
                "message": "The pod failed.",
            },
        ),
        ("Running", None),
    ],
)
def test_finished_pod_rows_carry_a_condition(phase: str, condition: dict[str, str] | None) -> None:
    """Rows of finished pods are marked Completed, as the real server marks them."""
    pod: dict[str, Any] = {**POD, "status": {"phase": phase}}
    row = table(
        rt("", "pods"),
        [pod],
        now=NOW,
        resource_version="1",
        continue_token=None,
        include_object="None",
    )["rows"][0]
    assert row.get("conditions") == ([condition] if condition else None)


def test_kinds_without_a_printer_get_name_and_created_at() -> None:
    """A kind with no printer gets the generic Name / Created At table."""
    widget = dataclasses.replace(
        rt("", "configmaps"), group="example.com", kind="Widget", plural="widgets"
    )
    (name, created) = columns(widget)
    assert (name.name, name.format, created.name, created.type) == (
        "Name",
        "name",
        "Created At",
        "date",
    )
    obj = {"metadata": {"name": "w", "creationTimestamp": "2024-06-01T10:00:00Z"}}
    assert row_cells(widget, obj, NOW) == ["w", "2024-06-01T10:00:00Z"]
    assert row_cells(widget, {"metadata": {"name": "w"}}, NOW) == ["w", "0001-01-01T00:00:00Z"]
