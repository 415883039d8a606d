"""core/v1 and events.k8s.io/v1 Events are one object in two shapes, as in Kubernetes."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Node

pytestmark = pytest.mark.e2e

CORE = "/api/v1/namespaces/default/events"
NEW = "/apis/events.k8s.io/v1/namespaces/default/events"


def test_core_event_reads_as_events_v1(node: Node) -> None:
    """An Event posted to core/v1 is listed by events.k8s.io/v1 with regarding and note."""
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "core-1"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
        "reason": "Killing",
        "message": "Stopping container main",
        "type": "Normal",
        "source": {"component": "kubelet"},
        "count": 2,
    }
    assert node.http("POST", CORE, body).status == 201
    got = node.http("GET", f"{NEW}/core-1")
    assert got.status == 200
    ev = got.json()
    assert ev["apiVersion"] == "events.k8s.io/v1"
    assert ev["regarding"]["name"] == "web"
    assert ev["note"] == "Stopping container main"
    assert ev["deprecatedCount"] == 2
    assert ev["deprecatedSource"] == {"component": "kubelet"}


def test_events_v1_reads_as_core(node: Node) -> None:
    """An Event posted to events.k8s.io/v1 is read by core/v1 with involvedObject and message."""
    body = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "new-1"},
        "regarding": {"kind": "Pod", "name": "db", "namespace": "default"},
        "reason": "Unhealthy",
        "note": "Liveness probe failed",
        "type": "Warning",
        "action": "Probe",
        "reportingController": "kubelet",
        "reportingInstance": "node",
        "eventTime": "2026-01-01T00:00:00.000000Z",
    }
    created = node.http("POST", NEW, body)
    assert created.status == 201, created.body
    ev = node.http("GET", f"{CORE}/new-1").json()
    assert ev["apiVersion"] == "v1"
    assert ev["involvedObject"]["name"] == "db"
    assert ev["message"] == "Liveness probe failed"
    assert ev["reportingComponent"] == "kubelet"
    listed = node.http("GET", f"{CORE}?fieldSelector=involvedObject.name%3Ddb").json()
    assert [i["metadata"]["name"] for i in listed["items"]] == ["new-1"]
