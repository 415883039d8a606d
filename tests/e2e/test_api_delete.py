"""Deletion against a real node: propagation, finalizers, collections, pods, namespaces.

The garbage collector and the namespace controller run in the node, so outcomes they
produce are polled for with deadlines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, Node
from tests.e2e.test_api_support import (
    Watch,
    bound_pod,
    configmap,
    deleting,
    gone,
    kubectl_for,
    merge_patch,
    new_namespace,
    ok,
    wait_until,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


def _owned(
    name: str, *owners: dict[str, Any], finalizers: tuple[str, ...] = (), block: bool = False
) -> dict[str, Any]:
    body = configmap(name)
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": o["metadata"]["name"],
            "uid": o["metadata"]["uid"],
            **({"blockOwnerDeletion": True} if block else {}),
        }
        for o in owners
    ]
    if finalizers:
        body["metadata"]["finalizers"] = list(finalizers)
    return body


def _stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_deleting_a_missing_object_is_not_found(node: Node, kubectl: Kubectl) -> None:
    """DELETE of a missing object: 404 NotFound naming the resource, as kubectl prints it."""
    ns = new_namespace(node, "missing")
    res = node.http("DELETE", f"/api/v1/namespaces/{ns}/pods/x")
    assert res.status == 404
    status = res.json()
    assert (status["reason"], status["message"]) == ("NotFound", 'pods "x" not found')
    assert status["details"] == {"name": "x", "kind": "pods"}
    grouped = node.http("DELETE", f"/apis/apps/v1/namespaces/{ns}/deployments/x").json()
    assert grouped["message"] == 'deployments.apps "x" not found'
    out = kubectl("delete", "pod", "x", "-n", ns)
    assert out.rc == 1
    assert out.err.strip() == 'Error from server (NotFound): pods "x" not found'


def test_background_deletion_collects_dependents(node: Node, kubectl: Kubectl) -> None:
    """Background: the owner goes at once; dependents follow; co-owned ones just lose the ref."""
    ns = new_namespace(node, "background")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    owner = ok(node.http("POST", base, configmap("owner")), 201)
    other = ok(node.http("POST", base, configmap("other")), 201)
    ok(node.http("POST", base, _owned("dep", owner)), 201)
    ok(node.http("POST", base, _owned("shared", owner, other)), 201)
    out = kubectl.ok("delete", "configmap", "owner", "-n", ns).out.strip()
    assert out == 'configmap "owner" deleted'
    wait_until(lambda: gone(node, f"{base}/dep"), what="the dependent to be collected")

    def only_other() -> bool:
        refs = ok(node.http("GET", f"{base}/shared"))["metadata"].get("ownerReferences", [])
        return [r["name"] for r in refs] == ["other"]

    wait_until(only_other, what="the dangling reference to be dropped")


def test_foreground_deletion_waits_for_blocking_dependents(node: Node) -> None:
    """Foreground: the owner stays, with foregroundDeletion, until blocking dependents are gone."""
    ns = new_namespace(node, "foreground")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    owner = ok(node.http("POST", base, configmap("owner")), 201)
    hold = ("e2e.test/hold",)
    ok(node.http("POST", base, _owned("blocker", owner, finalizers=hold, block=True)), 201)
    ok(node.http("POST", base, _owned("loose", owner, finalizers=hold)), 201)
    started = deleting(node.http("DELETE", f"{base}/owner", {"propagationPolicy": "Foreground"}))
    assert "foregroundDeletion" in started["metadata"]["finalizers"]

    def deleting_now(name: str) -> bool:
        return bool(ok(node.http("GET", f"{base}/{name}"))["metadata"].get("deletionTimestamp"))

    wait_until(
        lambda: deleting_now("blocker") and deleting_now("loose"), what="dependents' deletion"
    )
    waiting = ok(node.http("GET", f"{base}/owner"))
    assert waiting["metadata"]["deletionTimestamp"]
    assert waiting["metadata"]["finalizers"] == ["foregroundDeletion"]
    ok(merge_patch(node, f"{base}/blocker", {"metadata": {"finalizers": None}}))
    wait_until(lambda: gone(node, f"{base}/owner"), what="the owner to go after its blocker")
    # A dependent without blockOwnerDeletion does not hold the owner up.
    assert deleting_now("loose")
    ok(merge_patch(node, f"{base}/loose", {"metadata": {"finalizers": None}}))
    assert gone(node, f"{base}/loose")


def test_orphan_deletion_keeps_dependents(node: Node, kubectl: Kubectl) -> None:
    """Orphan: the owner goes; dependents live on with the ownerReference removed."""
    ns = new_namespace(node, "orphan")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    owner = ok(node.http("POST", base, configmap("owner")), 201)
    ok(node.http("POST", base, _owned("dep", owner)), 201)
    out = kubectl.ok("delete", "configmap", "owner", "-n", ns, "--cascade=orphan").out.strip()
    assert out == 'configmap "owner" deleted'
    assert gone(node, f"{base}/owner")
    dep = ok(node.http("GET", f"{base}/dep"))
    assert "ownerReferences" not in dep["metadata"], dep["metadata"]
    assert "deletionTimestamp" not in dep["metadata"]


def test_a_finalizer_keeps_an_object_until_it_is_removed(node: Node, kubectl: Kubectl) -> None:
    """A finalizer holds a deleted object (deletionTimestamp set) until a patch removes it."""
    ns = new_namespace(node, "finalizer")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    body = configmap("held")
    body["metadata"]["finalizers"] = ["e2e.test/hold"]
    ok(node.http("POST", base, body), 201)
    rv = ok(node.http("GET", base))["metadata"]["resourceVersion"]
    with Watch(node, f"{base}?watch=true&resourceVersion={rv}") as w:
        started = deleting(node.http("DELETE", f"{base}/held"))
        assert started["metadata"]["deletionGracePeriodSeconds"] == 0
        assert ok(node.http("GET", f"{base}/held"))["metadata"]["deletionTimestamp"]
        assert kubectl.ok("get", "configmap", "held", "-n", ns, "-o", "name").out.strip() == (
            "configmap/held"
        )
        added = merge_patch(
            node, f"{base}/held", {"metadata": {"finalizers": ["a/b", "e2e.test/hold"]}}
        )
        assert added.status == 422
        assert added.json()["message"] == (
            'ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can '
            'be added if the object is being deleted, found new finalizers []string{"a/b"}'
        )
        ok(merge_patch(node, f"{base}/held", {"metadata": {"finalizers": None}}))
        assert gone(node, f"{base}/held")
        events = [w.next()["type"], w.next()["type"]]
    assert events == ["MODIFIED", "DELETED"]


def test_deletecollection_deletes_only_matching_objects(node: Node) -> None:
    """DELETE on a collection with a labelSelector removes exactly the matching objects."""
    ns = new_namespace(node, "collection")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    for name, app in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        ok(node.http("POST", base, configmap(name, app=app)), 201)
    deleted = ok(node.http("DELETE", f"{base}?labelSelector=app%3Da"))
    assert sorted(i["metadata"]["name"] for i in deleted["items"]) == ["a1", "a2"]
    left = ok(node.http("GET", base))["items"]
    assert [i["metadata"]["name"] for i in left] == ["b1"]


def test_bound_pod_deletion_is_graceful_until_forced(node: Node, kubectl: Kubectl) -> None:
    """A bound pod is Terminating with a grace period (no kubelet ends it); --force removes it."""
    ns = new_namespace(node, "graceful")
    path = f"/api/v1/namespaces/{ns}/pods/web"
    bound_pod(node, ns, "web")
    out = kubectl.ok("delete", "pod", "web", "-n", ns, "--wait=false").out.strip()
    assert out == 'pod "web" deleted'
    meta = ok(node.http("GET", path))["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 30
    lead = _stamp(meta["deletionTimestamp"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=20) < lead <= dt.timedelta(seconds=31)
    rows = kubectl.ok("get", "pods", "-n", ns).out.splitlines()
    assert rows[1].split()[:3] == ["web", "0/1", "Terminating"]
    shorter = deleting(node.http("DELETE", path, {"gracePeriodSeconds": 5}))
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 5
    longer = deleting(node.http("DELETE", path, {"gracePeriodSeconds": 60}))
    assert longer["metadata"]["deletionGracePeriodSeconds"] == 5
    assert not gone(node, path)
    forced = kubectl.ok("delete", "pod", "web", "-n", ns, "--grace-period=0", "--force")
    assert forced.out.strip() == 'pod "web" force deleted'
    assert gone(node, path)


def test_namespace_deletion_empties_the_namespace_then_removes_it(
    node: Node, kubectl: Kubectl
) -> None:
    """kubectl delete namespace: Terminating, its content deleted, then the namespace is gone."""
    ns = new_namespace(node, "nsdelete")
    ok(node.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap("c")), 201)
    out = kubectl.ok("delete", "namespace", ns, "--timeout=30s").out.strip()
    assert out == f'namespace "{ns}" deleted'
    assert gone(node, f"/api/v1/namespaces/{ns}")
    assert ok(node.http("GET", f"/api/v1/namespaces/{ns}/configmaps"))["items"] == []


def test_terminating_namespace_refuses_new_content(node: Node, kubectl: Kubectl) -> None:
    """While a namespace terminates, creating in it is 403 Forbidden; it goes once emptied."""
    ns = new_namespace(node, "terminating")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    held = configmap("held")
    held["metadata"]["finalizers"] = ["e2e.test/hold"]
    ok(node.http("POST", base, held), 201)
    kubectl.ok("delete", "namespace", ns, "--wait=false")
    rows = kubectl.ok("get", "namespace", ns).out.splitlines()
    assert rows[1].split()[:2] == [ns, "Terminating"]
    refused = node.http("POST", base, configmap("late"))
    assert refused.status == 403
    status = refused.json()
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        f'configmaps "late" is forbidden: unable to create new content in namespace {ns} '
        "because it is being terminated"
    )
    wait_until(
        lambda: ok(node.http("GET", f"{base}/held"))["metadata"].get("deletionTimestamp"),
        what="the namespace controller to delete the held configmap",
    )
    assert not gone(node, f"/api/v1/namespaces/{ns}")
    ok(merge_patch(node, f"{base}/held", {"metadata": {"finalizers": None}}))
    wait_until(lambda: gone(node, f"/api/v1/namespaces/{ns}"), what="the namespace to go")


@pytest.mark.parametrize("cascade", ["background", "foreground"])
def test_namespace_with_a_bound_pod_waits_for_it(
    node: Node, kubectl: Kubectl, cascade: str
) -> None:
    """A namespace stays Terminating while a bound pod is terminating, until it is forced out."""
    ns = new_namespace(node, f"nspod-{cascade}")
    pod_path = f"/api/v1/namespaces/{ns}/pods/web"
    bound_pod(node, ns, "web")
    kubectl.ok("delete", "namespace", ns, f"--cascade={cascade}", "--wait=false")
    wait_until(
        lambda: ok(node.http("GET", pod_path))["metadata"].get("deletionTimestamp"),
        what="the pod's graceful deletion",
    )
    # The controllers have acted on the namespace; it still waits for the pod.
    wait_until(
        lambda: (
            "foregroundDeletion"
            not in (
                ok(node.http("GET", f"/api/v1/namespaces/{ns}"))["metadata"].get("finalizers") or []
            )
        ),
        what="the garbage collector to finish its part",
    )
    namespace = ok(node.http("GET", f"/api/v1/namespaces/{ns}"))
    assert namespace["status"]["phase"] == "Terminating"
    kubectl.ok("delete", "pod", "web", "-n", ns, "--grace-period=0", "--force")
    wait_until(lambda: gone(node, f"/api/v1/namespaces/{ns}"), what="the namespace to go")


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public", "kube-node-lease"])
def test_system_namespaces_cannot_be_deleted(node: Node, kubectl: Kubectl, name: str) -> None:
    """Deleting a system namespace is 403 Forbidden: "this namespace may not be deleted"."""
    message = f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    res = node.http("DELETE", f"/api/v1/namespaces/{name}")
    assert res.status == 403
    assert (res.json()["reason"], res.json()["message"]) == ("Forbidden", message)
    out = kubectl("delete", "namespace", name)
    assert out.rc == 1
    assert out.err.strip() == f"Error from server (Forbidden): {message}"
    live = ok(node.http("GET", f"/api/v1/namespaces/{name}"))
    assert live["status"]["phase"] == "Active"
    assert "deletionTimestamp" not in live["metadata"]
