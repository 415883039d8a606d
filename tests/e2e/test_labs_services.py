"""Seed labs L3 and L6 through a Service, with the real kubectl and curl; the kubernetes Service.

One real node for the module. A module fixture applies the labs at once, each into its
own namespace: L3 as the user applies it (``kubectl apply -k``), L6 without probes as
the user applies it, and L6 with both probes from the lab's own manifests with the probe
timings and the warm-up shortened (the seed's 8 x 5 s thresholds alone would take the
module past two minutes; what the probes do is the same). Traffic goes from this host
to the load balancer's address or the cluster IP, the way the labs' ``curl`` and
``curl-test.sh`` send it, so the Service proxy is exercised end to end.

Each test polls with a deadline for what MISSION.md says the user must see, reading it
as a user would (``kubectl get``, ``describe``, the answers' hostnames). Every request
loop is bounded.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, squash, wait_for
from tests.e2e.test_kubelet_support import (
    container_status,
    get_pod,
    get_row,
    kubectl_for,
    namespace,
    require_oci,
)

pytestmark = [pytest.mark.e2e, pytest.mark.long]

ROOT = Path(__file__).resolve().parents[2]
LABS = ROOT / "examples" / "labs"
L6_SCRIPTS = LABS / "l6-simple-webapp"
HIT = re.compile(r"^You've hit (\S+)$")
# The L6 probe variant, shortened: what each probe decides is the seed's, only sooner.
FAST_READINESS = {"initialDelaySeconds": 1, "periodSeconds": 1, "failureThreshold": 2}
FAST_LIVENESS = {"initialDelaySeconds": 3, "periodSeconds": 1, "failureThreshold": 3}
FAST_WARM_UP = "3"


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


def l6_with_fast_probes(kubectl: Kubectl) -> str:
    """The L6 probe lab's objects with the probe timings and the warm-up shortened."""
    docs = list(
        yaml.safe_load_all(kubectl.ok("kustomize", str(LABS / "l6-simple-webapp-probes")).out)
    )
    for doc in docs:
        if doc["kind"] != "Pod":
            continue
        ctr = doc["spec"]["containers"][0]
        ctr["readinessProbe"].update(FAST_READINESS)
        ctr["livenessProbe"].update(FAST_LIVENESS)
        for env in ctr.get("env") or []:
            if env["name"] == "APP_START_DELAY":
                env["value"] = FAST_WARM_UP
    return yaml.safe_dump_all(docs)


@pytest.fixture(scope="module")
def labs(kubectl: Kubectl, node: Node) -> Iterator[dict[str, str]]:
    """L3, L6 and L6 with probes, each in a fresh namespace: {"l3": namespace, ...}."""
    require_oci(node)
    with contextlib.ExitStack() as stack:
        namespaces: dict[str, str] = {}
        for key in ("l3", "l6", "l6p"):
            namespaces[key] = stack.enter_context(namespace(kubectl, f"lab-{key}"))
        kubectl.ok("apply", "-k", str(LABS / "l3-readiness-service"), "-n", namespaces["l3"])
        kubectl.ok("apply", "-k", str(LABS / "l6-simple-webapp"), "-n", namespaces["l6"])
        kubectl.ok("apply", "-n", namespaces["l6p"], "-f", "-", stdin=l6_with_fast_probes(kubectl))
        # The RC would replace the pods ``namespace`` deletes on the way out: it goes first.
        stack.callback(
            lambda: kubectl("delete", "rc", "readiness-rc", "-n", namespaces["l3"], "--wait=false")
        )
        stack.callback(thaw_all)
        yield namespaces


# -- reading what the user reads -------------------------------------------------------


