"""ReplicationControllers and ReplicaSets driven by the real kubectl on a real node.

One node for the module. Each test applies its owner in a fresh namespace, waits (with
deadlines, never blind sleeps) for what ``kubectl get`` shows, and deletes its owners
before the namespace helper force-deletes the pods, so nothing recreates them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_kubelet_support import kubectl_for, namespace, require_oci

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@contextlib.contextmanager
def workspace(kubectl: Kubectl, prefix: str) -> Iterator[str]:
    with namespace(kubectl, prefix) as ns:
        try:
            yield ns
        finally:
            kubectl("delete", "rc,rs", "--all", "-n", ns, "--cascade=orphan", "--wait=false")


def owner_yaml(
    kind: str, name: str, ns: str, replicas: int, *, readiness_file: bool = False
) -> str:
    app: dict[str, Any] = {
        "name": "app",
        "image": "busybox",
        "command": ["/bin/sh", "-c", "sleep 3600"],
    }
    if readiness_file:
        app["readinessProbe"] = {
            "exec": {"command": ["/bin/sh", "-c", "test -f /tmp/ready"]},
            "periodSeconds": 1,
        }
    template = {
        "metadata": {"labels": {"app": name}},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [app]},
    }
    selector: dict[str, Any] = {"app": name}
    api_version = "v1"
    if kind == "ReplicaSet":
        selector = {"matchLabels": selector}
        api_version = "apps/v1"
    return yaml.safe_dump(
        {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        }
    )


def pods(kubectl: Kubectl, ns: str, app: str) -> list[dict[str, Any]]:
    """The pods labelled ``app`` that are not terminating."""
    res = kubectl.ok("get", "pods", "-n", ns, "-l", f"app={app}", "-o", "json")
    items: list[dict[str, Any]] = json.loads(res.out)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def names(items: list[dict[str, Any]]) -> set[str]:
    return {p["metadata"]["name"] for p in items}


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def counts(kubectl: Kubectl, ns: str, resource: str) -> list[str]:
    """DESIRED CURRENT READY of ``kubectl get rc|rs``."""
    res = kubectl("get", resource, "-n", ns, "--no-headers")
    cols = res.out.split()
    return cols[1:4] if res.rc == 0 and len(cols) >= 4 else []


def wait_counts(kubectl: Kubectl, ns: str, resource: str, want: list[str]) -> None:
    wait_for(
        lambda: counts(kubectl, ns, resource) == want,
        timeout=30,
        what=f"{resource} DESIRED CURRENT READY = {want}",
    )


def test_replication_controller_scales_and_deletes_not_ready_pods_first(
    kubectl: Kubectl, node: Node
) -> None:
    """An RC of 2 runs 2 owned pods; scaled to 4 then 1, the ready original survives."""
    require_oci(node)
    with workspace(kubectl, "rc") as ns:
        kubectl.ok(
            "apply",
            "-f",
            "-",
            stdin=owner_yaml("ReplicationController", "web", ns, 2, readiness_file=True),
        )
        first = wait_for(lambda: len(p := pods(kubectl, ns, "web")) == 2 and p, what="2 pods")
        rc = json.loads(kubectl.ok("get", "rc", "web", "-n", ns, "-o", "json").out)
        for p in first:
            (ref,) = p["metadata"]["ownerReferences"]
            assert ref == {
                "apiVersion": "v1",
                "kind": "ReplicationController",
                "name": "web",
                "uid": rc["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
            assert p["metadata"]["name"].startswith("web-")
        wait_for(
            lambda: all(p["status"].get("phase") == "Running" for p in pods(kubectl, ns, "web")),
            what="pods running",
        )
        for name in names(first):
            kubectl.ok("exec", "-n", ns, name, "--", "/bin/sh", "-c", "touch /tmp/ready")
        wait_counts(kubectl, ns, "rc/web", ["2", "2", "2"])

        kubectl.ok("scale", "rc", "web", "-n", ns, "--replicas=4")
        wait_counts(kubectl, ns, "rc/web", ["4", "4", "2"])
        kubectl.ok("scale", "rc", "web", "-n", ns, "--replicas=1")
        (survivor,) = wait_for(
            lambda: len(p := pods(kubectl, ns, "web")) == 1 and p, what="1 pod left"
        )
        assert survivor["metadata"]["name"] in names(first)
        assert is_ready(survivor)
        wait_counts(kubectl, ns, "rc/web", ["1", "1", "1"])

        # The controller's events, as upstream's replication-controller records them.
        def recorded() -> list[tuple[str, str, str]]:
            got = kubectl.ok("get", "events", "-n", ns, "-o", "json").json()["items"]
            return sorted(
                (e["reason"], e["message"], e["source"]["component"])
                for e in got
                if e["involvedObject"]["kind"] == "ReplicationController"
            )

        events = wait_for(lambda: len(e := recorded()) == 7 and e, what="7 controller events")
        created = [m.removeprefix("Created pod: ") for r, m, _ in events if r == "SuccessfulCreate"]
        deleted = [m.removeprefix("Deleted pod: ") for r, m, _ in events if r == "SuccessfulDelete"]
        assert {c for _, _, c in events} == {"replication-controller"}
        assert len(created) == 4 and set(names(first)) <= set(created), events
        assert sorted(deleted) == sorted(set(created) - {survivor["metadata"]["name"]}), events
        described = kubectl.ok("describe", "rc", "web", "-n", ns).out
        assert "SuccessfulCreate" in described and "Created pod: " in described, described

        kubectl.ok("delete", "rc", "web", "-n", ns, "--wait=false")
        wait_for(lambda: not pods(kubectl, ns, "web"), what="pods of the deleted rc gone")


def test_replicaset_replaces_pods_orphans_adopts_and_cascades(kubectl: Kubectl, node: Node) -> None:
    """An RS of 3 replaces a deleted pod; orphaned pods are released, adopted, then cascaded."""
    with workspace(kubectl, "rs") as ns:
        kubectl.ok("apply", "-f", "-", stdin=owner_yaml("ReplicaSet", "api", ns, 3))
        wait_counts(kubectl, ns, "rs/api", ["3", "3", "3"])
        rs = json.loads(kubectl.ok("get", "rs", "api", "-n", ns, "-o", "json").out)
        assert rs["status"]["observedGeneration"] == rs["metadata"]["generation"]
        assert rs["status"]["availableReplicas"] == 3
        before = pods(kubectl, ns, "api")
        for p in before:
            (ref,) = p["metadata"]["ownerReferences"]
            assert (ref["kind"], ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == (
                "ReplicaSet",
                rs["metadata"]["uid"],
                True,
                True,
            )

        victim = sorted(names(before))[0]
        kubectl.ok("delete", "pod", victim, "-n", ns, "--wait=false")
        replaced = wait_for(
            lambda: len(p := pods(kubectl, ns, "api")) == 3 and victim not in names(p) and p,
            what="a replacement pod",
        )
        wait_counts(kubectl, ns, "rs/api", ["3", "3", "3"])

        kubectl.ok("delete", "rs", "api", "-n", ns, "--cascade=orphan")
        wait_for(
            lambda: all(not p["metadata"].get("ownerReferences") for p in pods(kubectl, ns, "api")),
            what="pods released",
        )
        assert names(pods(kubectl, ns, "api")) == names(replaced)

        kubectl.ok("apply", "-f", "-", stdin=owner_yaml("ReplicaSet", "api", ns, 3))
        new_uid = json.loads(kubectl.ok("get", "rs", "api", "-n", ns, "-o", "json").out)[
            "metadata"
        ]["uid"]
        wait_for(
            lambda: all(
                [r["uid"] for r in p["metadata"].get("ownerReferences") or []] == [new_uid]
                for p in pods(kubectl, ns, "api")
            ),
            what="orphans adopted by the new rs",
        )
        assert names(pods(kubectl, ns, "api")) == names(replaced)
        wait_counts(kubectl, ns, "rs/api", ["3", "3", "3"])

        kubectl.ok("delete", "rs", "api", "-n", ns, "--wait=false")
        wait_for(lambda: not pods(kubectl, ns, "api"), what="pods of the deleted rs gone")
