"""Zero failed requests through a Service ClusterIP while its Deployment changes under load.

One real node (oci runtime, nftables proxy) for the module. A module fixture applies four
Deployments of three replicas, each behind its own Service, in one namespace, so every
case starts from three ready pods of its own and the cases do not depend on their order.
The pods run a small Python HTTP server from the host's root (``APP``): ``/`` answers
``<pod name> <VERSION>``, ``/ready`` answers 500 while ``/tmp/unready`` exists (and logs
each probe with its wall-clock time), and SIGTERM closes the listener and finishes the
requests in flight before exiting. Not the example apps: ``simple_webapp.py`` cannot fail
its readiness once warmed up, and ``readiness_server.py`` exits at once on SIGTERM.

A ``Load`` sends requests from the host to the ClusterIP on a few threads, one new
connection per request, 1 s timeout each, bounded in count and time, and records every
request's start, end and answer. While it runs, the Deployment rolls out a new version,
one pod's readiness fails, it scales 3 -> 1 -> 3, or one pod's server is frozen with
SIGSTOP. ``pytest -s`` prints each case's counts and measured times.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_kubelet_support import container_pid, kubectl_for, namespace, require_oci

pytestmark = pytest.mark.e2e

APP = r"""
import http.server, os, signal, socket, sys, threading, time
NAME, VERSION = socket.gethostname(), os.environ.get("VERSION", "")
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        code = 500 if self.path == "/ready" and os.path.exists("/tmp/unready") else 200
        if self.path == "/ready":
            print("probe", code, time.time(), flush=True)
        body = f"{NAME} {VERSION}".encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the request threads: in-flight ones finish
server = Server(("0.0.0.0", 8080), Handler)
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
server.serve_forever(poll_interval=0.05)
server.server_close()
print(NAME, "drained, exiting", flush=True)
"""
PERIOD, FAILURE_THRESHOLD, PROBE_TIMEOUT = 1, 2, 1
READINESS = {
    "httpGet": {"path": "/ready", "port": 8080},
    "periodSeconds": PERIOD,
    "timeoutSeconds": PROBE_TIMEOUT,
    "failureThreshold": FAILURE_THRESHOLD,
    "successThreshold": 1,
}
# SIGTERM and the endpoint's removal from the proxy are concurrent, in Kubernetes and here:
# the kubelet and the EndpointSlice controller each react to the deletion on their own. An
# app that stops listening on SIGTERM would refuse the connections the proxy still sends
# it in between (tens of ms here, seconds on a real cluster). So, as a real user does, the
# pod sleeps in preStop before SIGTERM (the terminating endpoint is out of the rules by
# then) and the app finishes what it already accepted. Draining alone is not enough: without
# the preStop sleep the rollout and the scale-down cases each failed 6-11 requests here
# (connections refused and reset by the stopping app, SYNs to a pod whose network was gone).
PRE_STOP = {"preStop": {"sleep": {"seconds": 1}}}
DEPLOYMENTS = ("roll", "unready", "scale", "freeze")
REPLICAS = 3
REQUEST_TIMEOUT = 3.0
"""Room for a healthy pod's python server on a machine busy with the whole suite (with 1 s,
one CI run saw a timeout start after the frozen pod had left the rules, most likely such a
slow answer); a frozen pod's connections still time out."""
SETTLE = 0.5
"""Time after a change reached the rules during which we still let the load run."""
EPS_ALLOWANCE = PROBE_TIMEOUT + 1.0
"""Room over P x F for a frozen pod to leave the rules: the deciding probe waits out its own
timeout (1 s), then the status write, slice and rule sync (tens of ms), on a busy machine."""


def deployment(name: str) -> dict[str, Any]:
    app = {
        "name": "app",
        "image": "python:3",
        "command": ["python3", "-c", APP],
        "env": [{"name": "VERSION", "value": "v1"}],
        "ports": [{"containerPort": 8080}],
        "readinessProbe": READINESS,
        "lifecycle": PRE_STOP,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [app]},
            },
        },
    }


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl, node: Node) -> Iterator[str]:
    require_oci(node)
    objects = [o for name in DEPLOYMENTS for o in (deployment(name), service(name))]
    with namespace(kubectl, "zero") as name:
        kubectl.ok("apply", "-n", name, "-f", "-", stdin=yaml.safe_dump_all(objects))
        yield name
        # The namespace's cleanup force-deletes pods; without their owners first, the
        # ReplicaSets would make new ones while it waits for none to be left.
        kubectl("delete", "deploy,rs", "--all", "-n", name, "--cascade=orphan", "--wait=false")


