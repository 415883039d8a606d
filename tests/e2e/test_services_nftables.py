"""Services through the nftables proxy: VIPs, node ports and load balancers reach ready pods.

One real node (oci runtime, nftables proxy) for the module. A module fixture creates
every pod and Service at once in one namespace; the pods run a tiny Python HTTP server on
the host's root that answers with its pod's hostname (the pod name). Requests go from
the host (this process, ``curl``) or from inside a pod (``kubectl exec ... python3``).
Readiness is an exec probe ``cat /tmp/ready``. The readiness cases measure how long a
change takes to reach the rules (``pytest -s`` prints it). The last case stops the node
and checks that its table, routes and sysctl are gone.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.service_support import READY_FILE, hostname_server
from tests.e2e.test_kubelet_support import kubectl_for, require_oci, unique

pytestmark = pytest.mark.e2e

SERVER = hostname_server(crashable=False)
SETTLE = 0.5
"""Bound for a change to reach the rules: typically milliseconds, with room for a busy box."""
NEVER_READY = {"exec": {"command": ["cat", "/tmp/never"]}, "periodSeconds": 1}


def pod(name: str, labels: dict[str, str], probe: dict[str, Any] = READY_FILE) -> dict[str, Any]:
    ctr = {
        "name": "app",
        "image": "python",
        "command": ["python3", "-c", SERVER],
        "readinessProbe": probe,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [ctr]},
    }


def service(name: str, selector: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}], **spec},
    }


OBJECTS = [
    pod("web-a", {"app": "web", "solo": "a"}),
    pod("web-b", {"app": "web", "other": "b"}),
    pod("web-c", {"app": "web"}, NEVER_READY),
    pod("flip-a", {"app": "flip"}),
    pod("flip-b", {"app": "flip"}),
    service("web", {"app": "web"}),
    service("empty", {"app": "nobody"}),
    service("np", {"app": "web"}, type="NodePort"),
    service("lb", {"app": "web"}, type="LoadBalancer"),
    service(
        "sticky",
        {"app": "web"},
        sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}},
    ),
    service("solo", {"solo": "a"}),
    service("other", {"other": "b"}),
    service("flip", {"app": "flip"}),
]


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl, node: Node) -> str:
    """The test namespace; not cleaned up: the last case stops the node, which drains it."""
    require_oci(node)
    name = unique("svc-nft")
    kubectl.ok("create", "namespace", name)
    kubectl.ok("apply", "-n", name, "-f", "-", stdin=yaml.safe_dump_all(OBJECTS))
    return name


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl.ok("get", *args, "-o", "json").out)


def cluster_ip(kubectl: Kubectl, ns: str, svc: str) -> str:
    ip: str = get_json(kubectl, "service", svc, "-n", ns)["spec"]["clusterIP"]
    return ip


def ask(ip: str, port: int = 80, timeout: float = 2.0) -> str | None:
    """One HTTP request on a new connection: the answering pod's name, None on failure."""
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", "/")
        return conn.getresponse().read().decode()
    except OSError:
        return None
    finally:
        conn.close()


def answers(ip: str, n: int, port: int = 80) -> Counter[str | None]:
    return Counter(ask(ip, port) for _ in range(n))


def wait_ready(kubectl: Kubectl, ns: str, *pods: str) -> None:
    def ready() -> bool:
        items = get_json(kubectl, "pods", "-n", ns)["items"]
        by_name = {p["metadata"]["name"]: p for p in items}
        return all(
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in by_name.get(name, {}).get("status", {}).get("conditions", [])
            )
            for name in pods
        )

    wait_for(ready, timeout=60, interval=0.3, what=f"pods {pods} ready")


def table_name(node: Node) -> str:
    log = (node.data_dir / "kubeproc.log").read_text()
    for line in log.splitlines():
        if "service proxy mode=nftables" in line:
            return line.split("table=")[1].split()[0]
    raise AssertionError("the node runs no nftables proxy:\n" + log[-2000:])


def proxy_addresses(node: Node) -> tuple[str, str, str]:
    """(bridge, gateway, proxy source) of the node, from its log."""
    log = (node.data_dir / "kubeproc.log").read_text()
    line = next(x for x in log.splitlines() if "service proxy mode=nftables" in x)
    bridge = line.split("dev=")[1].split()[0]
    source = line.split("source=")[1].split()[0]
    gateway = str(ipaddress.ip_network(node.pod_cidr).network_address + 1)
    return bridge, gateway, source


