"""Why a pod restarts, is not ready, or flaps: findings decided from evidence, then words.

Pure: ``diagnose`` takes what ``kubeproc why`` fetched (the pod as the API serves it, the
pod's events, its probe history as ``GET .../probehistory`` answers) and returns a
``Diagnosis`` of frozen findings, which ``cli.diagnosistext`` words. Nothing here does
I/O, so every rule is tested with tables (``tests/unit/cli/test_cli_diagnosis.py``).

Kubernetes keeps one ``lastState`` per container, so only the last restart can be told
exactly; earlier ones are counted from the kubelet's ``Killing`` events (which name the
probe that failed); the rest are counted as not caused by a probe. The rules follow
the kubelet's own words: ``Container app failed liveness probe, will be restarted``
(Killing), ``Liveness probe failed: <output>`` (Unhealthy), ``OOMKilled`` with exit 137,
``back-off 40s restarting failed container=...`` (CrashLoopBackOff).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kubeproc.util.clock import parse_rfc3339

QUOTED = 3
"""How many probe attempts or events a finding quotes."""
SLACK = 5.0
"""Seconds an event's second-precision stamp may lie outside the instance it explains."""
MIN_RECOVERIES = 2
"""A probe flaps once it has failed and recovered this many times within the history."""


class RestartCause(StrEnum):
    LIVENESS = "liveness"
    STARTUP = "startup"
    OOM_KILLED = "OOMKilled"
    CRASHED = "crashed"
    COMPLETED = "completed"
    UNKNOWN = "unknown"


class NotReadyCause(StrEnum):
    READINESS_PROBE = "readiness"
    STARTUP_PROBE = "startup"
    WAITING = "waiting"
    TERMINATED = "terminated"
    OTHER = "other"


@dataclass(frozen=True)
class Evidence:
    at: str
    """When, as the API or the history stamps it ("" when unknown)."""
    source: str
    """``status``, ``event Killing``, ``liveness probe``..."""
    text: str


@dataclass(frozen=True)
class Restart:
    """Why a container last restarted, and how its earlier restarts split."""

    container: str
    restarts: int
    cause: RestartCause
    exit_code: int | None
    reason: str
    finished_at: str
    failure_threshold: int = 0
    memory_limit: str = ""
    backoff: str = ""
    """The current CrashLoopBackOff delay (``40s``), "" when not backing off."""
    earlier: tuple[tuple[RestartCause, int], ...] = ()
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class NotReady:
    container: str
    cause: NotReadyCause
    detail: str
    """The waiting reason and message, or the last failed attempt."""
    failures: int = 0
    """For a probe: its failures in a row up to now (as the history holds them)."""
    since: str = ""
    """For a probe: when the first of those failures was attempted."""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Flapping:
    container: str
    probe: str
    successes: int
    failures: int
    recoveries: int
    since: str
    until: str
    evidence: tuple[Evidence, ...] = ()


Finding = Restart | NotReady | Flapping


@dataclass(frozen=True)
class Diagnosis:
    namespace: str
    name: str
    phase: str
    ready: bool
    findings: tuple[Finding, ...]


# -- reading the wire --------------------------------------------------------------------


def _time(text: str) -> float | None:
    try:
        return parse_rfc3339(text).timestamp() if text else None
    except ValueError:
        return None


def _event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or ""
    )


def _count(event: dict[str, Any]) -> int:
    return int(event.get("count") or 1)


def _container_events(events: Iterable[dict[str, Any]], container: str) -> list[dict[str, Any]]:
    """The events about ``container``, oldest first."""
    path = f"spec.containers{{{container}}}"
    mine = [e for e in events if (e.get("involvedObject") or {}).get("fieldPath") == path]
    return sorted(mine, key=lambda e: _time(_event_time(e)) or 0.0)


def _event_evidence(event: dict[str, Any]) -> Evidence:
    count = _count(event)
    text = " ".join(str(event.get("message", "")).split())
    return Evidence(
        _event_time(event),
        f"event {event.get('reason', '')}",
        text + (f" (x{count})" if count > 1 else ""),
    )


def _series(history: dict[str, Any], container: str, probe: str) -> dict[str, Any]:
    for series in history.get("probes") or []:
        if series.get("container") == container and series.get("probe") == probe:
            found: dict[str, Any] = series
            return found
    return {}


