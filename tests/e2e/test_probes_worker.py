"""The prober worker's semantics and timing with real containers (spec §9.2, AT-18 … AT-39).

One real node for the module and one namespace. A module fixture creates every case's pod
in a single ``kubectl apply`` and starts a ``Timeline`` (two ``kubectl get -w`` processes
recording every pod and event write with its arrival time), so the cases run side by side
and the module lasts about as long as its longest observation window (AT-25, AT-29: 240 s).
Two cases need a hand during their run (AT-35 and AT-39 delete their pod at a given
moment); the fixture's driver threads do that, so no test depends on when pytest reaches it.

Time 0 is the container's ``state.running.startedAt`` (spec §9 conventions). The API's
times have one-second resolution; a bound in whole seconds between two such times is
checked on the truncated values themselves, which is exact (if ``b - a ≤ n`` for the real
times then ``⌊b⌋ - ⌊a⌋ ≤ n``, and likewise for ``≥``). Times read from the watch or from
the apps' millisecond log stamps are only ever used on the side of a bound where lateness
cannot produce a false failure. ``pytest -s`` prints every measured time, its bound and ε.

The apps are ``examples/apps/probeapp.py`` from a ConfigMap mounted at /apps, or a host
``/bin/sh`` script. Exec probes run host programs inside the container, so ``cat`` speaks
GNU coreutils, not busybox.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.probe_timeline import Seen, Timeline, report, stamp
from tests.e2e.test_kubelet_support import (
    container,
    container_status,
    kubectl_for,
    namespace,
    pod_yaml,
    require_oci,
)

pytestmark = [pytest.mark.e2e, pytest.mark.long]

REFUSED = "connect: connection refused"
AWAITING_HEADERS = "(Client.Timeout exceeded while awaiting headers)"

APPS = Path(__file__).resolve().parents[2] / "examples" / "apps"
EPS = 2  # the spec's ε: kubelet-side latency (PLEG 1 s + status push)
GRACE = 30  # the spec's default terminationGracePeriodSeconds for these cases
CAT_HEALTH = "cat: /tmp/health: No such file or directory"  # GNU cat, not busybox

# -- the pods --------------------------------------------------------------------------


def probeapp(*args: str, **extra: Any) -> dict[str, Any]:
    """The ``app`` container running probeapp.py with ``args``."""
    return {
        "name": "app",
        "image": "python:3.11-slim",
        "command": ["python3", "/apps/probeapp.py", *args],
        "volumeMounts": [{"name": "apps", "mountPath": "/apps"}],
        **extra,
    }


def shell(script: str, **extra: Any) -> dict[str, Any]:
    """The ``app`` container running ``script`` with the host's /bin/sh."""
    return container("app", script, **extra)


def http(path: str, port: int | str = 8080, **fields: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, **fields}


def exec_(*command: str, **fields: int) -> dict[str, Any]:
    return {"exec": {"command": list(command)}, **fields}


# A readiness exec probe whose result alternates on every run: fail, succeed, fail, …
TOGGLE = "if [ -e /tmp/failed ]; then rm /tmp/failed; else touch /tmp/failed; exit 1; fi"
# Traps SIGTERM so it can end at once (exit 0) instead of waiting out the grace period.
IDLE = "sleep 3600 & wait"

