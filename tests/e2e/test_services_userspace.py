"""Services through the userspace proxy: a crashed pod costs no failed request.

One real node (oci runtime, ``--proxy-mode userspace``) for the module. Three pods run
a tiny Python HTTP server on the host's root that answers with its pod's hostname (the
pod name) and, on ``/crash``, answers and then exits at once, as a crashing server does;
the kubelet restarts it. Requests go from the host to the ClusterIP, one new connection
each, back to back. The crash is requested directly on the pod's IP between two proxied
requests, so no proxied connection is in flight when the process dies: what the proxy
must absorb is every later connect to the dead pod being refused, until its readiness
takes it out of the Service and the restart brings it back.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.service_support import READY_FILE, hostname_server
from tests.e2e.test_kubelet_support import kubectl_for, require_oci, unique

pytestmark = pytest.mark.e2e

SERVER = hostname_server(crashable=True)
PODS = ("web-a", "web-b", "web-c")


def pod(name: str) -> dict[str, Any]:
    ctr = {
        "name": "app",
        "image": "python",
        "command": ["python3", "-c", SERVER],
        "readinessProbe": READY_FILE,
        "volumeMounts": [{"name": "state", "mountPath": "/state"}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [ctr],
            "volumes": [{"name": "state", "emptyDir": {}}],
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    n = Node(tmp_path_factory.mktemp("node"))
    res = n.up("--proxy-mode", "userspace")
    assert res.rc == 0, f"kubeproc up failed: {res.err}{res.out}"
    try:
        yield n
    finally:
        down = n.down()
        assert down.rc == 0, down.err


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl, node: Node) -> str:
    """The test namespace; not cleaned up: the node is stopped with it."""
    require_oci(node)
    name = unique("svc-us")
    kubectl.ok("create", "namespace", name)
    objects = [*(pod(p) for p in PODS), SERVICE]
    kubectl.ok("apply", "-n", name, "-f", "-", stdin=yaml.safe_dump_all(objects))
    return name


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl.ok("get", *args, "-o", "json").out)


def ask(ip: str, port: int = 80, path: str = "/", timeout: float = 3.0) -> str | None:
    """One HTTP request on a new connection: the answering pod's name, None on failure."""
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def refused(ip: str, port: int) -> bool:
    try:
        socket.create_connection((ip, port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def pod_status(node: Node, ns: str, name: str) -> dict[str, Any]:
    """The pod's status straight from the API (cheaper than kubectl inside a hot loop)."""
    res = node.http("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    status: dict[str, Any] = res.json().get("status", {})
    return status


def restarts(status: dict[str, Any]) -> int:
    return sum(int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or [])


def is_ready(status: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def test_node_runs_the_userspace_proxy(node: Node) -> None:
    """``--proxy-mode userspace`` is what the node reports running."""
    log = (node.data_dir / "kubeproc.log").read_text()
    assert "service proxy mode=userspace" in log, log[-2000:]


def test_crashing_pod_costs_no_failed_request(kubectl: Kubectl, ns: str, node: Node) -> None:
    """Requests through the ClusterIP see zero failures while a pod crashes and restarts."""
    wait_for(
        lambda: all(is_ready(pod_status(node, ns, p)) for p in PODS),
        timeout=60,
        interval=0.3,
        what="three ready pods",
    )
    ip = get_json(kubectl, "service", "web", "-n", ns)["spec"]["clusterIP"]
    wait_for(
        lambda: set(PODS) <= {ask(ip) for _ in range(12)},
        timeout=20,
        what="every pod answering through the ClusterIP",
    )
    victim = "web-a"
    victim_ip = pod_status(node, ns, victim)["podIP"]
    restarts_before = restarts(pod_status(node, ns, victim))

    answers: Counter[str | None] = Counter()
    failures: list[tuple[int, float]] = []
    crashed_at = back_at = None
    after_back = outage = 0
    deadline = time.monotonic() + 40
    for i in range(3000):
        if time.monotonic() > deadline or after_back >= 60:
            break
        if i == 30:
            # Between two proxied requests, so nothing proxied is in flight to the victim;
            # then wait until its process is gone (its port refuses, or the kubelet has
            # seen it exit): a connection the dying process's kernel socket accepted
            # would be lost whatever the proxy did.
            assert ask(victim_ip, 8080, "/crash") == victim
            wait_for(
                lambda: (
                    refused(victim_ip, 8080)
                    or restarts(pod_status(node, ns, victim)) > restarts_before
                ),
                timeout=10,
                interval=0.001,
                what=f"{victim}'s server gone",
            )
            crashed_at = time.monotonic()
        answer = ask(ip)
        answers[answer] += 1
        if answer is None:
            failures.append((i, time.monotonic() - (crashed_at or time.monotonic())))
        if back_at is not None:
            after_back += 1
        elif crashed_at is not None and i % 5 == 0 and ask(victim_ip, 8080) == victim:
            back_at, outage = time.monotonic(), i - 30
    total = sum(answers.values())
    print(
        f"\nuserspace proxy: {total} requests, answers {dict(answers)}; {victim} served "
        f"again {(back_at or 0) - (crashed_at or 0):.2f} s after its crash, "
        f"{outage} proxied requests meanwhile"
    )
    assert answers[None] == 0, (answers, failures)
    assert back_at is not None, f"{victim} did not come back within the loop: {answers}"
    assert restarts(pod_status(node, ns, victim)) > restarts_before
    assert set(answers) == set(PODS), answers
    assert min(answers.values()) >= 10, answers


def test_down_removes_the_service_route(kubectl: Kubectl, ns: str, node: Node) -> None:
    """After ``kubeproc down`` the local route for the Service CIDR is gone."""
    assert node.service_cidr in local_routes()
    res = node.down()
    assert res.rc == 0, res.err
    assert node.service_cidr not in local_routes()


def local_routes() -> str:
    return subprocess.run(
        ["ip", "route", "show", "table", "local"], capture_output=True, text=True, check=False
    ).stdout