def _attempt_text(attempt: dict[str, Any], handler: str) -> str:
    code = attempt.get("code")
    output = " ".join(str(attempt.get("output", "")).split())
    parts = [str(attempt.get("result", ""))]
    if code is not None:
        parts.append(f"HTTP {code}" if handler == "httpGet" else f"exit {code}")
    if output:
        parts.append(repr(output))
    return " ".join(parts)


def _attempt_evidence(
    series: dict[str, Any], attempts: Sequence[dict[str, Any]]
) -> tuple[Evidence, ...]:
    source = f"{series.get('probe', '')} probe"
    handler = str(series.get("handler", ""))
    return tuple(
        Evidence(str(a.get("start", "")), source, _attempt_text(a, handler)) for a in attempts
    )


def _probe_spec(spec: dict[str, Any], probe: str) -> dict[str, Any]:
    found: dict[str, Any] = spec.get(f"{probe}Probe") or {}
    return found


# -- restarts ------------------------------------------------------------------------------

_KILLED_BY = re.compile(r"failed (liveness|startup) probe")
_BACKOFF = re.compile(r"back-off (\S+) restarting")


def _probe_kills(events: Sequence[dict[str, Any]]) -> list[tuple[RestartCause, dict[str, Any]]]:
    out = []
    for e in events:
        m = _KILLED_BY.search(str(e.get("message", "")))
        if e.get("reason") == "Killing" and m:
            out.append((RestartCause(m.group(1)), e))
    return out


def _within(stamp: str, start: float | None, end: float | None) -> bool:
    at = _time(stamp)
    if at is None:
        return False
    return (start is None or at >= start - SLACK) and (end is None or at <= end + SLACK)


def _last_cause(
    terminated: dict[str, Any], kills: Sequence[tuple[RestartCause, dict[str, Any]]]
) -> tuple[RestartCause, dict[str, Any] | None]:
    if terminated.get("reason") == "OOMKilled":
        return RestartCause.OOM_KILLED, None
    start, end = _time(terminated.get("startedAt", "")), _time(terminated.get("finishedAt", ""))
    for cause, event in reversed(kills):
        if _within(_event_time(event), start, end):
            return cause, event
    if "exitCode" not in terminated:
        return RestartCause.UNKNOWN, None
    code = int(terminated["exitCode"])
    return (RestartCause.COMPLETED if code == 0 else RestartCause.CRASHED), None


def _failures_before(series: dict[str, Any], end: float | None, limit: int) -> list[dict[str, Any]]:
    """The run of failed attempts that ended at ``end`` (the kill), its last ``limit``.

    ``end`` is an event's whole second: attempts in the second after it may still precede
    the kill, but a success there is the next container's.
    """
    attempts = [
        a for a in series.get("attempts") or []
        if end is None or (_time(str(a.get("start", ""))) or 0.0) < end + 1.0
    ]  # fmt: skip
    while end is not None and attempts and attempts[-1].get("result") == "success":
        if (_time(str(attempts[-1].get("start", ""))) or 0.0) <= end:
            break
        attempts.pop()
    run: list[dict[str, Any]] = []
    for a in reversed(attempts):
        if a.get("result") == "success":
            break
        run.append(a)
    return list(reversed(run))[-limit:]


def _restart(
    spec: dict[str, Any],
    status: dict[str, Any],
    events: Sequence[dict[str, Any]],
    history: dict[str, Any],
) -> Restart:
    name = str(status.get("name", ""))
    restarts = int(status.get("restartCount") or 0)
    terminated: dict[str, Any] = (status.get("lastState") or {}).get("terminated") or {}
    if not terminated and "terminated" in (status.get("state") or {}):
        terminated = status["state"]["terminated"]
    mine = _container_events(events, name)
    kills = _probe_kills(mine)
    cause, kill = _last_cause(terminated, kills)
    evidence: list[Evidence] = []
    threshold = 0
    if cause in (RestartCause.LIVENESS, RestartCause.STARTUP):
        threshold = int(_probe_spec(spec, cause.value).get("failureThreshold") or 3)
        series = _series(history, name, cause.value)
        failures = _failures_before(series, _time(_event_time(kill or {})), QUOTED)
        evidence += _attempt_evidence(series, failures)
        evidence += _last_unhealthy(mine, cause.value)
        evidence += [_event_evidence(kill)] if kill is not None else []
    evidence.append(_terminated_evidence(terminated))
    backoff, waited = _backoff(status)
    evidence += waited
    limits = (spec.get("resources") or {}).get("limits") or {}
    return Restart(
        container=name,
        restarts=restarts,
        cause=cause,
        exit_code=int(terminated["exitCode"]) if "exitCode" in terminated else None,
        reason=str(terminated.get("reason", "")),
        finished_at=str(terminated.get("finishedAt", "")),
        failure_threshold=threshold,
        memory_limit=str(limits.get("memory", "")),
        backoff=backoff,
        earlier=_earlier(restarts, cause, kills),
        evidence=tuple(evidence),
    )


