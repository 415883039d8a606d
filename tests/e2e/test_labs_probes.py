"""Seed labs L1, L2, L4 and L9 as a user runs them: ``kubectl apply -k examples/labs/...``.

One real node for the module. A module fixture applies every lab at once, each into its
own namespace, so the labs run side by side and the module takes about as long as its
slowest lab (L1: the shell ignores SIGTERM, so its restart waits out the 30 s grace
period). Each test then polls its own lab for what MISSION.md says the user must see,
reading it the way a user would (``kubectl get``, ``describe``, ``logs``, events), and
measures the probe timings against the spec's bounds from the apps' own log stamps and
the pod status; ``pytest -s`` prints them. What a test reads stays true once reached
(events, logs, status timestamps), so the tests do not depend on the order they run in.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

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

LABS = Path(__file__).resolve().parents[2] / "examples" / "labs"
LAB_DIRS = {
    "l1": "l1-exec-liveness",
    "l2": "l2-http-liveness",
    "l2d": "l2-http-liveness-initial-delay",
    "l4": "l4-http-readiness-liveness",
    "l9": "l9-startup-tcp-exec",
}
# The host's cat runs inside the container: GNU coreutils' wording, not busybox's
# "cat: can't open '/tmp/healthy': No such file or directory".
CAT_ERROR = "cat: /tmp/healthy: No such file or directory"
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (.*)$")


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def labs(kubectl: Kubectl, node: Node) -> Iterator[dict[str, str]]:
    """Every lab applied at once, each in a fresh namespace: {"l1": namespace, ...}."""
    require_oci(node)
    with contextlib.ExitStack() as stack:
        namespaces: dict[str, str] = {}
        for key, lab in LAB_DIRS.items():
            ns = stack.enter_context(namespace(kubectl, f"lab-{key}"))
            kubectl.ok("apply", "-k", str(LABS / lab), "-n", ns)
            namespaces[key] = ns

        def shorten_grace() -> None:
            # The busybox-style shells ignore SIGTERM, and the kubelet honours a pod's own
            # 30 s grace even for the forced delete ``namespace`` ends with (as a real
            # kubelet does), so would the node's drain on ``down``. A 1 s delete, waited
            # for, ends them first. Runs before the namespaces' own cleanup: ExitStack
            # unwinds last-in, first-out.
            for ns in namespaces.values():
                kubectl("delete", "pods", "--all", "-n", ns, "--grace-period=1", "--wait=false")
            wait_for(
                lambda: (
                    not any(
                        kubectl("get", "pods", "-n", ns, "-o", "name").out.strip()
                        for ns in namespaces.values()
                    )
                ),
                timeout=30,
                interval=0.5,
                what="the labs' pods gone",
            )

        stack.callback(shorten_grace)
        yield namespaces


# -- reading what the user reads -------------------------------------------------------


EPS = 2.0
"""The spec's allowance for kubelet-side latency (PLEG, status push)."""


def stamp(value: str) -> float:
    """An RFC 3339 time (a log stamp or a status field) as seconds since the epoch."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class LogLine:
    at: float
    text: str


def log_lines(kubectl: Kubectl, ns: str, pod: str, *, previous: bool = False) -> list[LogLine]:
    """The app's stamped stdout lines (``kubectl logs``, or ``--previous``)."""
    args = ["logs", pod, "-n", ns, *(["--previous"] if previous else [])]
    res = kubectl(*args)
    if res.rc != 0:
        return []
    lines = (_STAMP.match(line) for line in res.out.splitlines())
    return [LogLine(stamp(m.group(1)), m.group(2)) for m in lines if m]


def describe(kubectl: Kubectl, ns: str, pod: str) -> str:
    return squash(kubectl.ok("describe", "pod", pod, "-n", ns).out)


def events(kubectl: Kubectl, ns: str, pod: str, reason: str | None = None) -> list[dict[str, Any]]:
    """The pod's events, oldest first, optionally of one reason."""
    selector = f"involvedObject.name={pod}" + (f",reason={reason}" if reason else "")
    items: list[dict[str, Any]] = kubectl.ok(
        "get", "events", "-n", ns, "--field-selector", selector, "-o", "json"
    ).json()["items"]
    return sorted(items, key=lambda e: e.get("firstTimestamp") or "")