# -- reading the cluster and the node ---------------------------------------------------


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl.ok("get", *args, "-o", "json").out)


def live_pods(kubectl: Kubectl, ns: str, app: str) -> list[dict[str, Any]]:
    items = get_json(kubectl, "pods", "-n", ns, "-l", f"app={app}")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def rollout_status(kubectl: Kubectl, ns: str, name: str) -> None:
    res = kubectl("rollout", "status", f"deployment/{name}", "-n", ns, "--timeout=60s", timeout=90)
    assert res.rc == 0, f"rollout status failed rc={res.rc}\n{res.err}\n{res.out}"


def table_name(node: Node) -> str:
    for line in (node.data_dir / "kubeproc.log").read_text().splitlines():
        if "service proxy mode=nftables" in line:
            return line.split("table=")[1].split()[0]
    raise AssertionError("the node runs no nftables proxy")


def bridge_address(node: Node) -> tuple[str, str]:
    """The node bridge's MAC and how it was assigned (``3``: set, not taken from a port)."""
    for line in (node.data_dir / "kubeproc.log").read_text().splitlines():
        if "service routes installed" in line:
            sysfs = Path("/sys/class/net") / line.split(" dev=")[1].split()[0]
            return (sysfs / "address").read_text().strip(), (
                sysfs / "addr_assign_type"
            ).read_text().strip()
    raise AssertionError("the node installed no service routes")


_DNAT = re.compile(r"dnat to (\d+\.\d+\.\d+\.\d+):8080")