PODS: dict[str, dict[str, Any]] = {
    "at18": probeapp(readinessProbe=http("/ready", initialDelaySeconds=15)),
    "at19": probeapp("--status", "/ready=500", readinessProbe=http("/ready")),
    "at20": probeapp(
        "--fail-after-seconds",
        "10",
        "--fail-status",
        "503",
        readinessProbe=http("/ready", periodSeconds=1, failureThreshold=3),
    ),
    "at21": probeapp(
        "--ok-after",
        "10",
        readinessProbe=http("/ready", periodSeconds=1, successThreshold=3, failureThreshold=1),
    ),
    "at22": probeapp(
        readinessProbe=exec_("sh", "-c", TOGGLE, periodSeconds=1, failureThreshold=2),
    ),
    "at23": probeapp(
        "--fail-after-seconds",
        "10",
        # T = 3 (the spec leaves it open): on a loaded machine a 1 s budget can time out
        # while the app starts, a failure that is not the case's.
        livenessProbe=http("/healthz", periodSeconds=1, failureThreshold=3, timeoutSeconds=3),
    ),
    "at24": probeapp(
        "--port",
        "0",
        "--touch",
        "/tmp/health",
        "--remove-after",
        "10",
        "--ignore-sigterm",
        livenessProbe=exec_(
            "cat", "/tmp/health", initialDelaySeconds=15, timeoutSeconds=5, failureThreshold=1
        ),
    ),
    "at25": probeapp(
        "--port",
        "0",
        "--touch",
        "/tmp/health",
        "--ignore-sigterm",
        livenessProbe=exec_(
            "cat", "/tmp/health", initialDelaySeconds=15, timeoutSeconds=5, failureThreshold=1
        ),
    ),
    "at26": probeapp(
        "--status", "/healthz=500", livenessProbe=http("/healthz", initialDelaySeconds=30)
    ),
    "at28": probeapp(
        startupProbe=exec_("/bin/false", initialDelaySeconds=15, failureThreshold=3),
        livenessProbe=exec_("/bin/true"),
    ),
    "at29": probeapp(
        startupProbe=exec_("/bin/false", failureThreshold=60, periodSeconds=10),
        livenessProbe=exec_("/bin/false", failureThreshold=1, initialDelaySeconds=15),
    ),
    "at30": shell(
        f"trap 'exit 0' TERM; sleep 10; touch /tmp/startup; {IDLE}",
        startupProbe=exec_("cat", "/tmp/startup", initialDelaySeconds=15, failureThreshold=60),
        livenessProbe=exec_("/bin/false", initialDelaySeconds=15, failureThreshold=1),
    ),
    "at31": shell(
        f"touch /tmp/health; trap 'exit 0' TERM; sleep 32; touch /tmp/startup; {IDLE}",
        readinessProbe=exec_("cat", "/tmp/health", periodSeconds=30),
        startupProbe=exec_("cat", "/tmp/startup", periodSeconds=5, failureThreshold=120),
    ),
    "at32": probeapp(
        "--ok-after",
        "5",
        startupProbe=http("/healthz", periodSeconds=1, failureThreshold=30),
    ),
    "at33": probeapp(
        "--touch",
        "/tmp/startup",
        "--remove-after",
        "6",
        "--when-file",
        "/startup=/tmp/startup",
        startupProbe=http("/startup", initialDelaySeconds=3, periodSeconds=1, failureThreshold=3),
    ),
    "at34": probeapp(),
    "at35": shell(
        "touch /tmp/ready /tmp/liveness; "
        "trap 'rm -f /tmp/ready /tmp/liveness; sleep 20; exit 0' TERM; " + IDLE,
        readinessProbe=exec_("cat", "/tmp/ready", periodSeconds=2, failureThreshold=1),
        livenessProbe=exec_("cat", "/tmp/liveness", periodSeconds=1, failureThreshold=1),
    ),
    "at36": probeapp(
        livenessProbe=exec_("no-such-probe-binary"),
        readinessProbe=http("/ready"),
    ),
    "at37": probeapp(
        ports=[{"name": "http", "containerPort": 8080}],
        readinessProbe=http("/ready", port="web"),
    ),
    "at38": probeapp(
        ports=[{"name": "http", "containerPort": 8080}],
        readinessProbe=http("/named", port="http"),
    ),
    "at39": probeapp(
        "--ignore-sigterm",
        startupProbe=exec_("/bin/false", periodSeconds=1, failureThreshold=10),
    ),
}


def manifests(ns: str) -> str:
    volumes = [{"name": "apps", "configMap": {"name": "example-apps"}}]
    return "---\n".join(
        pod_yaml(name, ns, [spec], grace=GRACE, volumes=volumes) for name, spec in PODS.items()
    )


# -- the run ---------------------------------------------------------------------------


@dataclass
class Run:
    kubectl: Kubectl
    ns: str
    timeline: Timeline
    deleted: dict[str, float] = field(default_factory=dict)
    driver_errors: dict[str, BaseException] = field(default_factory=dict)


def _delete_when(run: Run, pod: str, ready: Callable[[], Any], timeout: float) -> None:
    """Driver: delete ``pod`` (without waiting) as soon as ``ready()`` holds."""
    try:
        wait_for(ready, timeout=timeout, interval=0.25, what=f"{pod} ready to be deleted")
        run.deleted[pod] = time.time()
        run.kubectl.ok("delete", "pod", pod, "-n", run.ns, "--wait=false")
    except BaseException as err:  # reported by the test that needs the deletion
        run.driver_errors[pod] = err


@pytest.fixture(scope="module")
def run(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    require_oci(node)
    kubectl = kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))
    with contextlib.ExitStack() as stack:
        ns = stack.enter_context(namespace(kubectl, "probes"))
        kubectl.ok("create", "configmap", "example-apps", f"--from-file={APPS}", "-n", ns)
        timeline = Timeline(kubectl, ns)
        timeline.start()
        stack.callback(timeline.stop)
        r = Run(kubectl, ns, timeline)
        kubectl.ok("apply", "-f", "-", stdin=manifests(ns))
        drivers = [
            threading.Thread(
                target=_delete_when,
                args=(r, "at35", lambda: timeline.first_pod("at35", is_ready), 90),
            ),
            threading.Thread(
                target=_delete_when,
                args=(r, "at39", lambda: timeline.event_count("at39", "Startup probe") >= 2, 90),
            ),
        ]
        for d in drivers:
            d.start()
        try:
            yield r
        finally:
            for d in drivers:
                d.join(timeout=120)


# -- reading a pod ---------------------------------------------------------------------


def condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in pod.get("status", {}).get("conditions", []):
        if cond["type"] == kind:
            found: dict[str, Any] = cond
            return found
    return {}


def is_ready(pod: dict[str, Any]) -> bool:
    return condition(pod, "Ready").get("status") == "True"


def app(pod: dict[str, Any]) -> dict[str, Any]:
    return container_status(pod, "app")


def summary(history: list[Seen]) -> list[tuple[Any, ...]]:
    """A pod's history in brief, for failure messages."""
    return [
        (
            f"{s.at:.2f}",
            s.type,
            s.obj.get("status", {}).get("phase"),
            condition(s.obj, "Ready").get("status"),
            sorted(app(s.obj).get("state", {})),
            app(s.obj).get("started"),
            app(s.obj).get("ready"),
            app(s.obj).get("restartCount"),
        )
        for s in history
    ]


