"""Everything in the store survives the node: ``down`` then ``up``, or a SIGKILL then ``up``.

Objects come back byte for byte (same resourceVersion, same uid); the revision keeps
counting from where it was; a watch resumes across the restart. Only what the node itself
rewrites on every start or heartbeat (its Node status and its Lease) may differ.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, Node, kubectl_binaries, wait_for
from tests.e2e.test_kubelet_support import container_pid

pytestmark = pytest.mark.e2e

VERSIONS = kubectl_binaries(min_minor=29)

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata:
  name: keep
  labels: {purpose: persistence}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: keep
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      # Bound where no kubelet runs, like solo: ``down`` stops the pods this node runs,
      # which rewrites their status; this test is about the stored objects.
      nodeName: node-without-kubelet
      containers:
      - name: main
        image: nginx:1.25
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: keep
data: {color: blue, size: "3"}
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: keep
stringData: {password: hunter2}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: keep
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: keep
spec:
  nodeName: node-without-kubelet  # the store is under test here, not this node's kubelet
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
"""

KINDS = "namespaces,deployments,configmaps,secrets,services,serviceaccounts,pods"

# The node re-registers its Node and renews its Lease on every start: these fields of those
# two objects move on their own. Nothing else may change.
NODE_OWNED = {("", "nodes"), ("coordination.k8s.io", "leases")}


@pytest.fixture
def kubectl_binary() -> Path:
    if not VERSIONS:
        pytest.skip("no kubectl 1.29+ installed")
    return VERSIONS[max(VERSIONS, key=lambda v: int(v.split(".")[1]))]


def process_running(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by init) has stopped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


COMPUTED_GROUPS = {"metrics.k8s.io"}
"""Served but not stored (figures sampled on demand, as metrics-server's): nothing persists."""


def listable(node: Node) -> list[tuple[str, str, str]]:
    """(group, version, plural) of every listable resource, from discovery."""
    versions = [("", "v1")]
    for group in node.http("GET", "/apis").json()["groups"]:
        if group["name"] in COMPUTED_GROUPS:
            continue
        versions += [(group["name"], v["version"]) for v in group["versions"]]
    found = []
    for group, version in versions:
        path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        for res in node.http("GET", path).json()["resources"]:
            if "/" not in res["name"] and "list" in res["verbs"]:
                found.append((group, version, res["name"]))
    return found


def everything(node: Node) -> tuple[dict[tuple[str, ...], dict[str, Any]], int]:
    """Every stored object by (group, version, plural, namespace, name); the top list RV."""
    objects: dict[tuple[str, ...], dict[str, Any]] = {}
    top = 0
    for group, version, plural in listable(node):
        path = f"/api/{version}/{plural}" if not group else f"/apis/{group}/{version}/{plural}"
        res = node.http("GET", path)
        assert res.status == 200, (path, res.body[:200])
        body = res.json()
        top = max(top, int(body["metadata"]["resourceVersion"]))
        for item in body["items"]:
            meta = item["metadata"]
            key = (group, version, plural, meta.get("namespace", ""), meta["name"])
            objects[key] = item
    return objects, top


def comparable(key: tuple[str, ...], obj: dict[str, Any]) -> Any:
    """The object without the fields its owner legitimately rewrites on a restart."""
    if (key[0], key[2]) not in NODE_OWNED:
        return obj
    obj = json.loads(json.dumps(obj))
    meta = obj["metadata"]
    del meta["resourceVersion"]
    for entry in meta.get("managedFields", []):
        entry.pop("time", None)
    obj.get("spec", {}).pop("renewTime", None)  # the Lease's heartbeat
    obj.get("status", {}).pop("daemonEndpoints", None)  # the kubelet's port, new each start
    for condition in obj.get("status", {}).get("conditions", []):
        condition.pop("lastHeartbeatTime", None)
        # Kept apart: test_node_conditions_keep_their_transition_times_across_a_restart.
        condition.pop("lastTransitionTime", None)
    return obj


