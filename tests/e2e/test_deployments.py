"""Deployments driven by the real kubectl on a real node: rollouts, history, undo, scaling.

One node for the module; each test works in a fresh namespace. Rollouts are followed with
``kubectl rollout status`` (whose exit code and text are the contract), and what happened
on the way is read from ``kubectl get -w`` streams recorded to a file (every ReplicaSet
resize, every pod added and deleted, in the server's order), so the maxSurge /
maxUnavailable bounds and Recreate's "old pods gone first" are checked on every step, not
sampled. Pods run ``sleep`` from the host with a one-second grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_kubelet_support import json_stream, kubectl_for, namespace, require_oci

pytestmark = pytest.mark.e2e

REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@contextlib.contextmanager
def workspace(kubectl: Kubectl, prefix: str) -> Iterator[str]:
    with namespace(kubectl, prefix) as ns:
        try:
            yield ns
        finally:
            kubectl("delete", "deploy,rs", "--all", "-n", ns, "--cascade=orphan", "--wait=false")


def deployment_yaml(
    name: str,
    ns: str,
    replicas: int,
    *,
    strategy: dict[str, Any] | None = None,
    image: str = "busybox:1.36",
    readiness: dict[str, Any] | None = None,
    **spec: Any,
) -> str:
    app: dict[str, Any] = {
        "name": "app",
        "image": image,
        "command": ["/bin/sh", "-c", "exec sleep 3600"],
    }
    if readiness is not None:
        app["readinessProbe"] = readiness
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [app]},
            },
            **spec,
        },
    }
    if strategy is not None:
        body["spec"]["strategy"] = strategy
    return yaml.safe_dump(body)


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl.ok("get", *args, "-o", "json").out)


def replica_sets(kubectl: Kubectl, ns: str) -> dict[str, dict[str, Any]]:
    return {rs["metadata"]["name"]: rs for rs in get_json(kubectl, "rs", "-n", ns)["items"]}


def live_pods(kubectl: Kubectl, ns: str, app: str) -> list[dict[str, Any]]:
    items = get_json(kubectl, "pods", "-n", ns, "-l", f"app={app}")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def pod_count_is(kubectl: Kubectl, ns: str, app: str, count: int) -> Callable[[], bool]:
    return lambda: len(live_pods(kubectl, ns, app)) == count


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any]:
    found = [c for c in obj["status"].get("conditions", []) if c["type"] == ctype]
    return found[0] if found else {}


def rollout_status(kubectl: Kubectl, ns: str, name: str) -> str:
    res = kubectl("rollout", "status", f"deployment/{name}", "-n", ns, "--timeout=60s", timeout=90)
    assert res.rc == 0, f"rollout status failed rc={res.rc}\n{res.err}\n{res.out}"
    lines = res.out.strip().splitlines()
    assert lines[-1] == f'deployment "{name}" successfully rolled out', res.out
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    for line in lines[:-1]:
        assert line.startswith((waiting, "Waiting for deployment spec")), line
    return res.out


@contextlib.contextmanager
def watching(kubectl: Kubectl, *args: str) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """``kubectl get -w --output-watch-events -o json ARGS``, recorded to a file.

    Yields a reader of the events so far (the initial listing comes as ADDED events, so a
    non-empty first read means the watch is established)."""
    fd, name = tempfile.mkstemp(suffix=".jsonl")
    path = Path(name)
    env = {**os.environ, "HOME": str(kubectl.home), "KUBECONFIG": str(kubectl.node.kubeconfig)}
    with os.fdopen(fd, "w") as sink:
        proc = subprocess.Popen(
            [str(kubectl.binary), "get", *args, "-w", "--output-watch-events", "-o", "json"],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def events() -> list[dict[str, Any]]:
        text = path.read_text()
        try:
            return json_stream(text)
        except json.JSONDecodeError:  # a half-written last document
            return json_stream(text[: text.rfind("\n}") + 2])

    try:
        yield events
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        path.unlink()


def test_rolling_update_history_undo_and_restart(kubectl: Kubectl, node: Node) -> None:
    """A rolling update stays within maxSurge/maxUnavailable; history, undo and restart work."""
    require_oci(node)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    with workspace(kubectl, "roll") as ns:
        res = kubectl.ok("apply", "-f", "-", stdin=deployment_yaml("web", ns, 3, strategy=strategy))
        assert res.out.strip() == "deployment.apps/web created"
        rollout_status(kubectl, ns, "web")
        dep = get_json(kubectl, "deploy", "web", "-n", ns)
        (first_name,) = replica_sets(kubectl, ns)
        first = replica_sets(kubectl, ns)[first_name]
        status = dep["status"]
        assert status["observedGeneration"] == dep["metadata"]["generation"]
        assert (status["replicas"], status["updatedReplicas"]) == (3, 3)
        assert (status["readyReplicas"], status["availableReplicas"]) == (3, 3)
        assert "unavailableReplicas" not in status
        available = condition(dep, "Available")
        assert (available["status"], available["reason"], available["message"]) == (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
        progressing = condition(dep, "Progressing")
        assert (progressing["status"], progressing["reason"], progressing["message"]) == (
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{first_name}" has successfully progressed.',
        )
        assert dep["metadata"]["annotations"][REVISION] == "1"
        template_hash = first["metadata"]["labels"][HASH]
        assert first_name == f"web-{template_hash}"
        assert first["spec"]["selector"]["matchLabels"] == {"app": "web", HASH: template_hash}
        assert first["metadata"]["annotations"][REVISION] == "1"
        assert first["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "3"
        assert first["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "4"
        (ref,) = first["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == (
            "Deployment",
            "web",
            dep["metadata"]["uid"],
            True,
        )
        assert all(
            p["metadata"]["labels"][HASH] == template_hash for p in live_pods(kubectl, ns, "web")
        )

        with watching(kubectl, "rs", "-n", ns) as events:
            wait_for(events, what="the ReplicaSet watch to list")
            kubectl.ok("set", "image", "deployment/web", "app=busybox:1.37", "-n", ns)
            kubectl.ok("annotate", "deployment/web", "-n", ns, "kubernetes.io/change-cause=to 1.37")
            out = rollout_status(kubectl, ns, "web")
            seen = events()
        assert "new replicas have been updated" in out or "old replicas are pending" in out
        sizes: dict[str, int] = {}
        avail: dict[str, int] = {}
        steady = False
        for event in seen:
            rs = event["object"]
            sizes[rs["metadata"]["name"]] = rs["spec"]["replicas"]
            avail[rs["metadata"]["name"]] = rs["status"].get("availableReplicas", 0)
            assert sum(sizes.values()) <= 4, f"maxSurge exceeded: {sizes}"
            steady = steady or sum(avail.values()) >= 3
            if steady:
                assert sum(avail.values()) >= 3, f"maxUnavailable exceeded: {avail}"
        assert len(sizes) == 2 and max(sizes.values()) == 3

        after = replica_sets(kubectl, ns)
        assert after[first_name]["spec"]["replicas"] == 0, "the old ReplicaSet is kept, empty"
        (second_name,) = set(after) - {first_name}
        assert after[second_name]["metadata"]["annotations"][REVISION] == "2"
        assert after[second_name]["spec"]["template"]["spec"]["containers"][0]["image"] == (
            "busybox:1.37"
        )
        history = kubectl.ok("rollout", "history", "deployment/web", "-n", ns).out
        assert history.split("\n")[0].strip() == "deployment.apps/web"
        rows = [line.split(None, 1) for line in history.strip().splitlines()[1:]]
        assert rows == [["REVISION", "CHANGE-CAUSE"], ["1", "<none>"], ["2", "to 1.37"]]

        undo = kubectl.ok("rollout", "undo", "deployment/web", "-n", ns)
        assert undo.out.strip() == "deployment.apps/web rolled back"
        rollout_status(kubectl, ns, "web")
        after = replica_sets(kubectl, ns)
        assert set(after) == {first_name, second_name}, "undo revives the old ReplicaSet"
        revived = after[first_name]["metadata"]["annotations"]
        assert (revived[REVISION], revived["deployment.kubernetes.io/revision-history"]) == (
            "3",
            "1",
        )
        assert (after[first_name]["spec"]["replicas"], after[second_name]["spec"]["replicas"]) == (
            3,
            0,
        )
        dep = get_json(kubectl, "deploy", "web", "-n", ns)
        assert dep["metadata"]["annotations"][REVISION] == "3"
        assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.36"
        history = kubectl.ok("rollout", "history", "deployment/web", "-n", ns).out
        assert [line.split()[0] for line in history.strip().splitlines()[2:]] == ["2", "3"]

        before = {p["metadata"]["name"] for p in live_pods(kubectl, ns, "web")}
        restart = kubectl.ok("rollout", "restart", "deployment/web", "-n", ns)
        assert restart.out.strip() == "deployment.apps/web restarted"
        rollout_status(kubectl, ns, "web")
        pods = wait_for(
            lambda: len(p := live_pods(kubectl, ns, "web")) == 3 and p, what="3 pods after restart"
        )
        assert not before & {p["metadata"]["name"] for p in pods}, "restart replaces every pod"
        newest = max(
            replica_sets(kubectl, ns).values(),
            key=lambda rs: int(rs["metadata"]["annotations"][REVISION]),
        )
        assert newest["metadata"]["annotations"][REVISION] == "4"
        annotations = newest["spec"]["template"]["metadata"]["annotations"]
        assert "kubectl.kubernetes.io/restartedAt" in annotations


def test_scale_pause_and_resume(kubectl: Kubectl, node: Node) -> None:
    """Scaling goes 3→1→3; paused, it scales but does not roll; resume rolls; delete cascades."""
    with workspace(kubectl, "pause") as ns:
        kubectl.ok("apply", "-f", "-", stdin=deployment_yaml("api", ns, 3))
        rollout_status(kubectl, ns, "api")
        (rs_name,) = replica_sets(kubectl, ns)
        for replicas in (1, 3):
            res = kubectl.ok("scale", "deployment/api", "-n", ns, f"--replicas={replicas}")
            assert res.out.strip() == "deployment.apps/api scaled"
            rollout_status(kubectl, ns, "api")
            wait_for(pod_count_is(kubectl, ns, "api", replicas), what=f"{replicas} pods")
            assert replica_sets(kubectl, ns)[rs_name]["spec"]["replicas"] == replicas
            dep = get_json(kubectl, "deploy", "api", "-n", ns)
            assert dep["status"]["availableReplicas"] == replicas
        described = kubectl.ok("describe", "deployment/api", "-n", ns).out
        for line in (
            f"Scaled up replica set {rs_name} from 0 to 3",
            f"Scaled down replica set {rs_name} from 3 to 1",
            f"Scaled up replica set {rs_name} from 1 to 3",
        ):
            assert line in described, described
        assert f"NewReplicaSet:   {rs_name} (3/3 replicas created)" in described

        assert kubectl.ok("rollout", "pause", "deployment/api", "-n", ns).out.strip() == (
            "deployment.apps/api paused"
        )
        kubectl.ok("set", "env", "deployment/api", "-n", ns, "MODE=paused")
        kubectl.ok("scale", "deployment/api", "-n", ns, "--replicas=2")

        def observed() -> dict[str, Any] | None:
            dep: dict[str, Any] = get_json(kubectl, "deploy", "api", "-n", ns)
            gen = dep["metadata"]["generation"]
            return dep if dep["status"].get("observedGeneration") == gen else None

        dep = wait_for(observed, what="the paused spec observed")
        paused = condition(dep, "Progressing")
        assert (paused["status"], paused["reason"], paused["message"]) == (
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
        )
        wait_for(
            lambda: replica_sets(kubectl, ns)[rs_name]["spec"]["replicas"] == 2,
            what="the paused deployment scaled to 2",
        )
        assert list(replica_sets(kubectl, ns)) == [rs_name], "no rollout while paused"

        assert kubectl.ok("rollout", "resume", "deployment/api", "-n", ns).out.strip() == (
            "deployment.apps/api resumed"
        )
        rollout_status(kubectl, ns, "api")
        after = replica_sets(kubectl, ns)
        assert len(after) == 2 and after[rs_name]["spec"]["replicas"] == 0
        (new_name,) = set(after) - {rs_name}
        assert after[new_name]["spec"]["replicas"] == 2
        env = after[new_name]["spec"]["template"]["spec"]["containers"][0]["env"]
        assert env == [{"name": "MODE", "value": "paused"}]

        kubectl.ok("delete", "deployment/api", "-n", ns)
        wait_for(
            lambda: not replica_sets(kubectl, ns) and not live_pods(kubectl, ns, "api"),
            timeout=30,
            what="the deployment's ReplicaSets and pods collected",
        )


def test_recreate_stops_old_pods_before_starting_new(kubectl: Kubectl, node: Node) -> None:
    """With Recreate, every old pod has stopped before the first new one is created."""
    with workspace(kubectl, "recreate") as ns:
        body = deployment_yaml("job", ns, 2, strategy={"type": "Recreate"})
        kubectl.ok("apply", "-f", "-", stdin=body)
        rollout_status(kubectl, ns, "job")
        old = {p["metadata"]["name"] for p in live_pods(kubectl, ns, "job")}
        assert len(old) == 2
        with watching(kubectl, "pods", "-n", ns) as events:
            wait_for(events, what="the pod watch to list")
            kubectl.ok("set", "image", "deployment/job", "app=busybox:1.37", "-n", ns)
            rollout_status(kubectl, ns, "job")
            seen = events()
        order = [(e["type"], e["object"]["metadata"]["name"]) for e in seen]
        # An old pod is finished when it reaches a terminal phase (its containers are
        # stopped; upstream's Recreate goes on then) or, at the latest, when it is deleted.
        finished_at = {
            name: min((i for i, e in enumerate(seen) if finished(e, name)), default=len(seen))
            for name in old
        }
        created_at = [
            i for i, (kind, name) in enumerate(order) if kind == "ADDED" and name not in old
        ]
        assert len(created_at) == 2, order
        assert max(finished_at.values()) < min(created_at), (
            f"new pods before old ones were finished: {order}"
        )


def finished(event: dict[str, Any], name: str) -> bool:
    pod = event["object"]
    if pod["metadata"]["name"] != name:
        return False
    return event["type"] == "DELETED" or pod["status"].get("phase") in ("Succeeded", "Failed")


def test_progress_deadline_exceeded_fails_rollout_status(kubectl: Kubectl, node: Node) -> None:
    """A pod that never gets ready makes rollout status fail with the deadline message."""
    never_ready = {"exec": {"command": ["/bin/false"]}, "periodSeconds": 1}
    with workspace(kubectl, "deadline") as ns:
        body = deployment_yaml("slow", ns, 1, readiness=never_ready, progressDeadlineSeconds=3)
        kubectl.ok("apply", "-f", "-", stdin=body)
        res = kubectl("rollout", "status", "deployment/slow", "-n", ns, "--timeout=60s", timeout=90)
        assert res.rc != 0
        assert 'error: deployment "slow" exceeded its progress deadline' in res.err
        dep = get_json(kubectl, "deploy", "slow", "-n", ns)
        (rs_name,) = replica_sets(kubectl, ns)
        progressing = condition(dep, "Progressing")
        assert (progressing["status"], progressing["reason"], progressing["message"]) == (
            "False",
            "ProgressDeadlineExceeded",
            f'ReplicaSet "{rs_name}" has timed out progressing.',
        )
        available = condition(dep, "Available")
        assert (available["status"], available["reason"]) == (
            "False",
            "MinimumReplicasUnavailable",
        )
        assert dep["status"]["unavailableReplicas"] == 1