def restarts(pod: dict[str, Any]) -> int:
    return int(app(pod).get("restartCount", 0))


def running_since(pod: dict[str, Any]) -> str | None:
    return app(pod).get("state", {}).get("running", {}).get("startedAt")


@dataclass(frozen=True)
class Start:
    """The first container instance of a case's pod: its startedAt (whole seconds) and ID."""

    at: float
    container_id: str


def first_start(run: Run, pod: str) -> Start:
    seen: Seen = wait_for(
        lambda: run.timeline.first_pod(pod, running_since),
        timeout=90,
        interval=0.25,
        what=f"{pod} running",
    )
    status = app(seen.obj)
    return Start(stamp(status["state"]["running"]["startedAt"]), status["containerID"])


def await_pod(
    run: Run, pod: str, pred: Callable[[dict[str, Any]], Any], by: float, what: str
) -> Seen:
    """The first snapshot of ``pod`` satisfying ``pred``, waiting until epoch time ``by``."""
    seen: Seen = wait_for(
        lambda: run.timeline.first_pod(pod, pred),
        timeout=max(1.0, by - time.time()),
        interval=0.25,
        what=f"{pod}: {what}",
    )
    return seen


def observe_until(when: float) -> None:
    """Wait for an observation window to end: the pod's clock, not a stand-in for a state."""
    wait_for(lambda: time.time() >= when, timeout=max(1.0, when - time.time() + 5), interval=0.5)


def events(run: Run, pod: str, reason: str | None = None) -> list[dict[str, Any]]:
    """The pod's events through ``kubectl get events``, oldest first."""
    selector = f"involvedObject.name={pod}" + (f",reason={reason}" if reason else "")
    items: list[dict[str, Any]] = run.kubectl.ok(
        "get", "events", "-n", run.ns, "--field-selector", selector, "-o", "json"
    ).json()["items"]
    return sorted(items, key=lambda e: e.get("firstTimestamp") or "")


def written(run: Run, pod: str, reason: str) -> list[dict[str, Any]]:
    """The pod's ``reason`` events once there is one: the kubelet writes events after the
    fact, so a restart or a deletion can be in the store before the Killing that caused it."""
    found: list[dict[str, Any]] = wait_for(
        lambda: events(run, pod, reason), timeout=30, interval=0.25, what=f"{pod}: {reason}"
    )
    return found


def count(items: list[dict[str, Any]], text: str) -> int:
    return sum(int(e.get("count") or 1) for e in items if text in e.get("message", ""))


def the_event(items: list[dict[str, Any]], message: str) -> dict[str, Any]:
    found = [e for e in items if e.get("message") == message]
    assert len(found) == 1, (message, items)
    return found[0]


@dataclass(frozen=True)
class LogLine:
    at: float
    text: str


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (.*)$")


def app_log(run: Run, pod: str, *, previous: bool = False) -> list[LogLine]:
    """probeapp's stamped stdout lines (``kubectl logs``, or ``--previous``)."""
    res = run.kubectl.ok("logs", pod, "-n", run.ns, *(["--previous"] if previous else []))
    lines = (_STAMP.match(line) for line in res.out.splitlines())
    return [LogLine(stamp(m.group(1)), m.group(2)) for m in lines if m]


def app_started(lines: list[LogLine]) -> float:
    return next(x.at for x in lines if "probeapp starting" in x.text)


def requests(lines: list[LogLine], path: str) -> list[LogLine]:
    return [x for x in lines if f" GET {path} -> " in x.text]


def code(line: LogLine) -> str:
    return line.text.split(" -> ")[1].split()[0]


# -- AT-18 … AT-22: readiness ----------------------------------------------------------


def test_at18_readiness_waits_for_the_initial_delay(run: Run) -> None:
    """AT-18: with initialDelaySeconds 15 the pod is NotReady (ContainersNotReady) until the first probe, then Ready, never restarted."""
    start = first_start(run, "at18")
    became = await_pod(run, "at18", is_ready, start.at + 27 + 10, "Ready")
    history = run.timeline.pod("at18")
    assert became.at >= start.at + 15, f"Ready before the initial delay: {summary(history)}"
    before = [s for s in history if s.at < became.at and running_since(s.obj)]
    assert before, summary(history)
    for s in before:
        ready = condition(s.obj, "Ready")
        assert ready.get("status") == "False", s.obj["status"]
        assert ready.get("reason") == "ContainersNotReady", ready
        assert ready.get("message") == "containers with unready status: [app]", ready
        assert app(s.obj)["ready"] is False, app(s.obj)
    transition = stamp(condition(became.obj, "Ready")["lastTransitionTime"]) - start.at
    report("AT-18", "Ready transition after start", transition, 15, 15 + 10 + EPS)
    report("AT-18", "Ready first seen after start", became.at - start.at, 15, None)
    assert became.at - start.at >= 15
    assert 15 <= transition <= 15 + 10 + EPS
    assert app(became.obj)["ready"] is True
    assert all(restarts(s.obj) == 0 for s in run.timeline.pod("at18"))