def event_count(items: list[dict[str, Any]], text: str) -> int:
    """How many times (counting repeats) an event whose message contains ``text`` fired."""
    return sum(int(e.get("count") or 1) for e in items if text in e.get("message", ""))


def restarts(kubectl: Kubectl, ns: str, pod: str) -> int:
    row = get_row(kubectl, ns, pod)
    return int(row[3].split()[0]) if len(row) > 3 else -1


def wait_ready_running(kubectl: Kubectl, ns: str, pod: str, timeout: float) -> None:
    """Poll ``kubectl get pod`` until the row reads READY 1/1, Running, RESTARTS 0."""

    def ready() -> bool:
        row = get_row(kubectl, ns, pod)
        return row[1:4] == ["1/1", "Running", "0"]

    wait_for(ready, timeout=timeout, interval=0.5, what=f"{pod} 1/1 Running")


def ready_since(pod: dict[str, Any]) -> float | None:
    """When the pod's Ready condition last became True, or None while it is not True."""
    for cond in pod.get("status", {}).get("conditions", []):
        if cond["type"] == "Ready" and cond["status"] == "True":
            return stamp(cond["lastTransitionTime"])
    return None


def report(what: str, measured: float, low: float, high: float | None = None) -> None:
    """Print one timing against its spec bound(s), with the margin ε to the nearer bound."""
    bound = f"[{low:g}, {high:g}] s" if high is not None else f">= {low:g} s"
    eps = measured - low if high is None else min(measured - low, high - measured)
    print(f"timing {what}: {measured:.2f} s, spec {bound}, ε {eps:+.2f} s")


def assert_exec_liveness_restart(kubectl: Kubectl, ns: str, pod: str) -> str:
    """L1's outcome for the busybox-style pod; returns the final describe text."""
    wait_for(
        lambda: restarts(kubectl, ns, pod) >= 1, timeout=120, interval=1, what=f"{pod} RESTARTS 1"
    )
    text = describe(kubectl, ns, pod)
    assert f"Liveness probe failed: {CAT_ERROR}" in text, text
    assert "Container liveness failed liveness probe, will be restarted" in text, text
    assert re.search(r"Last State: Terminated\s+Reason: Error\s+Exit Code: 137\b", text), text
    # The second restart comes about 75 s after the first: a late reader may see 2.
    assert re.search(r"Restart Count: [12]\b", text), text
    return text


# -- L1, seed 000's way: first, so its wait overlaps the other labs' -----------------


