"""List semantics against a real node: label and field selectors, pagination, all namespaces."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.harness import Kubectl, Node
from tests.e2e.test_api_support import (
    bound_pod,
    configmap,
    kubectl_for,
    merge_patch,
    new_namespace,
    ok,
    pod,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


def _names(node: Node, path: str, **query: str) -> list[str]:
    qs = "&".join(f"{k}={quote(v)}" for k, v in query.items())
    body = ok(node.http("GET", f"{path}?{qs}"))
    return sorted(item["metadata"]["name"] for item in body["items"])


LABELED = {
    "front": {"app": "web", "tier": "front"},
    "back": {"app": "web", "tier": "back"},
    "db": {"app": "db"},
    "bare": {},
}

LABEL_CASES = [
    ("app=web", ["back", "front"]),
    ("app==web", ["back", "front"]),
    ("app!=web", ["bare", "db"]),
    ("tier in (front,back)", ["back", "front"]),
    ("app in (db)", ["db"]),
    ("app notin (web)", ["bare", "db"]),
    ("tier", ["back", "front"]),
    ("!tier", ["bare", "db"]),
    ("app=web,tier!=front", ["back"]),
    ("app,!tier", ["db"]),
]


def test_label_selectors_filter_lists(node: Node, kubectl: Kubectl) -> None:
    """labelSelector supports =, ==, !=, in, notin, exists and !exists, and their conjunction."""
    ns = new_namespace(node, "labels")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    for name, labels in LABELED.items():
        ok(node.http("POST", base, configmap(name, **labels)), 201)
    for selector, expected in LABEL_CASES:
        assert _names(node, base, labelSelector=selector) == expected, selector
    out = kubectl.ok("get", "configmaps", "-n", ns, "-l", "tier in (front,back)", "-o", "name")
    assert sorted(out.out.split()) == ["configmap/back", "configmap/front"]
    bad = node.http("GET", f"{base}?labelSelector={quote('app in (web')}")
    assert (bad.status, bad.json()["reason"]) == (400, "BadRequest")


def test_pod_field_selectors(node: Node, kubectl: Kubectl) -> None:
    """fieldSelector on pods: metadata.name, status.phase and spec.nodeName with =, == and !=."""
    ns = new_namespace(node, "podfields")
    base = f"/api/v1/namespaces/{ns}/pods"
    bound_pod(node, ns, "here")
    done = bound_pod(node, ns, "done")
    elsewhere = pod("elsewhere")
    elsewhere["spec"]["nodeName"] = "other-node"
    ok(node.http("POST", base, elsewhere), 201)
    status = {"status": {"phase": "Succeeded"}}
    ok(merge_patch(node, f"{base}/done/status", status))
    node_name = done["spec"]["nodeName"]
    cases = [
        ("metadata.name=here", ["here"]),
        ("metadata.name==here", ["here"]),
        ("metadata.name!=here", ["done", "elsewhere"]),
        ("status.phase=Pending", ["elsewhere", "here"]),
        ("status.phase!=Pending", ["done"]),
        (f"spec.nodeName={node_name}", ["done", "here"]),
        ("spec.nodeName!=other-node", ["done", "here"]),
        ("spec.nodeName=other-node,status.phase=Pending", ["elsewhere"]),
    ]
    for selector, expected in cases:
        assert _names(node, base, fieldSelector=selector) == expected, selector
    out = kubectl.ok(
        "get", "pods", "-n", ns, "--field-selector", "status.phase=Succeeded", "-o", "name"
    )
    assert out.out.split() == ["pod/done"]
    unknown = node.http("GET", f"{base}?fieldSelector={quote('spec.image=x')}")
    assert (unknown.status, unknown.json()["reason"]) == (400, "BadRequest")


def test_event_field_selectors_on_involved_object(node: Node) -> None:
    """fieldSelector on events matches involvedObject.kind, .name, .uid and reason, type."""
    ns = new_namespace(node, "events")
    base = f"/api/v1/namespaces/{ns}/events"

    def event(name: str, kind: str, obj: str, reason: str) -> dict[str, Any]:
        return {
            "metadata": {"name": name},
            "involvedObject": {"kind": kind, "name": obj, "namespace": ns, "uid": f"uid-{obj}"},
            "reason": reason,
            "message": "m",
            "type": "Normal" if reason != "Failed" else "Warning",
        }

    ok(node.http("POST", base, event("e1", "Pod", "web", "Scheduled")), 201)
    ok(node.http("POST", base, event("e2", "Pod", "db", "Failed")), 201)
    ok(node.http("POST", base, event("e3", "Deployment", "web", "ScalingReplicaSet")), 201)
    cases = [
        ("involvedObject.name=web", ["e1", "e3"]),
        ("involvedObject.kind=Pod", ["e1", "e2"]),
        ("involvedObject.kind=Pod,involvedObject.name=web", ["e1"]),
        ("involvedObject.name!=web", ["e2"]),
        ("involvedObject.uid=uid-db", ["e2"]),
        ("involvedObject.namespace=" + ns, ["e1", "e2", "e3"]),
        ("reason=Failed", ["e2"]),
        ("type!=Warning", ["e1", "e3"]),
    ]
    for selector, expected in cases:
        assert _names(node, base, fieldSelector=selector) == expected, selector


def _pages(node: Node, path: str, limit: int, **query: str) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    token = ""
    for _ in range(100):
        params = {**query, "limit": str(limit)}
        if token:
            params["continue"] = token
        qs = "&".join(f"{k}={quote(v)}" for k, v in params.items())
        page = ok(node.http("GET", f"{path}?{qs}"))
        pages.append(page)
        token = page["metadata"].get("continue", "")
        if not token:
            return pages
    raise AssertionError("pagination did not end")


def test_limit_and_continue_return_every_object_exactly_once(node: Node) -> None:
    """Paging with limit/continue yields each object once, every page at the first's version."""
    ns = new_namespace(node, "pages")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    names = [f"cm-{i:02d}" for i in range(11)]
    for i, name in enumerate(names):
        ok(node.http("POST", base, configmap(name, parity=str(i % 2))), 201)
    pages = _pages(node, base, 4)
    assert [len(p["items"]) for p in pages] == [4, 4, 3]
    seen = [item["metadata"]["name"] for p in pages for item in p["items"]]
    assert seen == names
    versions = {p["metadata"]["resourceVersion"] for p in pages}
    assert len(versions) == 1, versions

    # Writes between pages: later pages still report the first page's version, so a watch
    # from it replays them; objects that lived throughout still come exactly once.
    first = ok(node.http("GET", f"{base}?limit=4"))
    ok(merge_patch(node, f"{base}/cm-00", {"data": {"k": "v"}}))
    rest = _pages_from(node, base, first["metadata"]["continue"])
    assert {p["metadata"]["resourceVersion"] for p in rest} == {
        first["metadata"]["resourceVersion"]
    }
    paged = [i["metadata"]["name"] for p in [first, *rest] for i in p["items"]]
    assert paged == names

    odd = _pages(node, base, 2, labelSelector="parity=1")
    assert [i["metadata"]["name"] for p in odd for i in p["items"]] == names[1::2]


