"""A flapping probe's attempts agree three ways: Prometheus counters, history, events.

One real node, one pod whose exec readiness probe (period 1 s, failureThreshold 1) fails
one second in six for its first ``FLAP_SECONDS`` seconds, then passes for good (the
container's own script drops a marker file). Once the failures have stopped:

* the ``prober_probe_total`` series of that probe, scraped through the API server's
  ``/metrics`` with kubectl, equal the attempts its history holds, result by result (the
  two reads are taken between two identical scrapes, so no attempt falls between them,
  and the history is checked to still hold every attempt);
* the failed attempts equal the sum of the ``count`` of the probe's ``Unhealthy`` events.
  The kubelet's event correlator allows 25 writes per object and reason before its spam
  filter drops them (one token back per five minutes), yet it counts before it filters,
  so the API's count stops at 25 while the counters go on. The flap is kept below that:
  about 9 failing seconds, each failing once or twice (a failure makes the pod not
  ready, and the kubelet re-probes a not-ready container at once, often within the
  same second), some 18 failures in all; more than 25 in a few minutes and the API's
  count would fall short of the counters;
* ``kubeproc probes`` prints the same attempts, and says kubectl's words for a pod that
  does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from kubeproc.util.prometheus import parse
from tests.e2e.harness import Kubectl, Node, Result, wait_for
from tests.e2e.test_kubelet_support import (
    container,
    container_status,
    kubectl_for,
    namespace,
    pod_yaml,
    require_oci,
    wait_running,
)

pytestmark = [pytest.mark.e2e, pytest.mark.long]

FLAP_SECONDS = 50
MARKER = "/tmp/kubeproc-probe-steady"
PROBE = f"test -f {MARKER} || [ $(( $(date +%s) % 6 )) -ne 0 ] || {{ echo odd; exit 1; }}"


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    require_oci(node)
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl) -> Iterator[str]:
    with namespace(kubectl, "probehist") as name:
        yield name


def kubeproc(node: Node, *args: str, env: dict[str, str] | None = None) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "kubeproc", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HOME": str(node.home), **(env or {})},
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def probe_counters(kubectl: Kubectl, ns: str, pod: str) -> dict[str, float]:
    """``prober_probe_total`` of the pod's readiness probe, by result."""
    samples = parse(kubectl.ok("get", "--raw", "/metrics").out)
    out: dict[str, float] = {}
    for (name, labels), value in samples.items():
        d = dict(labels)
        if name == "prober_probe_total" and (d["namespace"], d["pod"]) == (ns, pod):
            assert (d["probe_type"], d["container"]) == ("Readiness", "app"), d
            out[d["result"]] = value
    return out


def history(kubectl: Kubectl, ns: str, pod: str) -> dict[str, Any]:
    path = f"/api/v1/namespaces/{ns}/pods/{pod}/probehistory"
    doc: dict[str, Any] = json.loads(kubectl.ok("get", "--raw", path).out)
    return doc


def steady_since(kubectl: Kubectl, ns: str, pod: str, started: float) -> dict[str, Any] | None:
    """The history once it holds a success attempted after the marker was surely there."""
    doc = history(kubectl, ns, pod)
    attempts = doc["probes"][0]["attempts"] if doc["probes"] else []
    late = [a for a in attempts if _epoch(a["start"]) > started + FLAP_SECONDS + 4]
    return doc if late and late[-1]["result"] == "success" else None


def _epoch(stamp: str) -> float:
    parsed = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return parsed.replace(tzinfo=dt.UTC).timestamp()


