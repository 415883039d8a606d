"""``kubeproc why``'s decisions: which cause a restart, a not-ready container, a flap gets."""

from __future__ import annotations

from typing import Any

import pytest

from kubeproc.cli.diagnosis import (
    Diagnosis,
    Flapping,
    NotReady,
    NotReadyCause,
    Restart,
    RestartCause,
    diagnose,
)
from kubeproc.cli.diagnosistext import exit_words, render

UID = "u-1"


def pod(
    status: dict[str, Any],
    *,
    ready: bool = False,
    phase: str = "Running",
    **spec: Any,
) -> dict[str, Any]:
    """A one-container pod ``web`` whose container ``app`` has ``status`` and ``spec``."""
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": UID},
        "spec": {"containers": [{"name": "app", **spec}]},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "app", **status}],
        },
    }


def running(**extra: Any) -> dict[str, Any]:
    return {"state": {"running": {"startedAt": "2026-11-21T19:00:10Z"}}, **extra}


def terminated(reason: str, code: int, start: str = "00:00", end: str = "00:05") -> dict[str, Any]:
    return {
        "terminated": {
            "reason": reason,
            "exitCode": code,
            "startedAt": f"2026-11-21T19:{start}Z",
            "finishedAt": f"2026-11-21T19:{end}Z",
        }
    }


def event(
    reason: str, message: str, at: str = "00:04", count: int = 1, **obj: Any
) -> dict[str, Any]:
    return {
        "reason": reason,
        "message": message,
        "count": count,
        "lastTimestamp": f"2026-11-21T19:{at}Z",
        "involvedObject": {"kind": "Pod", "name": "web", "uid": UID,
                           "fieldPath": "spec.containers{app}", **obj},
    }  # fmt: skip


def history(probe: str, results: str, output: str = "boom\n", code: int = 1) -> dict[str, Any]:
    """A history of ``probe`` whose attempts, one a second from 19:00:00, are ``results``
    (``s`` success, ``f`` failure, ``u`` unknown)."""
    word = {"s": "success", "f": "failure", "u": "unknown"}
    attempts = [
        {
            "start": f"2026-11-21T19:00:{i:02d}.000000Z",
            "durationSeconds": 0.01,
            "result": word[r],
            **({"code": code, "output": output} if r == "f" else {"code": 0, "output": ""}),
        }
        for i, r in enumerate(results)
    ]
    return {"probes": [{"container": "app", "probe": probe, "handler": "exec",
                        "attempts": attempts}]}  # fmt: skip


LIVENESS = {"exec": {"command": ["check"]}, "failureThreshold": 2}
KILLED = event("Killing", "Container app failed liveness probe, will be restarted")
STARTUP_KILLED = event("Killing", "Container app failed startup probe, will be restarted")
BACKOFF = {
    "waiting": {
        "reason": "CrashLoopBackOff",
        "message": "back-off 40s restarting failed container=app pod=web_default(u-1)",
    }
}


def only(d: Diagnosis, kind: type[Any]) -> Any:
    (found,) = [f for f in d.findings if isinstance(f, kind)]
    return found


@pytest.mark.parametrize(
    ("last", "events", "spec", "cause", "code"),
    [
        # The kubelet's Killing event inside the instance's lifetime names the probe.
        (terminated("Error", 137), [KILLED], {"livenessProbe": LIVENESS}, RestartCause.LIVENESS, 137),
        (terminated("Error", 143), [STARTUP_KILLED], {}, RestartCause.STARTUP, 143),
        # OOMKilled wins even beside a probe's Killing event.
        (terminated("OOMKilled", 137), [KILLED], {}, RestartCause.OOM_KILLED, 137),
        (terminated("Error", 1), [], {}, RestartCause.CRASHED, 1),
        (terminated("Completed", 0), [], {}, RestartCause.COMPLETED, 0),
        # A Killing event from an earlier instance does not explain this one.
        (terminated("Error", 2, "05:00", "05:09"), [KILLED], {}, RestartCause.CRASHED, 2),
        ({}, [], {}, RestartCause.UNKNOWN, None),
    ],
)  # fmt: skip
def test_the_last_restart_gets_its_cause(
    last: dict[str, Any],
    events: list[dict[str, Any]],
    spec: dict[str, Any],
    cause: RestartCause,
    code: int | None,
) -> None:
    """lastState, the Killing events and the spec decide why the container last restarted."""
    d = diagnose(pod(running(restartCount=1, lastState=last), ready=True, **spec), events, {})
    r = only(d, Restart)
    assert (r.container, r.restarts, r.cause, r.exit_code) == ("app", 1, cause, code)