def kubectl_items(kubectl: Kubectl) -> dict[tuple[str, str, str], dict[str, Any]]:
    items = kubectl.ok("get", KINDS, "-A", "-o", "json").json()["items"]
    return {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in items
    }


def settled(kubectl: Kubectl) -> bool:
    """The controllers are done with the manifests.

    The default SA exists; the Deployment and its ReplicaSet have observed their spec and
    made the two pods; every pod is bound.
    """
    sa = kubectl("get", "serviceaccount", "default", "-n", "keep", "-o", "name")
    got = kubectl("get", "deployments,replicasets,pods", "-n", "keep", "-o", "json")
    if sa.rc != 0 or got.rc != 0:
        return False
    items = got.json()["items"]
    pods = [o for o in items if o["kind"] == "Pod"]
    owners = [o for o in items if o["kind"] in ("Deployment", "ReplicaSet")]
    return (
        len(pods) == 3
        and all(p["spec"].get("nodeName") for p in pods)
        and len(owners) == 2
        and all(
            o["status"].get("observedGeneration") == o["metadata"]["generation"]
            and o["status"].get("replicas") == 2
            for o in owners
        )
    )


@contextlib.contextmanager
def open_watch(node: Node) -> Iterator[ssl.SSLSocket]:
    """A raw watch on configmaps, its response headers read, left open."""
    ctx = ssl.create_default_context(cafile=str(node.data_dir / "pki" / "ca.crt"))
    raw = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(
            b"GET /api/v1/configmaps?watch=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {node.token()}\r\n\r\n".encode()
        )
        assert tls.recv(64).startswith(b"HTTP/1.1 200")
        yield tls


def read_to_end(sock: ssl.SSLSocket) -> bool:
    """True once the peer has closed the stream (EOF or reset) within the socket's timeout."""
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True  # reset, or the TLS session cut short: ended all the same
    return True


def test_objects_survive_down_and_up_with_the_same_resource_versions_and_uids(
    fresh_node: Node, kubectl_binary: Path
) -> None:
    """After down and an immediate up on the same data dir and port, every object is as it was.

    The revision then goes on from where it was, and a watch from before the restart
    resumes after it.
    """
    node = fresh_node
    kubectl = Kubectl(kubectl_binary, node, node.home / "kubectl")
    assert node.up().rc == 0
    kubectl.ok("apply", "-f", "-", stdin=MANIFESTS)
    wait_for(lambda: settled(kubectl), timeout=30, what="controllers to settle")
    before_kubectl = kubectl_items(kubectl)
    before, top_before = everything(node)
    cm_list_rv = node.http("GET", "/api/v1/namespaces/keep/configmaps").json()["metadata"][
        "resourceVersion"
    ]
    assert ("Deployment", "keep", "web") in before_kubectl
    assert ("Secret", "keep", "creds") in before_kubectl

    with open_watch(node) as watch:  # a client still watching does not hold the node up
        down = node.down()
        assert down.rc == 0, down.err
        assert read_to_end(watch), "the watch stream did not end with the node"
    up = node.up()  # at once, on the same port: the listener reuses the address
    assert up.rc == 0, f"quick restart on port {node.port} failed: {up.err}"

    after_kubectl = kubectl_items(kubectl)
    assert after_kubectl.keys() == before_kubectl.keys()
    for key, obj in before_kubectl.items():
        assert after_kubectl[key] == obj, f"{key} changed across the restart"
    after, _ = everything(node)
    assert after.keys() == before.keys()
    for key, obj in before.items():
        assert comparable(key, after[key]) == comparable(key, obj), f"{key} changed"

    created = kubectl.ok("create", "configmap", "after", "-n", "keep", "-o", "json").json()
    rv = int(created["metadata"]["resourceVersion"])
    highest = max(int(o["metadata"]["resourceVersion"]) for o in before.values())
    assert rv > max(highest, top_before), "the revision went back after the restart"

    # A watch from a resourceVersion of before the restart resumes: it sees only the new one.
    res = node.http(
        "GET",
        f"/api/v1/namespaces/keep/configmaps?watch=1&resourceVersion={cm_list_rv}&timeoutSeconds=1",
    )
    assert res.status == 200, res.body[:300]
    events = [json.loads(line) for line in res.body.splitlines() if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "after")]