def curl(url: str, timeout: float = 2.0) -> str | None:
    """One request with the real curl: the body, or None (no answer in time, not 2xx)."""
    proc = subprocess.run(
        ["curl", "-s", "-f", "-m", str(timeout), url],
        capture_output=True,
        text=True,
        timeout=timeout + 5,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def hits(url: str, count: int) -> list[str | None]:
    """The pod names of ``count`` requests' ``You've hit`` answers (None for a failure)."""
    names: list[str | None] = []
    for _ in range(count):
        body = curl(url)
        m = HIT.match(body or "")
        names.append(m.group(1) if m else None)
    return names


def pods_of(kubectl: Kubectl, ns: str, selector: str) -> list[str]:
    res = kubectl.ok("get", "pods", "-n", ns, "-l", selector, "-o", "name")
    return sorted(line.removeprefix("pod/") for line in res.out.split())


def wait_row(kubectl: Kubectl, ns: str, pod: str, ready: str, timeout: float) -> list[str]:
    """Poll until the pod's row reads READY ``ready`` and STATUS Running."""
    row: list[str] = wait_for(
        lambda: (r := get_row(kubectl, ns, pod)) and r[1:3] == [ready, "Running"] and r,
        timeout=timeout,
        interval=0.3,
        what=f"{ns}/{pod} {ready} Running",
    )
    return row


def restart_count(kubectl: Kubectl, ns: str, pod: str) -> int:
    return int(container_status(get_pod(kubectl, ns, pod), "simple-webapp").get("restartCount", 0))


def slice_ready(kubectl: Kubectl, ns: str, service: str) -> dict[str, bool]:
    """Each endpoint of the Service's EndpointSlices by pod name: its ready condition."""
    res = kubectl.ok(
        "get",
        "endpointslices",
        "-n",
        ns,
        "-l",
        f"kubernetes.io/service-name={service}",
        "-o",
        "json",
    )
    return {
        e["targetRef"]["name"]: bool(e["conditions"].get("ready"))
        for s in res.json()["items"]
        for e in s.get("endpoints") or []
    }


def run_script(kubectl: Kubectl, ns: str, name: str, *args: str, count: int = 10) -> str:
    """One of the L6 lab's scripts, run as the user runs it (kubectl on PATH)."""
    env = {
        **os.environ,
        "KUBECONFIG": str(kubectl.node.kubeconfig),
        "HOME": str(kubectl.home),
        "NAMESPACE": ns,
        "COUNT": str(count),
        "PATH": f"{kubectl.binary.parent}:{os.environ.get('PATH', '')}",
    }
    proc = subprocess.run(
        [str(L6_SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=count * 3 + 30,
        env=env,
        check=False,
    )
    return proc.stdout


# -- stopping a container's process from the host ---------------------------------------

_STOPPED: list[int] = []


def container_pids(pod: dict[str, Any], container: str) -> list[int]:
    """The host pids in a container's cgroup (v1 ``pids`` hierarchy or v2)."""
    cid = container_status(pod, container)["containerID"].partition("://")[2]
    root = Path("/sys/fs/cgroup")
    for pattern in (f"pids/kubeproc-*/pod-*/{cid}", f"kubeproc-*/pod-*/{cid}"):
        for directory in root.glob(pattern):
            procs = (directory / "cgroup.procs").read_text().split()
            if procs:
                return [int(p) for p in procs]
    raise AssertionError(f"no cgroup with processes for container {cid}")


def freeze_with_sigstop(pod: dict[str, Any], container: str) -> None:
    for pid in container_pids(pod, container):
        os.kill(pid, signal.SIGSTOP)
        _STOPPED.append(pid)


def thaw_all() -> None:
    while _STOPPED:
        with contextlib.suppress(ProcessLookupError):
            os.kill(_STOPPED.pop(), signal.SIGCONT)


# -- the kubernetes Service -------------------------------------------------------------


@pytest.mark.usefixtures("labs")  # the labs' pods start meanwhile
def test_kubernetes_service_as_kube_apiserver_keeps_it(kubectl: Kubectl, node: Node) -> None:
    """ClusterIP at the CIDR's first address, https 443 → the API port; recreated if deleted."""
    first = str(ipaddress.ip_network(node.service_cidr).network_address + 1)
    gateway = str(ipaddress.ip_network(node.pod_cidr).network_address + 1)
    row = squash(kubectl.ok("get", "svc", "kubernetes", "-n", "default", "--no-headers").out)
    assert row.split()[:5] == ["kubernetes", "ClusterIP", first, "<none>", "443/TCP"]
    svc = kubectl.ok("get", "svc", "kubernetes", "-n", "default", "-o", "json").json()
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    assert svc["spec"]["ports"] == [
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": node.port}
    ]
    ep_row = kubectl.ok("get", "endpoints", "kubernetes", "-n", "default", "--no-headers").out
    assert ep_row.split()[1] == f"{gateway}:{node.port}"
    eps = kubectl.ok("get", "endpointslice", "kubernetes", "-n", "default", "-o", "json").json()
    assert eps["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert [e["addresses"] for e in eps["endpoints"]] == [[gateway]]

    kubectl.ok("delete", "svc", "kubernetes", "-n", "default")
    wait_for(
        lambda: kubectl("get", "svc", "kubernetes", "-n", "default", "--no-headers").rc == 0,
        timeout=25,
        interval=0.5,
        what="the kubernetes Service recreated",
    )
    again = kubectl.ok("get", "svc", "kubernetes", "-n", "default", "-o", "json").json()
    assert again["spec"]["clusterIP"] == first


def test_get_svc_columns_for_each_service_type(kubectl: Kubectl, labs: dict[str, str]) -> None:
    """TYPE, CLUSTER-IP, EXTERNAL-IP and PORT(S) as kubectl prints them from a real server."""
    ns = labs["l6"]
    kubectl.ok("create", "service", "clusterip", "cip", "--tcp=80:8080", "-n", ns)
    kubectl.ok("create", "service", "nodeport", "np", "--tcp=80:8080", "-n", ns)
    kubectl.ok("create", "service", "clusterip", "headless", "--clusterip=None", "-n", ns)
    kubectl.ok("create", "service", "externalname", "ext", "--external-name=a.example", "-n", ns)
    rows = {
        line.split()[0]: line.split()[1:5]
        for line in kubectl.ok("get", "svc", "-n", ns, "--no-headers").out.splitlines()
    }
    net = ipaddress.ip_network(kubectl.node.service_cidr)
    for name in ("cip", "np", "webapp-service"):
        assert ipaddress.ip_address(rows[name][1]) in net, rows[name]
    assert rows["cip"][0::2] == ["ClusterIP", "<none>"] and rows["cip"][3] == "80/TCP"
    assert rows["np"][0::2] == ["NodePort", "<none>"]
    assert re.fullmatch(r"80:3\d{4}/TCP", rows["np"][3]), rows["np"]
    assert rows["headless"] == ["ClusterIP", "None", "<none>", "<none>"]
    assert rows["ext"] == ["ExternalName", "<none>", "a.example", "<none>"]


def test_a_load_balancer_patched_to_cluster_ip_loses_its_node_port_and_ingress(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """`kubectl patch` of type LoadBalancer → ClusterIP succeeds; node port and ingress go."""
    ns = labs["l6"]
    kubectl.ok("create", "service", "loadbalancer", "lb", "--tcp=80:8080", "-n", ns)
    wait_for(
        lambda: (
            kubectl.ok("get", "svc", "lb", "-n", ns, "-o", "json")
            .json()["status"]
            .get("loadBalancer", {})
            .get("ingress")
        ),
        timeout=20,
        interval=0.2,
        what="the load balancer's ingress",
    )
    kubectl.ok("patch", "svc", "lb", "-n", ns, "-p", '{"spec":{"type":"ClusterIP"}}')
    svc = kubectl.ok("get", "svc", "lb", "-n", ns, "-o", "json").json()
    assert svc["spec"]["type"] == "ClusterIP"
    assert [p.get("nodePort") for p in svc["spec"]["ports"]] == [None]
    assert "externalTrafficPolicy" not in svc["spec"]
    assert svc["status"] == {"loadBalancer": {}}
    row = squash(kubectl.ok("get", "svc", "lb", "-n", ns, "--no-headers").out).split()
    assert row[1:5] == ["ClusterIP", svc["spec"]["clusterIP"], "<none>", "80/TCP"], row


# -- L3: readiness takes a pod out of a LoadBalancer Service ---------------------------


def test_l3_service_get_and_describe_show_the_load_balancer(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """EXTERNAL-IP is the ingress address (the cluster IP); describe shows LoadBalancer Ingress."""
    ns = labs["l3"]
    ip = wait_for(
        lambda: (
            kubectl.ok(
                "get",
                "svc",
                "readiness-svc",
                "-n",
                ns,
                "-o",
                "jsonpath={.status.loadBalancer.ingress[0].ip}",
            ).out
        ),
        timeout=20,
        what="the load balancer's ingress",
    )
    svc = kubectl.ok("get", "svc", "readiness-svc", "-n", ns, "-o", "json").json()
    assert ip == svc["spec"]["clusterIP"]
    assert svc["status"]["loadBalancer"]["ingress"] == [{"ip": ip, "ipMode": "VIP"}]
    node_port = svc["spec"]["ports"][0]["nodePort"]
    row = squash(kubectl.ok("get", "svc", "readiness-svc", "-n", ns, "--no-headers").out).split()
    assert row[:5] == ["readiness-svc", "LoadBalancer", ip, ip, f"80:{node_port}/TCP"]
    described = squash(kubectl.ok("describe", "svc", "readiness-svc", "-n", ns).out)
    assert f"LoadBalancer Ingress: {ip} (VIP)" in described

    # A LoadBalancer of another implementation's class is never given an address.
    other = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "other-lb"},
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerClass": "example.com/elsewhere",
            "selector": {"app": "none"},
            "ports": [{"port": 80}],
        },
    }
    kubectl.ok("apply", "-n", ns, "-f", "-", stdin=yaml.safe_dump(other))
    row = squash(kubectl.ok("get", "svc", "other-lb", "-n", ns, "--no-headers").out).split()
    assert row[1] == "LoadBalancer" and row[3] == "<pending>"


def test_l3_curl_alternates_then_rm_healthy_moves_every_request(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """Both pods answer; after ``rm /tmp/healthy`` one is 0/1 Running and gets no request."""
    ns = labs["l3"]
    pods = wait_for(
        lambda: len(p := pods_of(kubectl, ns, "app=readiness")) == 2 and p,
        timeout=30,
        what="two readiness-rc pods",
    )
    for pod in pods:
        wait_row(kubectl, ns, pod, "1/1", timeout=40)
    ip = kubectl.ok(
        "get",
        "svc",
        "readiness-svc",
        "-n",
        ns,
        "-o",
        "jsonpath={.status.loadBalancer.ingress[0].ip}",
    ).out
    url = f"http://{ip}/"
    seen: set[str | None] = set()
    deadline = time.monotonic() + 20
    while set(pods) - seen and time.monotonic() < deadline:
        seen.update(hits(url, 4))
    assert seen == set(pods), f"answers from {seen}, pods {pods}"

    unready, other = pods
    kubectl.ok("exec", unready, "-n", ns, "--", "rm", "/tmp/healthy")
    row = wait_row(kubectl, ns, unready, "0/1", timeout=30)
    assert row[3] == "0", f"a failing readiness probe restarted the container: {row}"
    wait_for(
        lambda: slice_ready(kubectl, ns, "readiness-svc").get(unready) is False,
        timeout=5,
        what=f"{unready} not ready in the EndpointSlice",
    )
    # The proxy follows the slice; once it has, every request goes to the other pod.
    wait_for(lambda: hits(url, 5) == [other] * 5, timeout=5, interval=0, what="proxy synced")
    assert hits(url, 20) == [other] * 20
    assert "Readiness probe failed: HTTP probe failed with statuscode: 500" in squash(
        kubectl.ok("describe", "pod", unready, "-n", ns).out
    )


# -- L6: crash and freeze, without probes and with both --------------------------------


def cluster_url(kubectl: Kubectl, ns: str, path: str) -> str:
    ip = kubectl.ok(
        "get", "svc", "webapp-service", "-n", ns, "-o", "jsonpath={.spec.clusterIP}"
    ).out
    return f"http://{ip}:8080{path}"


def pod_url(kubectl: Kubectl, ns: str, pod: str, path: str) -> str:
    return f"http://{get_pod(kubectl, ns, pod)['status']['podIP']}:8080{path}"


def test_l6_without_probes_a_frozen_pod_fails_requests_and_stays(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """No probes: a frozen pod keeps its share of the traffic (Failed) and is never restarted."""
    ns = labs["l6"]
    for pod in ("simple-webapp-1", "simple-webapp-2"):
        wait_row(kubectl, ns, pod, "1/1", timeout=40)
    # Past simple-webapp-2's warm-up, so every failure below is the freeze's.
    wait_for(
        lambda: curl(pod_url(kubectl, ns, "simple-webapp-2", "/ready")),
        timeout=30,
        interval=0.5,
        what="simple-webapp-2 warmed up",
    )
    before = run_script(kubectl, ns, "curl-test.sh", count=6)
    assert before.count(" OK") == 6, before

    freeze_with_sigstop(get_pod(kubectl, ns, "simple-webapp-1"), "simple-webapp")
    out = run_script(kubectl, ns, "curl-test.sh", count=12)
    assert "Failed" in out and "simple-webapp-2 : I am ready! OK" in out, out
    assert get_row(kubectl, ns, "simple-webapp-1")[1:4] == ["1/1", "Running", "0"]
    thaw_all()

    crash = run_script(kubectl, ns, "crash-app.sh", "simple-webapp-2")
    assert "Message from simple-webapp-2 : Mayday! Mayday! Going to crash!" in crash
    wait_for(
        lambda: restart_count(kubectl, ns, "simple-webapp-2") == 1,
        timeout=30,
        what="simple-webapp-2 restarted after its crash",
    )


def test_l6_with_probes_crash_and_freeze_restart_and_no_failures_after_readiness(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """Both probes: a crash restarts; a freeze is restarted by liveness; no Failed once unready."""
    ns = labs["l6p"]
    for pod in ("simple-webapp-1", "simple-webapp-2"):
        wait_row(kubectl, ns, pod, "1/1", timeout=40)
    ready_url = cluster_url(kubectl, ns, "/ready")

    crash = run_script(kubectl, ns, "crash-app.sh", "simple-webapp-2")
    assert "Mayday! Mayday! Going to crash!" in crash
    wait_for(
        lambda: restart_count(kubectl, ns, "simple-webapp-2") == 1,
        timeout=30,
        what="simple-webapp-2 restarted after its crash",
    )
    wait_row(kubectl, ns, "simple-webapp-2", "1/1", timeout=30)

    frozen = run_script(kubectl, ns, "freeze-app.sh", "simple-webapp-2")
    assert "Message from simple-webapp-2 : Going to freeze!" in frozen
    wait_for(
        lambda: slice_ready(kubectl, ns, "webapp-service").get("simple-webapp-2") is False,
        timeout=20,
        interval=0.3,
        what="readiness taking the frozen simple-webapp-2 out of the Service",
    )
    wait_for(
        lambda: all(curl(ready_url) for _ in range(5)),
        timeout=5,
        interval=0,
        what="the proxy following the slice",
    )
    # From here until the restarted pod is ready again, no request may fail.
    answers: list[str | None] = []
    back: bool | None = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answers.append(curl(ready_url))
        back = restart_count(kubectl, ns, "simple-webapp-2") == 2 and slice_ready(
            kubectl, ns, "webapp-service"
        ).get("simple-webapp-2")
        if back:
            break
    assert back, "liveness did not restart the frozen simple-webapp-2 within 60 s"
    print(f"L6 probes: {len(answers)} requests from readiness acting to the restarted pod ready")
    assert None not in answers, f"{answers.count(None)} of {len(answers)} requests failed"
    events = squash(kubectl.ok("describe", "pod", "simple-webapp-2", "-n", ns).out)
    assert "failed liveness probe, will be restarted" in events
    # The kubelet's SIGTERM ended the frozen app at once, not its grace period's SIGKILL.
    previous = kubectl.ok("logs", "simple-webapp-2", "-n", ns, "--previous").out
    assert "SIGTERM received" in previous and "exiting" in previous, previous

    out = run_script(kubectl, ns, "curl-test.sh", count=16)
    assert "Failed" not in out, out
    assert "simple-webapp-1 : I am ready! OK" in out and "simple-webapp-2 : I am ready! OK" in out