def nft_backends(node: Node) -> set[str]:
    """Every pod IP the node's nftables rules send new connections to (port 8080)."""
    out = subprocess.run(
        ["nft", "list", "table", "ip", table_name(node)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return set(_DNAT.findall(out))


def ready_behind_service(kubectl: Kubectl, node: Node, ns: str, app: str, n: int) -> list[str]:
    """Wait until ``n`` live pods of ``app`` are Ready and exactly they are in the rules."""

    def check() -> list[str] | None:
        pods = live_pods(kubectl, ns, app)
        ips = {p["status"].get("podIP") for p in pods if is_ready(p)}
        if len(pods) == n and len(ips) == n and ips <= nft_backends(node):
            return sorted(p["metadata"]["name"] for p in pods)
        return None

    found: list[str] = wait_for(check, timeout=90, interval=0.2, what=f"{n} ready {app} pods")
    return found


def cluster_ip(kubectl: Kubectl, ns: str, name: str) -> str:
    ip: str = get_json(kubectl, "service", name, "-n", ns)["spec"]["clusterIP"]
    return ip


# -- the load ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    start: float
    end: float
    answer: str | None  # "<pod> <version>" on a 200, None on any failure
    error: str = ""


def ask(ip: str, port: int = 80, timeout: float = REQUEST_TIMEOUT) -> tuple[str | None, str]:
    """One GET on a new connection: (answer, "") on a 200, (None, why) otherwise."""
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        body = resp.read().decode()
        return (body, "") if resp.status == 200 else (None, f"HTTP {resp.status}")
    except OSError as err:
        return None, type(err).__name__
    finally:
        conn.close()


class Load:
    """``workers`` threads requesting ``ip`` back to back, paced, bounded in count and time."""

    def __init__(
        self, ip: str, *, workers: int = 3, pace: float = 0.01, limit: int = 30000, secs: float = 90
    ) -> None:
        self.ip, self.pace, self.limit = ip, pace, limit
        self.deadline = time.monotonic() + secs
        self.records: list[Request] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        wait_for(lambda: len(self.records) >= 20, timeout=10, what="the load's first answers")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(REQUEST_TIMEOUT + 5)

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            if len(self.records) >= self.limit:
                return
            start = time.monotonic()
            answer, error = ask(self.ip)
            self.records.append(Request(start, time.monotonic(), answer, error))
            self._stop.wait(self.pace)

    def run_until(self, moment: float) -> None:
        """Keep the load going until requests started after ``moment`` have come back."""
        wait_for(
            lambda: any(r.start > moment for r in list(self.records)),
            timeout=30,
            interval=0.05,
            what="requests after the change",
        )

    @property
    def failures(self) -> list[Request]:
        return [r for r in self.records if r.answer is None]

    def pods(self, after: float = 0.0) -> Counter[str]:
        return Counter(r.answer.split()[0] for r in self.records if r.answer and r.start > after)

    def summary(self) -> str:
        errors = Counter(r.error for r in self.failures)
        span = self.records[-1].end - self.records[0].start if self.records else 0.0
        return (
            f"{len(self.records)} requests in {span:.1f} s, {len(self.failures)} failed "
            f"{dict(errors)}; answers by pod {dict(self.pods())}"
        )


# -- the cases --------------------------------------------------------------------------


def test_rolling_update_serves_every_request(kubectl: Kubectl, node: Node, ns: str) -> None:
    """A RollingUpdate to a new version under load: zero failed requests, then only v2."""
    ready_behind_service(kubectl, node, ns, "roll", REPLICAS)
    ip = cluster_ip(kubectl, ns, "roll")
    with Load(ip) as load:
        started = time.monotonic()
        kubectl.ok("set", "env", "deployment/roll", "-n", ns, "VERSION=v2")
        rollout_status(kubectl, ns, "roll")
        rolled = time.monotonic()
        new = ready_behind_service(kubectl, node, ns, "roll", REPLICAS)
        in_rules = time.monotonic()
        load.run_until(in_rules + SETTLE)
    versions = Counter(r.answer.split()[1] for r in load.records if r.answer)
    print(
        f"\nrollout: {load.summary()}; versions {dict(versions)}; rollout status "
        f"{rolled - started:.1f} s, old pods out of the rules {in_rules - started:.1f} s"
    )
    assert not load.failures, load.failures[:10]
    late = [r.answer for r in load.records if r.answer and r.start > in_rules + SETTLE]
    assert late and all(a.endswith(" v2") and a.split()[0] in new for a in late), Counter(late)
    assert versions["v1"] > 0 and versions["v2"] > 0, versions


def test_failing_readiness_takes_the_pod_out_without_failures(
    kubectl: Kubectl, node: Node, ns: str
) -> None:
    """One pod's readiness path turns 500: it leaves the rules, it still serves, none fail."""
    pods = ready_behind_service(kubectl, node, ns, "unready", REPLICAS)
    victim = get_json(kubectl, "pod", pods[0], "-n", ns)
    victim_ip = victim["status"]["podIP"]
    ip = cluster_ip(kubectl, ns, "unready")
    with Load(ip) as load:
        wait_for(lambda: len(load.pods()) == REPLICAS, timeout=20, what="all three answer")
        kubectl.ok("exec", pods[0], "-n", ns, "--", "touch", "/tmp/unready")
        flipped, flipped_wall = time.monotonic(), time.time()
        gone = wait_for(
            lambda: victim_ip not in nft_backends(node) and time.monotonic(),
            timeout=20,
            interval=0.01,
            what=f"{victim_ip} out of the rules",
        )
        gone_wall = time.time() - (time.monotonic() - gone)
        assert not is_ready(get_json(kubectl, "pod", pods[0], "-n", ns))
        load.run_until(gone + SETTLE + 1.0)
    # The app logs each 500 it answers on /ready; the FAILURE_THRESHOLD-th is the deciding one.
    answers_500 = [t for code, t in probe_log(kubectl, ns, pods[0]) if code == 500]
    deciding = answers_500[FAILURE_THRESHOLD - 1] if len(answers_500) >= FAILURE_THRESHOLD else 0.0
    after = load.pods(after=gone + 0.05)
    print(
        f"\nreadiness: {load.summary()}; file -> first 500 "
        f"{(answers_500[0] if answers_500 else 0.0) - flipped_wall:.2f} s, -> deciding 500 "
        f"{deciding - flipped_wall:.2f} s (P x F = {PERIOD * FAILURE_THRESHOLD} s), -> out of the rules "
        f"{gone - flipped:.2f} s; deciding 500 -> out of the rules "
        f"{(gone_wall - deciding) * 1000:.0f} ms; answers after: {dict(after)}"
    )
    assert not load.failures, load.failures[:10]
    assert pods[0] not in after and len(after) == REPLICAS - 1, after
    answer, error = ask(victim_ip, 8080)
    assert answer is not None and answer.startswith(pods[0]), error


def test_scale_down_and_up_serves_every_request(kubectl: Kubectl, node: Node, ns: str) -> None:
    """``kubectl scale`` 3 -> 1 -> 3 under load: zero failed requests; the new pods serve."""
    ready_behind_service(kubectl, node, ns, "scale", REPLICAS)
    mac_before = bridge_address(node)
    ip = cluster_ip(kubectl, ns, "scale")
    with Load(ip) as load:
        started = time.monotonic()
        kubectl.ok("scale", "deployment/scale", "-n", ns, "--replicas=1")
        (left,) = ready_behind_service(kubectl, node, ns, "scale", 1)
        down = time.monotonic()
        wait_for(
            lambda: not [p for p in get_json(kubectl, "pods", "-n", ns, "-l", "app=scale")["items"]
                         if p["metadata"]["name"] != left],
            timeout=30,
            interval=0.2,
            what="the scaled-down pods gone",
        )  # fmt: skip
        gone = time.monotonic()
        kubectl.ok("scale", "deployment/scale", "-n", ns, "--replicas=3")
        rollout_status(kubectl, ns, "scale")
        pods = ready_behind_service(kubectl, node, ns, "scale", REPLICAS)
        up = time.monotonic()
        load.run_until(up + SETTLE + 1.0)
    after = load.pods(after=up + SETTLE)
    print(
        f"\nscale: {load.summary()}; 3->1 out of the rules {down - started:.1f} s, pods gone "
        f"{gone - started:.1f} s; 1->3 in the rules {up - gone:.1f} s; answers after: {dict(after)}"
    )
    assert not load.failures, load.failures[:10]
    assert set(after) == set(pods), after
    # Pods leaving must not change the gateway's MAC under the pods that stay (their ARP
    # caches would send replies nowhere: one CI run timed out every request to such a pod).
    assert bridge_address(node) == mac_before and mac_before[1] == "3", mac_before


def probe_log(kubectl: Kubectl, ns: str, pod: str) -> list[tuple[int, float]]:
    """(status, wall time) of every readiness probe the app answered, from its log."""
    lines = (line.split() for line in kubectl.ok("logs", pod, "-n", ns).out.splitlines())
    return sorted(((int(w[1]), float(w[2])) for w in lines if len(w) == 3 and w[0] == "probe"),
                  key=lambda x: x[1])  # fmt: skip


def test_frozen_pod_fails_requests_only_until_its_probe_decides(
    kubectl: Kubectl, node: Node, ns: str
) -> None:
    """SIGSTOP one pod: failures stop within P x F + a small measured epsilon, none after."""
    pods = ready_behind_service(kubectl, node, ns, "freeze", REPLICAS)
    victim = get_json(kubectl, "pod", pods[0], "-n", ns)
    victim_ip, pid = victim["status"]["podIP"], container_pid(node, victim)
    assert b"python3" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ip = cluster_ip(kubectl, ns, "freeze")
    with Load(ip, workers=4) as load:
        wait_for(lambda: len(load.pods()) == REPLICAS, timeout=20, what="all three answer")
        try:
            frozen, frozen_wall = time.monotonic(), time.time()
            os.kill(pid, signal.SIGSTOP)
            gone = wait_for(
                lambda: victim_ip not in nft_backends(node) and time.monotonic(),
                timeout=20,
                interval=0.01,
                what=f"{victim_ip} out of the rules",
            )
            assert not is_ready(get_json(kubectl, "pod", pods[0], "-n", ns))
            bound = frozen + PERIOD * FAILURE_THRESHOLD
            load.run_until(max(gone, bound) + REQUEST_TIMEOUT + 2.0)
        finally:
            os.kill(pid, signal.SIGCONT)
    # The first probe the frozen app missed was due one period after the last it answered.
    answered = [t for _, t in probe_log(kubectl, ns, pods[0]) if t < frozen_wall]
    phase = answered[-1] + PERIOD - frozen_wall if answered else float("nan")
    failures = load.failures
    last = max((r.start for r in failures), default=frozen)
    eps, eps_rules = last - bound, gone - bound
    starts = [f"{r.start - frozen:.2f}" for r in failures]
    print(
        f"\nfreeze: {load.summary()}; failures started {starts} s after the freeze; last "
        f"{last - frozen:.2f} s, P x F = {PERIOD * FAILURE_THRESHOLD} s, epsilon "
        f"{eps * 1000:+.0f} ms; freeze -> out of the rules {gone - frozen:.2f} s, epsilon "
        f"{eps_rules * 1000:+.0f} ms (the deciding probe's {PROBE_TIMEOUT} s timeout included; "
        f"the first missed probe was due {phase:+.2f} s after the freeze). "
        "Kubernetes' own bound: P x F + timeout + status write + EndpointSlice controller + "
        "kube-proxy sync (minSyncPeriod 1 s): seconds"
    )
    assert failures, "the frozen pod got no request before it left the rules"
    assert eps < EPS_ALLOWANCE and eps_rules < EPS_ALLOWANCE, (eps, eps_rules)
    late = [f"{r.start - gone:+.3f} s {r.error}" for r in failures if r.start > gone]
    assert not late, f"failures started after the rule was gone: {late}"
    assert load.records[-1].start > last + 2.0