def test_a_node_killed_with_sigkill_starts_again_with_its_objects(
    fresh_node: Node, kubectl_binary: Path
) -> None:
    """After SIGKILL (no cleanup at all) up succeeds on the same data dir, objects intact."""
    node = fresh_node
    kubectl = Kubectl(kubectl_binary, node, node.home / "kubectl")
    assert node.up().rc == 0
    created = kubectl.ok("create", "configmap", "survivor", "--from-literal=k=v", "-o", "json")
    before = created.json()["metadata"]
    pid = int((node.data_dir / "kubeproc.pid").read_text())

    bridge = _bridge_of(node)
    kubectl.ok("apply", "-f", "-", stdin=json.dumps(_SLEEPER))
    wait_for(
        lambda: "running" in (_container_state(kubectl) or {}),
        timeout=60,
        what="the pod's container running",
    )
    container = container_pid(node, kubectl.ok("get", "pod", "sleeper", "-o", "json").json())

    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not process_running(pid), timeout=20, what="the killed node to exit")
    assert (node.data_dir / "kubeproc.pid").exists(), "expected the stale pid file of a crash"
    assert process_running(container), "the pod's container outlives its node, under conmon"
    # down stops what the dead node left running: the pod, its namespace, the bridge.
    down = node.down()
    assert down.out.startswith("no kubeproc node is running"), down.out + down.err
    assert "removed what the last one left running" in down.out, down.out
    assert not process_running(container)
    assert not [n for n in _netns() if n.startswith(f"{bridge}-")]
    assert not Path(f"/sys/class/net/{bridge}").exists()
    up = node.up()
    assert up.rc == 0, up.err
    assert int((node.data_dir / "kubeproc.pid").read_text()) != pid
    meta = kubectl.ok("get", "configmap", "survivor", "-o", "json").json()["metadata"]
    assert (meta["uid"], meta["resourceVersion"]) == (before["uid"], before["resourceVersion"])


def test_node_conditions_keep_their_transition_times_across_a_restart(fresh_node: Node) -> None:
    """A pressure condition that did not change keeps its lastTransitionTime over down and up.

    Ready is left out: the kubelet stops with the node, so Ready really does go False and
    back, as on a real node whose kubelet restarts.
    """
    node = fresh_node

    def transitions() -> dict[str, str]:
        (item,) = node.http("GET", "/api/v1/nodes").json()["items"]
        return {
            c["type"]: c["lastTransitionTime"]
            for c in item["status"]["conditions"]
            if c["type"] != "Ready"
        }

    assert node.up().rc == 0
    before = transitions()
    # Condition times have second precision: make a reset visible.
    first = max(before.values())
    wait_for(lambda: rfc3339_now() > first, timeout=5, what="the clock to pass a second")
    assert node.down().rc == 0
    assert node.up().rc == 0
    assert transitions() == before


def rfc3339_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


_SLEEPER = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "sleeper", "namespace": "default"},
    "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}],
    },
}


def _container_state(kubectl: Kubectl) -> dict[str, Any] | None:
    pod = kubectl.ok("get", "pod", "sleeper", "-o", "json").json()
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    state: dict[str, Any] | None = statuses[0].get("state")
    return state


def _bridge_of(node: Node) -> str:
    for line in (node.data_dir / "kubeproc.log").read_text().splitlines():
        if "oci runtime ready" in line:
            return line.split(" bridge=")[1].split()[0]
    raise AssertionError("the node runs no oci runtime")


def _netns() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