def test_flapping_probe_counters_equal_history_and_events(
    node: Node, kubectl: Kubectl, ns: str
) -> None:
    """Counters, history and Unhealthy events count the same attempts of a flapping probe."""
    script = f"rm -f {MARKER}; sleep {FLAP_SECONDS}; touch {MARKER}; exec sleep 3600"
    probe = {
        "exec": {"command": ["/bin/sh", "-c", PROBE]},
        "periodSeconds": 1,
        "failureThreshold": 1,
    }
    kubectl.ok(
        "apply",
        "-f",
        "-",
        stdin=pod_yaml("flap", ns, [container("app", script, readinessProbe=probe)]),
    )
    pod = wait_running(kubectl, ns, "flap", timeout=60)
    stamp = container_status(pod)["state"]["running"]["startedAt"]
    started = _epoch(stamp.replace("Z", ".0Z"))

    # Without a token, /metrics is a 401 like every other path.
    assert node.http("GET", "/metrics", token=None).status == 401

    doc = wait_for(
        lambda: steady_since(kubectl, ns, "flap", started),
        timeout=FLAP_SECONDS + 30,
        interval=1.0,
        what="the probe to pass for good",
    )

    def consistent() -> tuple[dict[str, float], dict[str, Any]] | None:
        before = probe_counters(kubectl, ns, "flap")
        held = history(kubectl, ns, "flap")
        after = probe_counters(kubectl, ns, "flap")
        return (before, held) if before == after else None

    counters, doc = wait_for(consistent, timeout=20, interval=0.2, what="two equal scrapes")
    (series,) = doc["probes"]
    attempts = series["attempts"]
    by_result = {
        label: sum(1 for a in attempts if a["result"] == word)
        for label, word in (
            ("successful", "success"),
            ("failed", "failure"),
            ("unknown", "unknown"),
        )
    }
    print(f"\ncounters={counters} history={by_result} held={len(attempts)}")
    assert len(attempts) < series["capacity"], "the history must hold every attempt"
    assert sum(series["totals"].values()) == len(attempts)
    assert counters == by_result
    assert by_result["failed"] >= 5, "the probe did not flap"
    assert by_result["unknown"] == 0
    failures = [a for a in attempts if a["result"] == "failure"]
    assert {(a["code"], a["output"]) for a in failures} == {(1, "odd\n")}

    def event_count() -> int | None:
        res = kubectl.ok(
            "get", "events", "-n", ns,
            "--field-selector", "involvedObject.name=flap,reason=Unhealthy", "-o", "json",
        )  # fmt: skip
        items = json.loads(res.out)["items"]
        assert {e["message"] for e in items} <= {"Readiness probe failed: odd\n"}
        total = sum(int(e.get("count") or 1) for e in items)
        return total if total == by_result["failed"] else None

    # Event writes are asynchronous: wait for the last to land, then they must match.
    wait_for(event_count, timeout=20, interval=0.5, what="Unhealthy counts = failures")
    assert by_result["failed"] < 25, "past the spam filter's burst the counts must differ"

    restarts = parse(kubectl.ok("get", "--raw", "/metrics").out)
    key = (
        "kube_pod_container_status_restarts_total",
        tuple(sorted({"namespace": ns, "pod": "flap", "container": "app",
                      "uid": pod["metadata"]["uid"]}.items())),
    )  # fmt: skip
    assert restarts[key] == 0
    requests = [
        (dict(labels), v)
        for (name, labels), v in restarts.items()
        if name == "apiserver_request_total"
    ]
    assert any(
        d["verb"] == "GET" and d["subresource"] == "/metrics" and d["code"] == "401"
        for d, v in requests
    )
    assert any(
        d["resource"] == "pods" and d["subresource"] == "probehistory" and d["code"] == "200"
        and d["scope"] == "resource" and v >= 1
        for d, v in requests
    )  # fmt: skip

    # kubeproc probes: one row per attempt, with the kubeconfig from $KUBECONFIG.
    res = kubeproc(node, "probes", "flap", "-n", ns, env={"KUBECONFIG": str(node.kubeconfig)})
    assert res.rc == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].split() == ["TIME", "CONTAINER", "PROBE", "RESULT", "LATENCY", "DETAIL"]
    assert len(lines) - 1 >= len(attempts)  # probing went on since
    assert any(line.split()[3:4] == ["failure"] and "exit 1: odd" in line for line in lines)
    res = kubeproc(node, "probes", "flap", "-n", ns, "--kubeconfig", str(node.kubeconfig),
                   "-o", "json")  # fmt: skip
    assert res.rc == 0, res.err
    assert json.loads(res.out)["metadata"]["uid"] == pod["metadata"]["uid"]
    res = kubeproc(node, "probes", "nope", "-n", ns, "--kubeconfig", str(node.kubeconfig))
    assert (res.rc, res.err.strip()) == (1, 'Error from server (NotFound): pods "nope" not found')
    res = kubeproc(
        node, "probes", "flap", "-n", ns, "-c", "nope", "--kubeconfig", str(node.kubeconfig)
    )
    assert (res.rc, res.err.strip()) == (
        1, "Error from server (BadRequest): container nope is not valid for pod flap",
    )  # fmt: skip
    assert "Traceback" not in res.err