def test_a_liveness_restart_quotes_the_failures_the_unhealthy_and_the_killing_events() -> None:
    """The failed run before the kill (not the later attempts), the events, the exit."""
    unhealthy = event("Unhealthy", "Liveness probe failed: boom\n", count=2)
    d = diagnose(
        pod(running(restartCount=1, lastState=terminated("Error", 137)), livenessProbe=LIVENESS),
        [unhealthy, KILLED],
        history("liveness", "sssff" + "s" * 10),
    )
    r = only(d, Restart)
    assert r.failure_threshold == 2
    assert [(e.at, e.source, e.text) for e in r.evidence] == [
        ("2026-11-21T19:00:03.000000Z", "liveness probe", "failure exit 1 'boom'"),
        ("2026-11-21T19:00:04.000000Z", "liveness probe", "failure exit 1 'boom'"),
        ("2026-11-21T19:00:04Z", "event Unhealthy", "Liveness probe failed: boom (x2)"),
        ("2026-11-21T19:00:04Z", "event Killing",
         "Container app failed liveness probe, will be restarted"),
        ("2026-11-21T19:00:05Z", "status",
         "last state: terminated, reason Error, exit code 137, started 2026-11-21T19:00:00Z"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("restarts", "kills", "earlier"),
    [
        (1, 1, ()),
        (3, 3, ((RestartCause.LIVENESS, 2),)),
        (4, 2, ((RestartCause.LIVENESS, 1), (RestartCause.UNKNOWN, 2))),
        (2, 5, ((RestartCause.LIVENESS, 1),)),  # counts beyond the restarts are capped
    ],
)
def test_earlier_restarts_are_split_by_the_killing_events_count(
    restarts: int, kills: int, earlier: tuple[tuple[RestartCause, int], ...]
) -> None:
    """Killing events count probe kills; the rest are not a probe's doing."""
    killed = event("Killing", "Container app failed liveness probe, will be restarted",
                   count=kills)  # fmt: skip
    status = running(restartCount=restarts, lastState=terminated("Error", 137))
    assert only(diagnose(pod(status), [killed], {}), Restart).earlier == earlier


def test_a_crash_loop_reports_the_current_back_off_and_the_oom_its_limit() -> None:
    """The delay is read from the waiting message; the limit from the container's spec."""
    status = {"state": BACKOFF, "restartCount": 5, "lastState": terminated("OOMKilled", 137)}
    d = diagnose(pod(status, resources={"limits": {"memory": "64Mi"}}), [], {})
    r = only(d, Restart)
    assert (r.cause, r.backoff, r.memory_limit) == (RestartCause.OOM_KILLED, "40s", "64Mi")
    n = only(d, NotReady)
    assert (n.cause, n.detail) == (
        NotReadyCause.WAITING,
        "CrashLoopBackOff: " + BACKOFF["waiting"]["message"],
    )


@pytest.mark.parametrize(
    ("status", "spec", "probe", "cause", "failures"),
    [
        (running(ready=False), {"readinessProbe": {}}, "readiness",
         NotReadyCause.READINESS_PROBE, 3),
        (running(ready=False, started=False), {"startupProbe": {}, "readinessProbe": {}},
         "startup", NotReadyCause.STARTUP_PROBE, 3),
        (running(ready=False), {}, "", NotReadyCause.OTHER, 0),
        ({"state": terminated("Error", 1), "ready": False}, {}, "", NotReadyCause.TERMINATED, 0),
        ({"state": {"waiting": {"reason": "ContainerCreating"}}}, {}, "",
         NotReadyCause.WAITING, 0),
    ],
)  # fmt: skip
def test_a_container_not_ready_gets_its_cause(
    status: dict[str, Any],
    spec: dict[str, Any],
    probe: str,
    cause: NotReadyCause,
    failures: int,
) -> None:
    """Waiting, terminated, a startup probe not yet passed, or the readiness probe failing."""
    doc = history(probe, "ssfff") if probe else {}
    n = only(diagnose(pod(status, **spec), [], doc), NotReady)
    assert (n.container, n.cause, n.failures) == ("app", cause, failures)
    if probe:
        assert n.detail == "failure exit 1 'boom'"
        assert n.since == "2026-11-21T19:00:02.000000Z"


def test_a_ready_pod_has_nothing_to_explain() -> None:
    """No restarts, ready, a steady probe: no findings, and the text says so."""
    d = diagnose(pod(running(ready=True), ready=True, readinessProbe={}),
                 [], history("readiness", "sssss"))  # fmt: skip
    assert d.findings == ()
    assert render(d) == (
        "Pod default/web: Running, ready, 0 restarts.\n"
        "Nothing to explain: no restarts, every container ready, no probe flaps.\n"
    )


@pytest.mark.parametrize(
    ("probe", "results", "flaps", "recoveries"),
    [
        ("readiness", "ssfsfsfs", True, 3),
        ("readiness", "ssfsss", False, 1),
        ("readiness", "ffffff", False, 0),
        # Liveness failing to the threshold is a kill, not a flap; short runs are.
        ("liveness", "sffsssffs", False, 0),
        ("liveness", "sfsssfss", True, 2),
        ("readiness", "sfusfs", True, 2),  # unknown attempts are skipped
    ],
)
def test_a_probe_flaps_when_it_fails_and_recovers_twice(
    probe: str, results: str, flaps: bool, recoveries: int
) -> None:
    """Recovered failure runs counted over the history held."""
    spec = {f"{probe}Probe": {"failureThreshold": 2}}
    d = diagnose(pod(running(ready=True), ready=True, **spec), [], history(probe, results))
    found = [f for f in d.findings if isinstance(f, Flapping)]
    assert bool(found) is flaps
    if flaps:
        (f,) = found
        assert (f.probe, f.recoveries) == (probe, recoveries)
        assert (f.successes, f.failures) == (results.count("s"), results.count("f"))
        assert f.since == "2026-11-21T19:00:00.000000Z"


def test_container_and_uid_narrow_the_evidence() -> None:
    """-c leaves the other containers out; events of a former pod of the name are ignored."""
    doc = pod(running(restartCount=1, lastState=terminated("Error", 137)))
    doc["spec"]["containers"].append({"name": "side"})
    doc["status"]["containerStatuses"].append({"name": "side", **running(ready=True)})
    stale = event("Killing", "Container app failed liveness probe, will be restarted", uid="old")
    d = diagnose(doc, [stale], {}, container="app")
    assert [f.container for f in d.findings] == ["app", "app"]
    assert only(d, Restart).cause is RestartCause.CRASHED
    assert diagnose(doc, [], {}, container="side").findings == ()


@pytest.mark.parametrize(
    ("code", "words"),
    [(137, "exit code 137 (SIGKILL)"), (143, "exit code 143 (SIGTERM)"), (1, "exit code 1"),
     (None, "an unknown exit code")],
)  # fmt: skip
def test_exit_codes_above_128_name_the_signal(code: int | None, words: str) -> None:
    """128 + n reads as signal n."""
    assert exit_words(code) == words


def test_the_text_names_each_cause_with_its_evidence() -> None:
    """A liveness restart in back-off, rendered: cause, threshold, events, back-off."""
    status = {"state": BACKOFF, "restartCount": 1, "lastState": terminated("Error", 137)}
    d = diagnose(pod(status, livenessProbe=LIVENESS), [KILLED], history("liveness", "sff"))
    text = render(d)
    assert text.splitlines()[0] == "Pod default/web: Running, not ready, 1 restart."
    assert (
        "  app: restarted once. Last restart: the liveness probe failed 2 times in a row "
        "(failureThreshold 2), so the kubelet killed the container; "
        "it ended at 2026-11-21T19:00:05Z with exit code 137 (SIGKILL)."
    ) in text
    assert "  now in CrashLoopBackOff: the next start waits 40s (back-off)" in text
    assert "event Killing:     Container app failed liveness probe" in text
    assert "Not ready:\n  app: not running, waiting (CrashLoopBackOff: back-off 40s" in text
    oom = diagnose(pod(running(restartCount=1, lastState=terminated("OOMKilled", 137)),
                       resources={"limits": {"memory": "64Mi"}}), [], {})  # fmt: skip
    assert "OOM killed: the kernel killed it at its memory limit 64Mi at" in render(oom)
    crash = diagnose(pod(running(restartCount=2, lastState=terminated("Error", 3))), [], {})
    assert "the process exited by itself with exit code 3 at" in render(crash)
    assert "earlier: 1 not caused by a probe" in render(crash)


def test_a_pod_no_container_explains_quotes_its_conditions() -> None:
    """Pending, no container status yet: the conditions that are not True are the evidence."""
    doc = {
        "metadata": {"name": "web", "namespace": "default", "uid": UID},
        "spec": {"containers": [{"name": "app"}]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "lastTransitionTime": "2026-11-21T19:00:00Z"},
            ],
        },
    }  # fmt: skip
    n = only(diagnose(doc, [], {}), NotReady)
    assert (n.container, n.cause, n.detail) == (
        "", NotReadyCause.OTHER, "the pod is not ready: ContainersNotReady",
    )  # fmt: skip
    assert [(e.at, e.text) for e in n.evidence] == [
        ("2026-11-21T19:00:00Z", "Ready=False, reason 'ContainersNotReady'")
    ]
    assert "Not ready:\n  the pod is not ready: ContainersNotReady\n" in render(
        diagnose(doc, [], {})
    )
