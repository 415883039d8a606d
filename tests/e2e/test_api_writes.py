"""Write semantics against a real node: create, update, server-side apply, subresources."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_api_support import (
    configmap,
    kubectl_for,
    merge_patch,
    new_namespace,
    ok,
    pod,
)

pytestmark = pytest.mark.e2e

APPLY = "application/apply-patch+yaml"
CONFLICT = (
    'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
    "please apply your changes to the latest version and try again"
)


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


def deployment(name: str, image: str = "nginx:1.25", replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


def test_create_fills_in_server_fields_and_defaults(node: Node, kubectl: Kubectl) -> None:
    """create: generateName + 5 chars, uid, creationTimestamp, generation 1, visible defaults."""
    ns = new_namespace(node, "create")
    manifest = pod("")
    manifest["metadata"] = {"generateName": "web-", "uid": "mine", "generation": 7}
    manifest["spec"]["containers"].append({"name": "side", "image": "busybox"})
    out = kubectl.ok("create", "-n", ns, "-f", "-", stdin=json.dumps(manifest)).out.strip()
    m = re.fullmatch(r"pod/(web-[bcdfghjklmnpqrstvwxz2456789]{5}) created", out)
    assert m, out
    created = ok(node.http("GET", f"/api/v1/namespaces/{ns}/pods/{m.group(1)}"))
    meta = created["metadata"]
    assert meta["generateName"] == "web-"
    assert str(uuid.UUID(meta["uid"])) == meta["uid"]
    stamp = dt.datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.UTC) - stamp) < dt.timedelta(minutes=1)
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0
    spec = created["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"]) == ("Always", "ClusterFirst")
    assert (spec["schedulerName"], spec["terminationGracePeriodSeconds"]) == (
        "default-scheduler",
        30,
    )
    main, side = spec["containers"]
    assert (main["imagePullPolicy"], side["imagePullPolicy"]) == ("IfNotPresent", "Always")
    assert main["terminationMessagePath"] == "/dev/termination-log"
    assert created["status"]["phase"] == "Pending"
    assert created["status"]["qosClass"] == "BestEffort"

    dep = ok(node.http("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", deployment("d")), 201)
    assert dep["metadata"]["generation"] == 1
    assert dep["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert dep["spec"]["revisionHistoryLimit"] == 10
    assert dep["spec"]["progressDeadlineSeconds"] == 600
    cm = ok(node.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap("c")), 201)
    assert "generation" not in cm["metadata"]


def test_update_with_a_stale_resource_version_conflicts(node: Node, kubectl: Kubectl) -> None:
    """An update carrying an old resourceVersion is a 409 Conflict with the real message."""
    ns = new_namespace(node, "stale")
    path = f"/api/v1/namespaces/{ns}/pods/x"
    stale = ok(node.http("POST", f"/api/v1/namespaces/{ns}/pods", pod("x")), 201)
    ok(merge_patch(node, path, {"metadata": {"labels": {"moved": "on"}}}))
    stale["metadata"]["labels"] = {"mine": "too"}
    res = node.http("PUT", path, stale)
    assert res.status == 409
    status = res.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == CONFLICT.format(resource="pods", name="x")
    assert status["details"] == {"name": "x", "kind": "pods"}
    replaced = kubectl("replace", "-n", ns, "-f", "-", stdin=json.dumps(stale))
    assert replaced.rc == 1
    assert (
        'Error from server (Conflict): error when replacing "STDIN": '
        + CONFLICT.format(resource="pods", name="x")
    ) in replaced.err
    assert ok(node.http("GET", path))["metadata"]["labels"] == {"moved": "on"}


def test_generation_follows_spec_changes_only(node: Node) -> None:
    """metadata.generation moves on spec changes, not on metadata or status changes."""
    ns = new_namespace(node, "generation")
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/d"
    ok(node.http("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", deployment("d")), 201)

    def generation() -> int:
        return int(ok(node.http("GET", path))["metadata"]["generation"])

    ok(merge_patch(node, path, {"metadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}}}))
    assert generation() == 1
    ok(merge_patch(node, f"{path}/status", {"status": {"observedGeneration": 1, "replicas": 2}}))
    assert generation() == 1
    ok(merge_patch(node, path, {"spec": {"replicas": 3}}))
    assert generation() == 2

    def put_back_unchanged() -> tuple[dict[str, Any], dict[str, Any]] | None:
        """GET then PUT the same body; None when the Deployment controller wrote between."""
        same = ok(node.http("GET", path))
        res = node.http("PUT", path, same)
        return None if res.status == 409 else (same, ok(res))

    same, unchanged = wait_for(put_back_unchanged, timeout=20, what="an uncontended PUT")
    assert unchanged["metadata"]["resourceVersion"] == same["metadata"]["resourceVersion"]
    assert generation() == 2


def test_server_side_apply_creates_updates_and_reports_conflicts(
    node: Node, kubectl: Kubectl
) -> None:
    """apply: 201 when created, 200 after; another manager conflicts until it forces."""
    ns = new_namespace(node, "ssa")
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    manifest = deployment("web")
    manifest["metadata"]["namespace"] = ns
    applied = node.http("PATCH", f"{path}?fieldManager=alice", manifest, content_type=APPLY)
    assert applied.status == 201, applied.body
    managers = [(m["manager"], m["operation"]) for m in applied.json()["metadata"]["managedFields"]]
    assert managers == [("alice", "Apply")]
    manifest["spec"]["replicas"] = 3
    again = node.http("PATCH", f"{path}?fieldManager=alice", manifest, content_type=APPLY)
    assert again.status == 200, again.body
    assert again.json()["spec"]["replicas"] == 3

    changed = json.dumps(deployment("web", image="nginx:1.26", replicas=3))
    res = kubectl("apply", "--server-side", "-n", ns, "-f", "-", stdin=changed)
    assert res.rc == 1
    assert res.err.startswith(
        'error: Apply failed with 1 conflict: conflict with "alice": '
        '.spec.template.spec.containers[name="main"].image'
    ), res.err
    image = ok(node.http("GET", path))["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "nginx:1.25"

    out = kubectl.ok(
        "apply", "--server-side", "--force-conflicts", "-n", ns, "-f", "-", stdin=changed
    ).out
    assert out.strip() == "deployment.apps/web serverside-applied"
    live = ok(node.http("GET", path))
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    owners = {m["manager"]: json.dumps(m["fieldsV1"]) for m in live["metadata"]["managedFields"]}
    assert '"f:image"' in owners["kubectl"]
    assert '"f:image"' not in owners["alice"]


def test_status_subresource_changes_only_status(node: Node) -> None:
    """PUT/PATCH on /status change status alone; the main resource ignores status."""
    ns = new_namespace(node, "status")
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/d"
    ok(node.http("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", deployment("d")), 201)
    patched = ok(
        merge_patch(
            node,
            f"{path}/status",
            {"spec": {"replicas": 9}, "status": {"replicas": 1, "readyReplicas": 1}},
        )
    )
    assert (patched["spec"]["replicas"], patched["status"]["readyReplicas"]) == (2, 1)

    # The Deployment controller writes status too: a write from a stale read gets 409 and
    # is tried again from a fresh one, as any client of a live cluster does.
    def put_status() -> dict[str, Any] | None:
        body = ok(node.http("GET", path))
        body["spec"]["replicas"] = 8
        body["status"] = {"replicas": 5}
        res = node.http("PUT", f"{path}/status", body)
        return None if res.status == 409 else ok(res)

    put = wait_for(put_status, timeout=20, what="an uncontended status PUT")
    assert (put["spec"]["replicas"], put["status"]) == (2, {"replicas": 5})

    def put_main() -> tuple[dict[str, Any], dict[str, Any]] | None:
        body = ok(node.http("GET", path))
        stored_status = body["status"]
        body["spec"]["replicas"] = 4
        body["status"] = {"replicas": 0}
        res = node.http("PUT", path, body)
        return None if res.status == 409 else (stored_status, ok(res))

    stored_status, main = wait_for(put_main, timeout=20, what="an uncontended PUT")
    assert main["spec"]["replicas"] == 4
    assert main["status"] == stored_status != {"replicas": 0}


def test_scale_subresource_changes_only_replicas(node: Node, kubectl: Kubectl) -> None:
    """/scale reads and writes replicas alone; kubectl scale goes through it."""
    ns = new_namespace(node, "scale")
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/d"
    ok(node.http("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", deployment("d")), 201)
    scale = ok(node.http("GET", f"{path}/scale"))
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"]["selector"] == "app=d"
    scale["spec"]["replicas"] = 4
    scale["metadata"]["labels"] = {"ignored": "yes"}
    # Without a resourceVersion: the Deployment controller's status writes move it on.
    scale["metadata"].pop("resourceVersion")
    assert ok(node.http("PUT", f"{path}/scale", scale))["spec"] == {"replicas": 4}
    live = ok(node.http("GET", path))
    assert live["spec"]["replicas"] == 4
    assert "ignored" not in (live["metadata"].get("labels") or {})
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    ok(merge_patch(node, f"{path}/scale", {"spec": {"replicas": 1}}))
    assert ok(node.http("GET", path))["spec"]["replicas"] == 1
    assert kubectl.ok("scale", "-n", ns, "deployment/d", "--replicas=3").out.strip() == (
        "deployment.apps/d scaled"
    )
    assert ok(node.http("GET", path))["spec"]["replicas"] == 3