def _pages_from(node: Node, path: str, token: str) -> list[dict[str, Any]]:
    pages = []
    while token:
        page = ok(node.http("GET", f"{path}?limit=4&continue={quote(token)}"))
        pages.append(page)
        token = page["metadata"].get("continue", "")
    return pages


def test_list_across_namespaces(node: Node, kubectl: Kubectl) -> None:
    """A cluster-wide list (-A) spans namespaces, and pages across them."""
    one = new_namespace(node, "all-a")
    two = new_namespace(node, "all-b")
    tag = f"{one}-{two}"
    for ns in (one, two):
        for name in ("x", "y"):
            path = f"/api/v1/namespaces/{ns}/configmaps"
            ok(node.http("POST", path, configmap(name, tag=tag)), 201)
    pages = _pages(node, "/api/v1/configmaps", 3, labelSelector=f"tag={tag}")
    seen = sorted(
        (i["metadata"]["namespace"], i["metadata"]["name"]) for p in pages for i in p["items"]
    )
    assert seen == [(one, "x"), (one, "y"), (two, "x"), (two, "y")]
    out = kubectl.ok("get", "configmaps", "-A", "-l", f"tag={tag}", "--chunk-size=1").out
    rows = [line.split()[:2] for line in out.splitlines()]
    assert rows == [["NAMESPACE", "NAME"], [one, "x"], [one, "y"], [two, "x"], [two, "y"]]