def test_cluster_ip_reaches_only_ready_pods_and_spreads(kubectl: Kubectl, ns: str) -> None:
    """From the host, the ClusterIP answers from both ready pods, never the unready one."""
    wait_ready(kubectl, ns, "web-a", "web-b")
    ip = cluster_ip(kubectl, ns, "web")
    seen = wait_for(
        lambda: (c := answers(ip, 40)) and {"web-a", "web-b"} <= set(c) and c,
        timeout=20,
        what="both web pods answer",
    )
    assert set(seen) == {"web-a", "web-b"}, seen
    assert min(seen["web-a"], seen["web-b"]) >= 5, seen


def test_service_without_endpoints_refuses_at_once(kubectl: Kubectl, ns: str) -> None:
    """curl to a Service with no ready endpoint fails with 'connection refused' at once."""
    ip = cluster_ip(kubectl, ns, "empty")
    started = time.monotonic()
    res = subprocess.run(
        ["curl", "-sS", "--max-time", "5", f"http://{ip}:80/"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert res.returncode == 7, res.stderr
    assert elapsed < 1.0, elapsed
    # A port the Service does not have, and an address no Service has, refuse too.
    for url in (f"http://{ip}:81/", f"http://{_unallocated(kubectl, ns)}:80/"):
        res = subprocess.run(
            ["curl", "-sS", "--max-time", "5", url], capture_output=True, text=True, check=False
        )
        assert res.returncode == 7, (url, res.stderr)


def _unallocated(kubectl: Kubectl, ns: str) -> str:
    used = {s["spec"].get("clusterIP") for s in get_json(kubectl, "services", "-A")["items"]}
    cidr = ipaddress.ip_network(kubectl.node.service_cidr)
    return next(str(h) for h in reversed(list(cidr.hosts())) if str(h) not in used)


def test_node_port_answers_on_the_gateway(kubectl: Kubectl, ns: str, node: Node) -> None:
    """A NodePort Service answers on the node's bridge address at its node port."""
    wait_ready(kubectl, ns, "web-a", "web-b")
    node_port = get_json(kubectl, "service", "np", "-n", ns)["spec"]["ports"][0]["nodePort"]
    _, gateway, _ = proxy_addresses(node)
    got = wait_for(
        lambda: (c := answers(gateway, 20, node_port)) and None not in c and c,
        timeout=20,
        what="node port answers",
    )
    assert set(got) <= {"web-a", "web-b"}, got


def test_load_balancer_ingress_ip_reaches_the_pods(kubectl: Kubectl, ns: str) -> None:
    """A LoadBalancer Service answers on its status.loadBalancer.ingress IP."""
    wait_ready(kubectl, ns, "web-a", "web-b")

    def ingress() -> list[str]:
        status = get_json(kubectl, "service", "lb", "-n", ns).get("status", {})
        return [i["ip"] for i in status.get("loadBalancer", {}).get("ingress", []) if "ip" in i]

    try:
        ips = wait_for(ingress, timeout=5, what="lb ingress")
    except AssertionError:
        # No load-balancer controller on this node yet: fill the status as it would.
        body = {"status": {"loadBalancer": {"ingress": [{"ip": cluster_ip(kubectl, ns, "lb")}]}}}
        kubectl.ok(
            "patch", "service", "lb", "-n", ns, "--subresource=status", "--type=merge",
            "-p", json.dumps(body),
        )  # fmt: skip
        ips = wait_for(ingress, timeout=10, what="lb ingress")
    for ip in ips:
        got = wait_for(
            lambda ip=ip: (c := answers(ip, 10)) and None not in c and c,
            timeout=20,
            what=f"ingress {ip} answers",
        )
        assert set(got) <= {"web-a", "web-b"}, got


def test_client_ip_affinity_sticks(kubectl: Kubectl, ns: str) -> None:
    """sessionAffinity ClientIP: every request of one client reaches the same pod."""
    wait_ready(kubectl, ns, "web-a", "web-b")
    ip = cluster_ip(kubectl, ns, "sticky")
    first = wait_for(lambda: ask(ip), timeout=20, what="sticky answers")
    assert answers(ip, 30) == Counter({first: 30})


def _exec_get(kubectl: Kubectl, ns: str, pod_name: str, ip: str) -> str:
    code = (
        "import urllib.request;"
        f"print(urllib.request.urlopen('http://{ip}:80/', timeout=3).read().decode())"
    )
    res = kubectl("exec", pod_name, "-n", ns, "--", "python3", "-c", code, timeout=20)
    return res.out.strip() if res.rc == 0 else f"rc={res.rc} {res.err.strip()}"


def test_pod_reaches_another_pod_and_itself_through_a_cluster_ip(kubectl: Kubectl, ns: str) -> None:
    """From inside web-a, ClusterIPs reach web-b (other) and web-a itself (hairpin)."""
    wait_ready(kubectl, ns, "web-a", "web-b")
    other, solo = cluster_ip(kubectl, ns, "other"), cluster_ip(kubectl, ns, "solo")
    wait_for(lambda: ask(other) == "web-b" and ask(solo) == "web-a", what="services ready")
    assert _exec_get(kubectl, ns, "web-a", other) == "web-b"
    assert _exec_get(kubectl, ns, "web-a", solo) == "web-a"


class Requester(threading.Thread):
    """Requests ``ip`` back to back from the host, recording (time, answering pod)."""

    def __init__(self, ip: str) -> None:
        super().__init__(daemon=True)
        self.ip = ip
        self.log: list[tuple[float, str | None]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.log.append((time.monotonic(), ask(self.ip, timeout=1.0)))


def _slice_ready(node: Node, ns: str, svc: str, pod_name: str) -> bool | None:
    res = node.http(
        "GET",
        f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
        f"?labelSelector=kubernetes.io/service-name%3D{svc}",
    )
    for item in res.json().get("items", []):
        for ep in item.get("endpoints") or []:
            if (ep.get("targetRef") or {}).get("name") == pod_name:
                return bool((ep.get("conditions") or {}).get("ready", True))
    return None


def test_unready_pod_stops_receiving_within_milliseconds(
    kubectl: Kubectl, ns: str, node: Node
) -> None:
    """When a pod's readiness fails, requests stop reaching it as soon as its slice says so."""
    wait_ready(kubectl, ns, "flip-a", "flip-b")
    ip = cluster_ip(kubectl, ns, "flip")
    wait_for(lambda: {"flip-a", "flip-b"} <= set(answers(ip, 20)), what="both flip pods")
    requester = Requester(ip)
    requester.start()
    try:
        kubectl.ok("exec", "flip-a", "-n", ns, "--", "rm", "/tmp/ready")
        unready_at = wait_for(
            lambda: _slice_ready(node, ns, "flip", "flip-a") is False and time.monotonic(),
            timeout=20,
            interval=0.01,
            what="flip-a not ready in its slice",
        )
        wait_for(lambda: requester.log[-1][0] > unready_at + 0.5, timeout=10, what="requests")
    finally:
        requester.stop.set()
        requester.join()
    to_a = [t for t, who in requester.log if who == "flip-a"]
    late = [t - unready_at for t in to_a if t > unready_at]
    after = [who for t, who in requester.log if t > unready_at + SETTLE]
    print(
        f"\nreadiness: last request reaching flip-a {max(late, default=0) * 1000:.0f} ms after "
        f"the slice showed it unready (polled every 10 ms); "
        f"{len(requester.log)} requests, {len(to_a)} to flip-a"
    )
    assert after and set(after) == {"flip-b"}, Counter(after)
    assert max(late, default=0) < SETTLE


def test_slice_write_reaches_nft_within_milliseconds(kubectl: Kubectl, ns: str, node: Node) -> None:
    """An EndpointSlice written through the API is in the node's nftables rules at once."""
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "manual", "namespace": ns},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]},
    }
    kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump(svc))
    table = table_name(node)
    samples = []
    for i, ready in enumerate((True, False, True, False, True)):
        eps = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "manual-1",
                "namespace": ns,
                "labels": {"kubernetes.io/service-name": "manual"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "", "port": 8080 + i, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": ready}}],
        }
        written = time.monotonic()
        kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump(eps))
        applied = time.monotonic()
        needle = f"dnat to 10.0.0.1:{8080 + i}"
        seen = wait_for(
            lambda needle=needle, ready=ready: (
                (needle in _nft_list(table)) == ready and time.monotonic()
            ),
            timeout=10,
            interval=0.005,
            what=f"nft shows {needle} ready={ready}",
        )
        samples.append((seen - applied, seen - written))
    print(
        "\nslice write to nft: "
        + ", ".join(f"{a * 1000:.0f} ms (kubectl included {w * 1000:.0f} ms)" for a, w in samples)
    )
    assert min(a for a, _ in samples) < SETTLE


def sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def _nft_list(table: str) -> str:
    return sh("nft", "list", "table", "ip", table)


def test_down_removes_table_route_and_sysctl(kubectl: Kubectl, ns: str, node: Node) -> None:
    """After ``kubeproc down`` the node's table, service route and bridge sysctl are gone."""
    table = table_name(node)
    bridge, _, _ = proxy_addresses(node)
    assert table in sh("nft", "list", "tables")
    routes = sh("ip", "route")
    assert node.service_cidr in routes
    assert Path(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding").read_text().strip() == "1"
    res = node.down()
    assert res.rc == 0, res.err
    assert table not in sh("nft", "list", "tables")
    routes = sh("ip", "route")
    assert node.service_cidr not in routes and bridge not in routes, routes
    assert not Path(f"/proc/sys/net/ipv4/conf/{bridge}").exists()