def _last_unhealthy(events: Sequence[dict[str, Any]], probe: str) -> list[Evidence]:
    """The latest ``Unhealthy`` event of ``probe``: its message and count, as quoted."""
    prefix = f"{probe.capitalize()} probe "
    unhealthy = [
        e for e in events
        if e.get("reason") == "Unhealthy" and str(e.get("message", "")).startswith(prefix)
    ]  # fmt: skip
    return [_event_evidence(e) for e in unhealthy[-1:]]


def _backoff(status: dict[str, Any]) -> tuple[str, list[Evidence]]:
    """The current CrashLoopBackOff delay (``4s``) and the waiting state that says it."""
    waiting = (status.get("state") or {}).get("waiting") or {}
    if waiting.get("reason") != "CrashLoopBackOff":
        return "", []
    message = str(waiting.get("message", ""))
    m = _BACKOFF.search(message)
    return (m.group(1) if m else "?"), [
        Evidence("", "status", f"waiting: CrashLoopBackOff: {message}")
    ]


def _terminated_evidence(terminated: dict[str, Any]) -> Evidence:
    parts = [f"last state: terminated, reason {terminated.get('reason') or '?'}"]
    if "exitCode" in terminated:
        parts.append(f"exit code {terminated['exitCode']}")
    if terminated.get("startedAt"):
        parts.append(f"started {terminated['startedAt']}")
    if terminated.get("message"):
        parts.append(f"message {' '.join(str(terminated['message']).split())!r}")
    return Evidence(str(terminated.get("finishedAt", "")), "status", ", ".join(parts))


def _earlier(
    restarts: int, last: RestartCause, kills: Sequence[tuple[RestartCause, dict[str, Any]]]
) -> tuple[tuple[RestartCause, int], ...]:
    """How the restarts before the last split: probe kills by their events, the rest alone."""
    if restarts <= 1:
        return ()
    counts = {RestartCause.LIVENESS: 0, RestartCause.STARTUP: 0}
    for cause, event in kills:
        counts[cause] += _count(event)
    if last in counts:
        counts[last] = max(counts[last] - 1, 0)
    out: list[tuple[RestartCause, int]] = []
    left = restarts - 1
    for cause in (RestartCause.LIVENESS, RestartCause.STARTUP):
        n = min(counts[cause], left)
        if n:
            out.append((cause, n))
            left -= n
    if left:
        out.append((RestartCause.UNKNOWN, left))
    return tuple(out)


# -- readiness -----------------------------------------------------------------------------


def _not_ready(
    spec: dict[str, Any],
    status: dict[str, Any],
    events: Sequence[dict[str, Any]],
    history: dict[str, Any],
) -> NotReady | None:
    name = str(status.get("name", ""))
    state: dict[str, Any] = status.get("state") or {}
    if "waiting" in state:
        w = state["waiting"] or {}
        detail = str(w.get("reason", "")) + (f": {w['message']}" if w.get("message") else "")
        return NotReady(name, NotReadyCause.WAITING, detail)
    if "terminated" in state:
        t = state["terminated"] or {}
        detail = f"{t.get('reason', '')} with exit code {t.get('exitCode', '?')}"
        return NotReady(name, NotReadyCause.TERMINATED, detail, evidence=(_terminated_evidence(t),))
    if status.get("ready"):
        return None
    if spec.get("startupProbe") is not None and status.get("started") is False:
        cause, probe = NotReadyCause.STARTUP_PROBE, "startup"
    elif spec.get("readinessProbe") is not None:
        cause, probe = NotReadyCause.READINESS_PROBE, "readiness"
    else:
        return NotReady(name, NotReadyCause.OTHER, "running but not ready yet")
    series = _series(history, name, probe)
    run = _failures_before(series, None, len(series.get("attempts") or []))
    failures = run[-QUOTED:]
    evidence = [
        *_attempt_evidence(series, failures),
        *_last_unhealthy(_container_events(events, name), probe),
    ]
    last = failures[-1] if failures else {}
    detail = (
        _attempt_text(last, str(series.get("handler", ""))) if last else "no failed attempt held"
    )
    since = str(run[0].get("start", "")) if run else ""
    return NotReady(name, cause, detail, len(run), since, tuple(evidence))