def test_l1_kubectl_exec_rm_fails_the_exec_probe_and_restarts(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """L1 (seed 000): `kubectl exec -- rm /tmp/healthy` makes `cat` fail and the container restart."""
    ns = labs["l1"]
    wait_ready_running(kubectl, ns, "liveness-pod", timeout=30)
    # Past initialDelaySeconds (5 s), so the kill's timing is the probe's period alone.
    started = stamp(
        container_status(get_pod(kubectl, ns, "liveness-pod"), "liveness")["state"]["running"][
            "startedAt"
        ]
    )
    wait_for(lambda: time.time() >= started + 7, timeout=10, what="liveness-pod past its delay")
    kubectl.ok("exec", "liveness-pod", "-n", ns, "--", "rm", "/tmp/healthy")
    removed = time.time()
    wait_for(
        lambda: restarts(kubectl, ns, "liveness-pod") >= 1,
        timeout=40,
        interval=0.5,
        what="liveness-pod RESTARTS 1",
    )
    text = describe(kubectl, ns, "liveness-pod")
    assert f"Liveness probe failed: {CAT_ERROR}" in text, text
    assert "Container liveness failed liveness probe, will be restarted" in text, text
    # probeapp.py exits at once on SIGTERM: the previous instance completed with 0.
    assert re.search(r"Last State: Terminated\s+Reason: Completed\s+Exit Code: 0\b", text), text
    last = container_status(get_pod(kubectl, ns, "liveness-pod"), "liveness")["lastState"]
    # Three failures 5 s apart: the kill comes 10 to 15 s after the file went (the status
    # time is in whole seconds).
    stopped = stamp(last["terminated"]["finishedAt"]) - removed
    report("L1 rm → container stopped", stopped, 10, 16)
    assert 9 <= stopped <= 17, stopped


# -- L4 --------------------------------------------------------------------------------


def test_l4_readiness_on_a_missing_path_stays_0_of_1_and_probes_show_in_the_log(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """L4: /ready answering 404 keeps 0/1 Running; with /ready served it is 1/1; the log shows the probes and the custom header."""
    ns = labs["l4"]
    for pod in ("test-server-readiness-http", "test-server-liveness-http"):
        wait_ready_running(kubectl, ns, pod, timeout=40)
    # The missing path: every row seen while three readiness failures pile up reads 0/1.
    rows: list[list[str]] = []

    def three_failures() -> bool:
        rows.append(get_row(kubectl, ns, "nginx-pod-with-readiness-http"))
        unhealthy = events(kubectl, ns, "nginx-pod-with-readiness-http", "Unhealthy")
        return (
            event_count(unhealthy, "Readiness probe failed: HTTP probe failed with statuscode: 404")
            >= 3
        )

    wait_for(three_failures, timeout=60, interval=1, what="three readiness failures (404)")
    running = [r for r in rows if len(r) > 3 and r[2] == "Running"]
    assert running and all(r[1] == "0/1" and r[3] == "0" for r in running), rows
    nginx_log = log_lines(kubectl, ns, "nginx-pod-with-readiness-http")
    assert any(
        "GET /ready -> 404" in line.text and "User-Agent: kube-probe/1.33" in line.text
        for line in nginx_log
    ), nginx_log

    def both_probes_logged() -> list[LogLine] | None:
        lines = log_lines(kubectl, ns, "test-server-liveness-http")
        health = [x for x in lines if "GET /health -> 200" in x.text]
        ready = [x for x in lines if "GET /ready -> 200" in x.text]
        return lines if len(health) >= 2 and len(ready) >= 2 else None

    lines = wait_for(
        both_probes_logged, timeout=30, interval=1, what="liveness and readiness requests"
    )
    for line in lines:
        if "GET /health" in line.text:
            assert "User-Agent: kube-probe/1.33" in line.text, line
            assert "My-Custom-Header: My-Coustom-Header" in line.text, line
            assert '"Get health check"' in line.text, line
        elif "GET /ready" in line.text:
            assert "User-Agent: kube-probe/1.33" in line.text, line
            assert "My-Custom-Header" not in line.text, line  # the header is liveness's own

    readiness_pod = get_pod(kubectl, ns, "test-server-readiness-http")
    status = container_status(readiness_pod, "test-server")
    started = stamp(status["state"]["running"]["startedAt"])
    ready_at = ready_since(readiness_pod)
    assert ready_at is not None
    # initialDelaySeconds 5, periodSeconds 5: the first probe lands in [5, 10] s (status
    # times are whole seconds, hence the one-second slack on each side).
    report("L4 readiness 0/1 → 1/1 after container start", ready_at - started, 4, 11)
    assert 4 <= ready_at - started <= 11


# -- L9 --------------------------------------------------------------------------------


def test_l9_startup_probe_holds_liveness_back_until_it_succeeds(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """L9: no liveness request reaches the app before the startup probe's first success; no restart."""
    ns = labs["l9"]

    def liveness_running() -> list[LogLine] | None:
        lines = log_lines(kubectl, ns, "startup-http")
        return lines if sum("X-Probe: liveness" in x.text for x in lines) >= 3 else None

    lines = wait_for(liveness_running, timeout=60, interval=1, what="three liveness requests")
    app_start = lines[0].at
    startup = [x for x in lines if "X-Probe: startup" in x.text]
    liveness = [x for x in lines if "X-Probe: liveness" in x.text]
    first_ok = next(x for x in startup if "-> 200" in x.text)
    before = [x for x in startup if x.at < first_ok.at]
    assert before and all("-> 500" in x.text for x in before), startup
    assert all(x.at >= first_ok.at for x in liveness), (first_ok, liveness)
    # Once it has succeeded the startup probe is done: no startup request after it.
    assert startup[-1] is first_ok, startup
    assert all("-> 200" in x.text for x in liveness), liveness

    assert restarts(kubectl, ns, "startup-http") == 0
    text = describe(kubectl, ns, "startup-http")
    assert "Startup probe failed: HTTP probe failed with statuscode: 500" in text, text
    assert "Liveness probe failed" not in text, text
    status = container_status(get_pod(kubectl, ns, "startup-http"), "app")
    assert status["started"] is True and status["ready"] is True, status

    # --ok-after 10, startup probe at 3 s then every 3 s: the first 200 within [10, 13] s.
    report("L9 startup probe first success after app start", first_ok.at - app_start, 10, 13.5)
    report("L9 first liveness request after startup success", liveness[0].at - first_ok.at, 0, 2.5)
    # The app's clock starts just before its first log line: 10 s minus a few ms.
    assert 9.9 <= first_ok.at - app_start <= 13.5
    assert liveness[0].at - first_ok.at <= 2.5


def test_l9_tcp_readiness_flips_ready_once_the_port_opens(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """L9: the tcpSocket readiness probe fails (connection refused) while 8080 is closed, then READY 1/1."""
    ns = labs["l9"]
    wait_ready_running(kubectl, ns, "goproxy", timeout=60)
    unhealthy = events(kubectl, ns, "goproxy", "Unhealthy")
    assert event_count(unhealthy, "Readiness probe failed: dial tcp") >= 1, unhealthy
    assert all("connection refused" in e["message"] for e in unhealthy), unhealthy

    lines = log_lines(kubectl, ns, "goproxy")
    opened = next(x.at for x in lines if "tcp listening on port 8080" in x.text)
    pod = get_pod(kubectl, ns, "goproxy")
    ready_at = ready_since(pod)
    assert ready_at is not None
    started = stamp(container_status(pod, "goproxy")["state"]["running"]["startedAt"])
    # periodSeconds 10: READY flips at the first probe after the port opened, within one
    # period (plus a second for the whole-second status time).
    report("L9 tcp port open → Ready", ready_at - opened, -1, 11)
    # --start-delay 16: the flip comes at the first 10 s tick after the port opened.
    report("L9 tcp readiness 0/1 → 1/1 after container start", ready_at - started, 16, 27)
    assert -1 <= ready_at - opened <= 11
    assert any("tcp connection on port 8080" in x.text for x in lines), lines


def test_l9_busybox_exec_liveness_restarts_the_container(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """L9: seed 004's busybox exec example fails `cat /tmp/healthy` and is restarted with 137."""
    assert_exec_liveness_restart(kubectl, labs["l9"], "liveness-exec")


# -- L2 --------------------------------------------------------------------------------


def test_l2_initial_delay_postpones_the_first_probe(kubectl: Kubectl, labs: dict[str, str]) -> None:
    """L2: with initialDelaySeconds 15 the first probe request comes 15 s or more after the
    container started (its status ``startedAt``), and within a period after that."""
    ns = labs["l2d"]

    def container() -> dict[str, Any]:
        pod = kubectl.ok("get", "pod", "kubia-liveness", "-n", ns, "-o", "json").json()
        return pod["status"]["containerStatuses"][0]  # type: ignore[no-any-return]

    def first_instance() -> tuple[list[LogLine], str] | None:
        # An instance's log and its startedAt, read with no restart in between.
        before = container()
        for previous in (True, False):
            lines = log_lines(kubectl, ns, "kubia-liveness", previous=previous)
            if any("Received request #1 " in x.text for x in lines):
                state = before["lastState"] if previous else before["state"]
                started = (state.get("terminated") or state.get("running") or {}).get("startedAt")
                if started and container()["restartCount"] == before["restartCount"]:
                    return lines, started
        return None

    lines, started = wait_for(first_instance, timeout=60, interval=1, what="the first probe")
    first = next(x for x in lines if "Received request #1 " in x.text)
    assert "User-Agent: kube-probe/1.33" in first.text, first
    # startedAt is truncated to the second: the container started in [s, s + 1), and the
    # kubelet probes once whole seconds since then reach 15, at the next 3 s tick at most.
    gap = first.at - stamp(started)
    report("L2 first probe after container start (initialDelaySeconds 15)", gap, 15, 19 + EPS)
    assert 15 <= gap <= 19 + EPS, gap


def test_l2_http_liveness_restarts_repeat_and_describe_explains_each(
    kubectl: Kubectl, labs: dict[str, str]
) -> None:
    """L2: after five 200s the app answers 500; three failed probes restart it, again and again."""
    ns = labs["l2"]
    wait_for(
        lambda: restarts(kubectl, ns, "kubia-liveness") >= 2,
        timeout=120,
        interval=1,
        what="kubia-liveness RESTARTS 2",
    )
    text = describe(kubectl, ns, "kubia-liveness")
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in text, text
    assert "Container kubia failed liveness probe, will be restarted" in text, text
    assert re.search(r"Last State: Terminated\s+Reason: Error\s+Exit Code: 137\b", text), text
    killing = events(kubectl, ns, "kubia-liveness", "Killing")
    assert event_count(killing, "failed liveness probe, will be restarted") >= 2, killing
    unhealthy = events(kubectl, ns, "kubia-liveness", "Unhealthy")
    assert event_count(unhealthy, "statuscode: 500") >= 6, unhealthy

    # The killed instance answered five 200s, then exactly failureThreshold (3) 500s: once
    # liveness has failed the kubelet stops probing the container it is killing.
    previous = [
        x for x in log_lines(kubectl, ns, "kubia-liveness", previous=True) if "Received" in x.text
    ]
    codes = [x.text.split(" -> ")[1].split()[0] for x in previous]
    assert codes == ["200"] * 5 + ["500"] * 3, codes
    assert all("User-Agent: kube-probe/1.33" in x.text for x in previous)

    last = container_status(get_pod(kubectl, ns, "kubia-liveness"), "kubia")["lastState"]
    lived = stamp(last["terminated"]["finishedAt"]) - stamp(last["terminated"]["startedAt"])
    # 8 probes 3 s apart (the 8th is the third failure), then a 5 s grace period the app
    # ignores: about 21 + 5 s; whole-second status times, hence the slack.
    report("L2 container lifetime (probe failures + grace)", lived, 24, 29)
    kill_to_exit = stamp(last["terminated"]["finishedAt"]) - previous[-1].at
    report("L2 third failure → SIGKILL (grace 5 s)", kill_to_exit, 4, 6.5)
    assert 23 <= lived <= 30, lived


# -- L1, the busybox pod: last, it is the slowest lab ----------------------------------


def test_l1_exec_liveness_restarts_with_137(kubectl: Kubectl, labs: dict[str, str]) -> None:
    """L1: `cat /tmp/healthy` fails after the shell removes it; Killing, RESTARTS 1, Exit Code 137."""
    ns = labs["l1"]
    assert_exec_liveness_restart(kubectl, ns, "liveness-exec")
    assert re.search(
        r"liveness-exec 1/1 Running [12] \(\d+s ago\)",
        squash(kubectl.ok("get", "pod", "liveness-exec", "-n", ns).out),
    )
    status = container_status(get_pod(kubectl, ns, "liveness-exec"), "liveness")
    term = status["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "Error")
    if status["restartCount"] != 1:
        print("timing L1: read after the second restart, first-instance timings not measured")
        return
    started = stamp(term["startedAt"])
    unhealthy = events(kubectl, ns, "liveness-exec", "Unhealthy")
    killing = events(kubectl, ns, "liveness-exec", "Killing")
    first_failure = stamp(unhealthy[0]["firstTimestamp"])
    kill = stamp(killing[0]["firstTimestamp"])
    # The file goes at 30 s; probes every 5 s from 5 s: first failure in [30, 35] s, the
    # third (the kill) two periods later, SIGKILL after the 30 s grace the shell ignores.
    report("L1 first cat failure after start", first_failure - started, 30, 36)
    report("L1 Killing after start", kill - started, 40, 46)
    report("L1 Killing → exit (grace 30 s)", stamp(term["finishedAt"]) - kill, 29, 32)
    assert 29 <= first_failure - started <= 37
    assert 39 <= kill - started <= 47
    assert 28 <= stamp(term["finishedAt"]) - kill <= 33