def test_at19_failing_readiness_is_never_ready_and_never_restarts(run: Run) -> None:
    """AT-19: readiness answering 500 keeps the pod Running, not Ready, unrestarted for 60 s; one Unhealthy per period."""
    start = first_start(run, "at19")
    observe_until(start.at + 60)
    history = run.timeline.pod("at19")
    assert not any(is_ready(s.obj) for s in history)
    latest = run.timeline.latest_pod("at19")
    assert latest is not None
    assert latest["status"]["phase"] == "Running"
    assert restarts(latest) == 0 and running_since(latest)
    unhealthy = events(run, "at19", "Unhealthy")
    text = "Readiness probe failed: HTTP probe failed with statuscode: 500"
    assert any(e["message"] == text for e in unhealthy), unhealthy
    assert_only_before_listening([e for e in unhealthy if e["message"] != text])
    assert all(e["type"] == "Warning" for e in unhealthy)
    writes = [s.at for s in run.timeline.event_writes("at19") if s.obj.get("message") == text]
    gaps = sorted(b - a for a, b in itertools.pairwise(writes))
    total = count(unhealthy, text)
    elapsed = time.time() - start.at
    print(f"AT-19: {total} Unhealthy over {elapsed:.0f} s, write gaps {gaps}")
    # One attempt at once, then one per 10 s period.
    assert elapsed / 10 - 1 <= total <= elapsed / 10 + 2, unhealthy
    median = gaps[len(gaps) // 2]
    report("AT-19", "median gap between Unhealthy events", median, 10 - EPS, 10 + EPS)
    assert 10 - EPS <= median <= 10 + EPS, gaps


def test_at20_readiness_flips_after_the_third_consecutive_failure(run: Run) -> None:
    """AT-20: P=1, F=3: Ready stays True through two 503s and goes False after the third; no restart."""
    start = first_start(run, "at20")

    def flipped() -> Seen | None:
        history = run.timeline.pod("at20")
        was = next((i for i, s in enumerate(history) if is_ready(s.obj)), None)
        if was is None:
            return None
        return next((s for s in history[was:] if not is_ready(s.obj)), None)

    flip = wait_for(
        flipped,
        timeout=max(1.0, start.at + 30 - time.time()),
        interval=0.25,
        what="at20 Ready True then False",
    )
    lines = app_log(run, "at20")
    u = app_started(lines) + 10
    failures = [x for x in requests(lines, "/ready") if code(x) == "503"]
    assert len(failures) >= 3, lines
    # The flip is the third failure's doing: seen no earlier than that response.
    assert flip.at >= failures[2].at, (flip.at, failures[:3])
    ready = condition(flip.obj, "Ready")
    assert ready["reason"] == "ContainersNotReady", ready
    transition = stamp(ready["lastTransitionTime"])
    report("AT-20", "flip after u (watch)", flip.at - u, 2, 3 + 1 + EPS)
    report("AT-20", "flip after u (lastTransitionTime)", transition - u, 2 - 1, 3 + 1 + EPS)
    assert flip.at - u >= 2
    assert transition - u <= 3 + 1 + EPS
    # Three Unhealthy events by the flip (the watch saw them no later than the status).
    text = "Readiness probe failed: HTTP probe failed with statuscode: 503"
    assert run.timeline.event_count("at20", text, until=flip.at + 1) >= 3
    assert count(events(run, "at20", "Unhealthy"), text) >= 3
    assert all(restarts(s.obj) == 0 for s in run.timeline.pod("at20"))


def test_at21_readiness_needs_three_consecutive_successes(run: Run) -> None:
    """AT-21: P=1, S=3, F=1: the pod turns Ready only after three successes in a row."""
    start = first_start(run, "at21")
    became = await_pod(run, "at21", is_ready, start.at + 30, "Ready")
    lines = app_log(run, "at21")
    v = app_started(lines) + 10
    oks = [x for x in requests(lines, "/ready") if code(x) == "200"]
    assert len(oks) >= 3, lines
    history = run.timeline.pod("at21")
    assert became.at >= oks[2].at, f"Ready before three successes: {summary(history)}"
    transition = stamp(condition(became.obj, "Ready")["lastTransitionTime"])
    report("AT-21", "Ready after v (watch)", became.at - v, 2, 3 + EPS)
    report("AT-21", "Ready after v (lastTransitionTime)", transition - v, 2 - 1, 3 + EPS)
    assert became.at - v >= 2
    assert transition - v <= 3 + EPS
    assert count(events(run, "at21", "Unhealthy"), "Readiness probe failed: HTTP probe") >= 1


def test_at22_alternating_results_never_reach_two_failures(run: Run) -> None:
    """AT-22: P=1, F=2 with results alternating fail/success: Ready never goes False in 30 s."""
    start = first_start(run, "at22")
    became = await_pod(run, "at22", is_ready, start.at + 20, "Ready")
    observe_until(became.at + 30)
    after = [s for s in run.timeline.pod("at22") if s.at >= became.at]
    assert all(is_ready(s.obj) for s in after), [condition(s.obj, "Ready") for s in after]
    text = "Readiness probe failed: "  # `sh -c` exits 1 silently
    failed = run.timeline.event_count("at22", text, until=became.at + 30)
    failed -= run.timeline.event_count("at22", text, until=became.at)
    print(f"AT-22: {failed} readiness failures in the 30 s window, Ready throughout")
    # About 15 failing attempts in 30 s: the failures were real, just never two in a row.
    assert failed >= 8
    assert all(restarts(s.obj) == 0 for s in after)


# -- AT-23 … AT-27: liveness -----------------------------------------------------------


def test_at23_liveness_kills_after_three_failures_and_restarts(run: Run) -> None:
    """AT-23: P=1, F=3: three Unhealthy, then Killing; the app exits 0 (Completed) and is restarted."""
    start = first_start(run, "at23")
    restarted = await_pod(
        run, "at23", lambda p: restarts(p) >= 1 and running_since(p), start.at + 40, "restarted"
    )
    status = app(restarted.obj)
    term = status["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed"), term
    assert term["containerID"] == start.container_id
    assert status["containerID"] != start.container_id and "running" in status["state"]

    killing = written(run, "at23", "Killing")
    kill = the_event(killing, "Container app failed liveness probe, will be restarted")
    text = "Liveness probe failed: HTTP probe failed with statuscode: 500"
    unhealthy = events(run, "at23", "Unhealthy")
    assert count(unhealthy, text) >= 3, unhealthy
    # The only other failures allowed: attempts right at start, before the app listened
    # (refused) or while it was still coming up (no answer in time).
    others = [e["message"] for e in unhealthy if e["message"] != text]
    assert all(m.endswith((REFUSED, AWAITING_HEADERS)) for m in others), others
    failing = [e for e in unhealthy if e["message"] == text]
    assert stamp(failing[0]["firstTimestamp"]) <= stamp(kill["firstTimestamp"])
    # Exactly three by the restart (the new instance answers 200 for its first 10 s).
    assert run.timeline.event_count("at23", text, until=restarted.at) == 3

    # The killed instance answered 200s, then exactly three 500s, then got SIGTERM.
    previous = app_log(run, "at23", previous=True)
    codes = [code(x) for x in requests(previous, "/healthz")]
    assert codes[-3:] == ["500"] * 3 and set(codes[:-3]) == {"200"}, codes
    assert any("SIGTERM received" in x.text for x in previous)

    killed = stamp(kill["firstTimestamp"]) - stamp(term["startedAt"])
    report("AT-23", "kill after start", killed, 12, 10 + 3 + 3 + EPS)
    assert 12 <= killed <= 10 + 3 + 3 + EPS
    gap = stamp(status["state"]["running"]["startedAt"]) - stamp(term["finishedAt"])
    report("AT-23", "restart after exit", gap, 0, EPS)
    assert 0 <= gap <= EPS


def test_at24_exec_liveness_kills_and_the_grace_period_is_waited_out(run: Run) -> None:
    """AT-24: `cat /tmp/health` fails once (F=1) → Killing; the app ignores SIGTERM, exits 137 after 30 s; restartCount 1."""
    start = first_start(run, "at24")
    restarted = await_pod(
        run,
        "at24",
        lambda p: restarts(p) >= 1 and running_since(p),
        start.at + 27 + 34 + 10,
        "restarted",
    )
    status = app(restarted.obj)
    assert status["restartCount"] == 1
    term = status["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "Error"), term
    failed = f"Liveness probe failed: {CAT_HEALTH}"
    # One failure was enough: exactly one Unhealthy before the restart.
    assert run.timeline.event_count("at24", failed, until=restarted.at) == 1
    assert run.timeline.event_count("at24", "", until=restarted.at, reason="Unhealthy") == 1
    unhealthy = events(run, "at24", "Unhealthy")
    # The exec output is passed on as it is, with cat's trailing newline.
    assert unhealthy and unhealthy[0]["message"].rstrip("\n") == failed, unhealthy
    kill = the_event(
        written(run, "at24", "Killing"), "Container app failed liveness probe, will be restarted"
    )
    killed = stamp(kill["firstTimestamp"])
    report("AT-24", "kill after start", killed - start.at, 15, 25 + EPS)
    report("AT-24", "exit after kill", stamp(term["finishedAt"]) - killed, 30, 32)
    report(
        "AT-24",
        "restart after kill",
        stamp(running_since(restarted.obj) or "") - killed,
        30,
        32 + EPS,
    )
    assert 15 <= killed - start.at <= 25 + EPS
    assert 30 <= stamp(running_since(restarted.obj) or "") - killed <= 32 + EPS


def test_at26_liveness_is_silent_during_the_initial_delay(run: Run) -> None:
    """AT-26: a liveness probe that always fails with D=30: no request, event or restart before 30 s."""
    start = first_start(run, "at26")
    text = "Liveness probe failed: HTTP probe failed with statuscode: 500"
    wait_for(
        lambda: run.timeline.event_count("at26", text) >= 1,
        timeout=max(1.0, start.at + 30 + 10 + EPS + 10 - time.time()),
        interval=0.25,
        what="at26 first liveness failure",
    )
    first = events(run, "at26", "Unhealthy")[0]
    assert first["message"] == text
    # The first probe request of the instance whose log is at hand, from its own start.
    pod = run.timeline.latest_pod("at26")
    assert pod is not None
    status = app(pod)
    if restarts(pod) == 0:
        lines, since = app_log(run, "at26"), status["state"]["running"]["startedAt"]
    else:
        lines = app_log(run, "at26", previous=True)
        since = status["lastState"]["terminated"]["startedAt"]
    probes = requests(lines, "/healthz")
    assert probes, lines
    report(
        "AT-26", "first Unhealthy after start", stamp(first["firstTimestamp"]) - start.at, 30, None
    )
    report("AT-26", "first probe request after start", probes[0].at - stamp(since), 30, None)
    assert stamp(first["firstTimestamp"]) - start.at >= 30
    assert probes[0].at - stamp(since) >= 30
    early = [s for s in run.timeline.pod("at26") if s.at < start.at + 30]
    assert early and all(restarts(s.obj) == 0 for s in early)


def test_at27_the_restarted_container_gets_a_fresh_failure_count(run: Run) -> None:
    """AT-27: after AT-23's restart the new container is killed only after a new D + F failures (≥ 12 s)."""
    first_start(run, "at23")
    second = await_pod(
        run,
        "at23",
        lambda p: restarts(p) >= 2 and running_since(p),
        time.time() + 60,
        "second restart",
    )
    term = app(second.obj)["lastState"]["terminated"]
    started2 = stamp(term["startedAt"])
    writes = [
        s
        for s in run.timeline.event_writes("at23")
        if s.obj.get("message") == "Container app failed liveness probe, will be restarted"
        and int(s.obj.get("count") or 1) == 2
    ]
    assert writes, run.timeline.event_writes("at23")
    kill2 = stamp(writes[0].obj["lastTimestamp"])
    report("AT-27", "second kill after the new startedAt", kill2 - started2, 10 + 2 * 1, None)
    assert kill2 - started2 >= 10 + (3 - 1) * 1
    previous = app_log(run, "at23", previous=True)
    codes = [code(x) for x in requests(previous, "/healthz")]
    assert codes[-3:] == ["500"] * 3 and set(codes[:-3]) == {"200"} and len(codes) > 3, codes


# -- AT-28 … AT-33: startup ------------------------------------------------------------


def test_at28_failing_startup_probe_kills(run: Run) -> None:
    """AT-28: startup `/bin/false` D=15, F=3: started stays false; Killing … failed startup probe; restartCount 1."""
    start = first_start(run, "at28")
    restarted = await_pod(
        run, "at28", lambda p: restarts(p) >= 1, start.at + 15 + 30 + EPS + 15, "restarted"
    )
    first = [
        s for s in run.timeline.pod("at28") if app(s.obj).get("containerID") == start.container_id
    ]
    assert all(app(s.obj).get("started") is False for s in first), [app(s.obj) for s in first]
    assert app(restarted.obj)["restartCount"] == 1
    kill = the_event(
        written(run, "at28", "Killing"), "Container app failed startup probe, will be restarted"
    )
    assert count(events(run, "at28", "Unhealthy"), "Startup probe failed: ") >= 3
    assert not run.timeline.event_count("at28", "Liveness probe")
    killed = stamp(kill["firstTimestamp"]) - start.at
    report("AT-28", "kill after start", killed, 15 + 2 * 10, 15 + 3 * 10 + EPS)
    assert 15 + 2 * 10 <= killed <= 15 + 3 * 10 + EPS


def test_at30_startup_success_lets_liveness_kill(run: Run) -> None:
    """AT-30: the startup probe succeeds once /tmp/startup exists; then liveness `/bin/false` kills; restartCount 1."""
    start = first_start(run, "at30")
    restarted = await_pod(run, "at30", lambda p: restarts(p) >= 1, start.at + 37 + 15, "restarted")
    first = [
        s for s in run.timeline.pod("at30") if app(s.obj).get("containerID") == start.container_id
    ]
    assert any(app(s.obj).get("started") is True for s in first), [app(s.obj) for s in first]
    assert app(restarted.obj)["restartCount"] == 1
    kill = the_event(
        written(run, "at30", "Killing"), "Container app failed liveness probe, will be restarted"
    )
    assert count(events(run, "at30", "Unhealthy"), "Liveness probe failed: ") >= 1
    assert not any("startup" in e["message"] for e in events(run, "at30", "Killing"))
    killed = stamp(kill["firstTimestamp"]) - start.at
    report("AT-30", "kill after start", killed, 15, 15 + 2 * 10 + EPS)
    assert 15 <= killed <= 15 + 2 * 10 + EPS


def test_at31_readiness_runs_at_once_when_startup_succeeds(run: Run) -> None:
    """AT-31: readiness P=30 is triggered as soon as started=true: Ready right after startup success."""
    start = first_start(run, "at31")
    started = await_pod(
        run, "at31", lambda p: app(p).get("started") is True, start.at + 32 + 5 + 15, "started"
    )
    became = await_pod(run, "at31", is_ready, started.at + 30 + 10, "Ready")
    history = run.timeline.pod("at31")
    transition = stamp(condition(became.obj, "Ready")["lastTransitionTime"])
    report("AT-31", "started=true after start", started.at - start.at, 32, None)
    report("AT-31", "Ready after started (lastTransitionTime)", transition - started.at, None, EPS)
    report("AT-31", "Ready after started (watch)", became.at - started.at, None, 25)
    assert started.at - start.at >= 32, f"started before /tmp/startup existed: {summary(history)}"
    assert became.at - started.at <= 25  # upstream's bound
    assert transition - started.at <= EPS  # the target: triggered at once, not on a tick
    assert all(not is_ready(s.obj) for s in run.timeline.pod("at31") if s.at < started.at)


def test_at32_without_readiness_probe_ready_follows_startup(run: Run) -> None:
    """AT-32: no readiness probe: the pod is Ready as soon as the startup probe succeeds."""
    start = first_start(run, "at32")
    became = await_pod(run, "at32", is_ready, start.at + 5 + 30, "Ready")
    lines = app_log(run, "at32")
    success = next(x.at for x in requests(lines, "/healthz") if code(x) == "200")
    assert app(became.obj)["started"] is True and app(became.obj)["ready"] is True
    history = run.timeline.pod("at32")
    assert all(not is_ready(s.obj) for s in history if s.at < success), summary(history)
    transition = stamp(condition(became.obj, "Ready")["lastTransitionTime"])
    report(
        "AT-32", "Ready after startup success (lastTransitionTime)", transition - success, None, EPS
    )
    report("AT-32", "Ready after startup success (watch)", became.at - success, 0, None)
    assert transition - success <= EPS


def test_at33_startup_probe_is_not_rerun_after_success(run: Run) -> None:
    """AT-33: the startup probe succeeds at its first attempt and never runs again: no events for 60 s."""
    start = first_start(run, "at33")
    observe_until(start.at + 60)
    lines = app_log(run, "at33")
    assert any("removed /tmp/startup" in x.text for x in lines), lines
    startup = requests(lines, "/startup")
    assert [code(x) for x in startup] == ["200"], startup
    assert_only_before_listening(events(run, "at33", "Unhealthy"))
    latest = run.timeline.latest_pod("at33")
    assert latest is not None
    assert app(latest)["started"] is True and restarts(latest) == 0
    print(f"AT-33: {len(startup)} startup request(s) in {time.time() - start.at:.0f} s")


def test_at34_no_probes_ready_as_soon_as_running(run: Run) -> None:
    """AT-34: a container without probes is started, ready and the pod Ready as soon as it runs."""
    start = first_start(run, "at34")
    became = await_pod(run, "at34", is_ready, start.at + EPS + 10, "Ready")
    status = app(became.obj)
    assert status["started"] is True and status["ready"] is True
    transition = stamp(condition(became.obj, "Ready")["lastTransitionTime"]) - start.at
    report("AT-34", "Ready after start", transition, None, EPS)
    assert transition <= EPS


# -- AT-35, AT-39: termination ---------------------------------------------------------


def await_deletion(run: Run, pod: str, by: float) -> Seen:
    def gone() -> Seen | None:
        if pod in run.driver_errors:
            raise AssertionError(f"deleting {pod} failed") from run.driver_errors[pod]
        return run.timeline.deleted(pod)

    seen: Seen = wait_for(
        gone, timeout=max(1.0, by - time.time()), interval=0.25, what=f"{pod} deleted"
    )
    return seen


def test_at35_terminating_pod_turns_unready_and_liveness_stays_quiet(run: Run) -> None:
    """AT-35: deleted, the app removes its probe files and takes 20 s: Ready False at once, no liveness kill, exit 0."""
    start = first_start(run, "at35")
    deleted = await_deletion(run, "at35", start.at + 90 + 40)
    history = run.timeline.pod("at35")
    marked = next(s for s in history if s.obj["metadata"].get("deletionTimestamp"))
    unready = next((s for s in history if s.at >= marked.at and not is_ready(s.obj)), None)
    assert unready is not None, [condition(s.obj, "Ready") for s in history]
    sigterm = stamp(marked.obj["metadata"]["deletionTimestamp"]) - GRACE
    transition = stamp(condition(unready.obj, "Ready")["lastTransitionTime"])
    report("AT-35", "Ready False after deletion (watch)", unready.at - marked.at, 0, 2 + EPS)
    report(
        "AT-35", "Ready False after SIGTERM (lastTransitionTime)", transition - sigterm, 0, 2 + EPS
    )
    assert unready.at - marked.at <= 2 + EPS
    assert transition - sigterm <= 2 + EPS
    # Ready went False during the grace period: the container was still running then.
    assert "running" in app(unready.obj).get("state", {}), app(unready.obj)
    final = [app(s.obj) for s in history if "terminated" in app(s.obj).get("state", {})]
    assert final, [app(s.obj) for s in history[-3:]]
    assert final[-1]["state"]["terminated"]["exitCode"] == 0, final[-1]
    lived = stamp(final[-1]["state"]["terminated"]["finishedAt"]) - sigterm
    report("AT-35", "exit after SIGTERM (app sleeps 20 s)", lived, 20, GRACE)
    killing = written(run, "at35", "Killing")
    assert [e["message"] for e in killing] == ["Stopping container app"], killing
    assert count(events(run, "at35", "Unhealthy"), "Readiness probe failed: cat: /tmp/ready") >= 1
    assert deleted.at >= marked.at
    assert all(restarts(s.obj) == 0 for s in history)


def test_at39_deleting_during_failing_startup_does_not_kill_for_startup(run: Run) -> None:
    """AT-39: deleted while its startup probe fails: the only Killing is `Stopping container app`."""
    start = first_start(run, "at39")
    await_deletion(run, "at39", start.at + 90 + GRACE + 15)
    killing = written(run, "at39", "Killing")
    assert [e["message"] for e in killing] == ["Stopping container app"], killing
    failures = count(events(run, "at39", "Unhealthy"), "Startup probe failed: ")
    print(
        f"AT-39: {failures} startup failures in all (F=10); deleted at "
        f"t={run.deleted['at39'] - start.at:.1f}s"
    )
    assert 2 <= failures < 10
    assert all(restarts(s.obj) == 0 for s in run.timeline.pod("at39"))


# -- AT-36 … AT-38: errors and named ports ---------------------------------------------


def test_at36_liveness_with_a_missing_binary_errors_but_never_restarts(run: Run) -> None:
    """AT-36: `no-such-probe-binary` errors (unknown state) on every attempt; no restart; Ready unaffected."""
    start = first_start(run, "at36")
    observe_until(start.at + 60)
    unhealthy = events(run, "at36", "Unhealthy")
    prefix = "Liveness probe errored and resulted in unknown state: "
    detail = (
        "OCI runtime exec failed: exec failed: unable to start container process: "
        'exec: "no-such-probe-binary": executable file not found in $PATH'
    )
    liveness = [e for e in unhealthy if e["message"].startswith("Liveness")]
    assert liveness, "no Liveness Unhealthy events"
    for e in liveness:
        assert e["message"].startswith(prefix + detail), e["message"]
    # The readiness probe only ever failed before the app listened.
    for e in unhealthy:
        if e not in liveness:
            assert e["message"].endswith(REFUSED), e["message"]
    total = count(unhealthy, prefix)
    print(f"AT-36: {total} errored liveness attempts in {time.time() - start.at:.0f} s")
    assert total >= 3
    assert events(run, "at36", "Killing") == []
    history = run.timeline.pod("at36")
    assert all(restarts(s.obj) == 0 for s in history)
    assert is_ready(history[-1].obj), condition(history[-1].obj, "Ready")


def test_at37_unknown_named_port_errors_and_never_readies(run: Run) -> None:
    """AT-37: readiness on port `web` the container does not declare: errored, never Ready, no restarts."""
    start = first_start(run, "at37")
    observe_until(start.at + 60)
    text = (
        "Readiness probe errored and resulted in unknown state: "
        'strconv.Atoi: parsing "web": invalid syntax'
    )
    unhealthy = events(run, "at37", "Unhealthy")
    assert unhealthy and all(e["message"] == text for e in unhealthy), unhealthy
    assert count(unhealthy, text) >= 3
    history = run.timeline.pod("at37")
    assert not any(is_ready(s.obj) for s in history)
    assert all(restarts(s.obj) == 0 for s in history)
    assert requests(app_log(run, "at37"), "/ready") == []


def test_at38_named_port_resolves_to_the_container_port(run: Run) -> None:
    """AT-38: readiness on port `http` ({name: http, containerPort: 8080}) reaches the app on 8080."""
    start = first_start(run, "at38")
    await_pod(run, "at38", is_ready, start.at + 20, "Ready")
    named = requests(app_log(run, "at38"), "/named")
    assert named and code(named[0]) == "200", named
    assert "User-Agent: kube-probe/1.33" in named[0].text, named[0]
    assert_only_before_listening(events(run, "at38", "Unhealthy"))


def assert_only_before_listening(unhealthy: list[dict[str, Any]]) -> None:
    """No failure but refused connections: attempts that came before the app listened (a
    python app takes seconds to start on a loaded machine; the kubelet fails those too)."""
    assert all(e["message"].endswith(REFUSED) for e in unhealthy), unhealthy


# -- the long windows, last ------------------------------------------------------------


def test_at25_healthy_exec_liveness_never_restarts(run: Run) -> None:
    """AT-25: `cat /tmp/health` keeps succeeding: restartCount 0 and no Unhealthy event after 4 min."""
    start = first_start(run, "at25")
    observe_until(start.at + 240)
    history = run.timeline.pod("at25")
    assert all(restarts(s.obj) == 0 for s in history)
    assert "running" in app(history[-1].obj)["state"]
    assert events(run, "at25", "Unhealthy") == []
    assert events(run, "at25", "Killing") == []
    print(f"AT-25: restartCount 0 after {time.time() - start.at:.0f} s")


def test_at29_startup_probe_holds_liveness_back(run: Run) -> None:
    """AT-29: startup `/bin/false` F=60, P=10: no restart in 4 min, no liveness attempt, started and ready false."""
    start = first_start(run, "at29")
    observe_until(start.at + 240)
    history = run.timeline.pod("at29")
    assert all(restarts(s.obj) == 0 for s in history)
    running = [app(s.obj) for s in history if running_since(s.obj)]
    assert running and all(s["started"] is False and s["ready"] is False for s in running)
    all_events = events(run, "at29")
    assert not any("Liveness" in e["message"] for e in all_events), all_events
    assert events(run, "at29", "Killing") == []
    failures = count(events(run, "at29", "Unhealthy"), "Startup probe failed: ")
    print(
        f"AT-29: {failures} startup failures, no liveness event, in {time.time() - start.at:.0f} s"
    )
    assert failures >= 20