# -- flapping ------------------------------------------------------------------------------


def _flapping(series: dict[str, Any], spec: dict[str, Any]) -> Flapping | None:
    """Failures that recovered by themselves (a kill at the threshold is not a flap)."""
    attempts = [
        a for a in series.get("attempts") or [] if a.get("result") in ("success", "failure")
    ]
    probe = str(series.get("probe", ""))
    threshold = int(_probe_spec(spec, probe).get("failureThreshold") or 3)
    recoveries, run = 0, 0
    for a in attempts:
        if a.get("result") == "failure":
            run += 1
            continue
        if run and (probe == "readiness" or run < threshold):
            recoveries += 1
        run = 0
    if recoveries < MIN_RECOVERIES:
        return None
    failures = [a for a in attempts if a.get("result") == "failure"]
    return Flapping(
        container=str(series.get("container", "")),
        probe=probe,
        successes=len(attempts) - len(failures),
        failures=len(failures),
        recoveries=recoveries,
        since=str(attempts[0].get("start", "")),
        until=str(attempts[-1].get("start", "")),
        evidence=_attempt_evidence(series, failures[-QUOTED:]),
    )


# -- the whole pod -------------------------------------------------------------------------


def diagnose(
    pod: dict[str, Any],
    events: Sequence[dict[str, Any]],
    history: dict[str, Any],
    *,
    container: str = "",
) -> Diagnosis:
    """Every finding about ``pod`` (only ``container``'s, when given), restarts first."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    specs = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
    statuses = [
        s for s in status.get("containerStatuses") or []
        if not container or s.get("name") == container
    ]  # fmt: skip
    uid = meta.get("uid", "")
    events = [
        e
        for e in events
        if not uid or (e.get("involvedObject") or {}).get("uid") in ("", None, uid)
    ]
    restarts: list[Finding] = []
    not_ready: list[Finding] = []
    for s in statuses:
        spec = specs.get(s.get("name", ""), {})
        if int(s.get("restartCount") or 0) > 0:
            restarts.append(_restart(spec, s, events, history))
        nr = _not_ready(spec, s, events, history)
        if nr is not None:
            not_ready.append(nr)
    flaps: list[Finding] = []
    for series in history.get("probes") or []:
        if container and series.get("container") != container:
            continue
        flap = _flapping(series, specs.get(series.get("container", ""), {}))
        if flap is not None:
            flaps.append(flap)
    conditions = status.get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    if not ready and not not_ready and not container:
        not_ready.append(_pod_not_ready(conditions))
    return Diagnosis(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        phase=str(status.get("phase", "")),
        ready=ready,
        findings=(*restarts, *not_ready, *flaps),
    )


def _pod_not_ready(conditions: Sequence[dict[str, Any]]) -> NotReady:
    """No container explains it (none has a status yet, or a readiness gate): the
    conditions that are not True say what they can."""
    false = [c for c in conditions if c.get("status") != "True"]
    evidence = tuple(
        Evidence(
            str(c.get("lastTransitionTime") or ""),
            "condition",
            f"{c.get('type')}={c.get('status')}"
            + "".join(f", {k} {c[k]!r}" for k in ("reason", "message") if c.get(k)),
        )
        for c in false
    )
    first = next((c for c in false if c.get("reason") or c.get("message")), None)
    detail = (
        f"the pod is not ready: {first.get('reason') or ''} {first.get('message') or ''}".strip()
        if first
        else "the pod is not ready and no container says why (none has started yet?)"
    )
    return NotReady("", NotReadyCause.OTHER, detail, evidence=evidence)
