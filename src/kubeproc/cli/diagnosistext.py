"""The words of ``kubeproc why``: a ``Diagnosis`` rendered as plain text, evidence quoted.

Pure, and apart from ``cli.diagnosis`` so the rules and the wording change on their own.
One summary line, then a section per kind of finding (restarts, not ready, flapping
probes); under each finding its evidence, one line each, with the API's or the probe
history's own timestamps::

    Pod default/web: Running, ready, 1 restart.

    Restarts:
      app: restarted once. Last restart: the liveness probe failed 2 times in a row ...
        2026-11-21T19:09:23.087483Z  liveness probe:    failure exit 1 'too old: 4s'
        2026-11-21T19:09:24Z         event Killing:     Container app failed liveness ...
"""

from __future__ import annotations

from collections.abc import Sequence

from kubeproc.cli.diagnosis import (
    Diagnosis,
    Evidence,
    Finding,
    Flapping,
    NotReady,
    NotReadyCause,
    Restart,
    RestartCause,
)

SIGNALS = {1: "SIGHUP", 2: "SIGINT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM"}

_EARLIER = {
    RestartCause.LIVENESS: "after a failed liveness probe (Killing events)",
    RestartCause.STARTUP: "after a failed startup probe (Killing events)",
    RestartCause.UNKNOWN: "not caused by a probe (Kubernetes keeps only the last exit)",
}


def exit_words(code: int | None) -> str:
    """``exit code 137 (SIGKILL)``: a code above 128 is 128 plus the signal that ended it."""
    if code is None:
        return "an unknown exit code"
    if code > 128 and code - 128 in SIGNALS:
        return f"exit code {code} ({SIGNALS[code - 128]})"
    return f"exit code {code}"


def _last_restart(r: Restart) -> str:
    when = f" at {r.finished_at}" if r.finished_at else ""
    if r.cause in (RestartCause.LIVENESS, RestartCause.STARTUP):
        return (
            f"the {r.cause.value} probe failed {r.failure_threshold} times in a row "
            f"(failureThreshold {r.failure_threshold}), so the kubelet killed the container; "
            f"it ended{when} with {exit_words(r.exit_code)}"
        )
    if r.cause is RestartCause.OOM_KILLED:
        limit = f"its memory limit {r.memory_limit}" if r.memory_limit else "its memory limit"
        return (
            f"OOM killed: the kernel killed it at {limit}{when} "
            f"(reason OOMKilled, {exit_words(r.exit_code)})"
        )
    if r.cause is RestartCause.CRASHED:
        return f"the process exited by itself with {exit_words(r.exit_code)}{when}"
    if r.cause is RestartCause.COMPLETED:
        return f"the process exited by itself with exit code 0{when} and was started again"
    return "nothing says why (the container's last state is gone)"


def _restart_lines(r: Restart) -> list[str]:
    times = "once" if r.restarts == 1 else f"{r.restarts} times"
    lines = [f"{r.container}: restarted {times}. Last restart: {_last_restart(r)}."]
    lines += [f"  earlier: {n} {_EARLIER[cause]}" for cause, n in r.earlier]
    if r.backoff:
        lines.append(f"  now in CrashLoopBackOff: the next start waits {r.backoff} (back-off)")
    return lines


def _not_ready_lines(n: NotReady) -> list[str]:
    if n.cause is NotReadyCause.WAITING:
        return [f"{n.container}: not running, waiting ({n.detail})"]
    if n.cause is NotReadyCause.TERMINATED:
        return [f"{n.container}: not running, terminated ({n.detail})"]
    if n.cause is NotReadyCause.OTHER:
        return [f"{n.container}: {n.detail}" if n.container else n.detail]
    what = "has not succeeded yet" if n.cause is NotReadyCause.STARTUP_PROBE else "fails"
    lines = [f"{n.container}: the {n.cause.value} probe {what}; last attempt: {n.detail}"]
    if n.failures:
        times = "once" if n.failures == 1 else f"{n.failures} times in a row"
        lines.append(f"  failed {times} since {n.since} (in the probe history)")
    return lines


def _flap_lines(f: Flapping) -> list[str]:
    return [
        f"{f.container}: the {f.probe} probe flaps: {f.successes} successes and {f.failures} "
        f"failures, recovering {f.recoveries} times, between {f.since} and {f.until}"
    ]


def _evidence_lines(evidence: Sequence[Evidence]) -> list[str]:
    return [f"    {e.at or '-':<28} {e.source + ':':<18} {e.text}" for e in evidence]


def _finding_lines(f: Finding) -> list[str]:
    if isinstance(f, Restart):
        words = _restart_lines(f)
    elif isinstance(f, NotReady):
        words = _not_ready_lines(f)
    else:
        words = _flap_lines(f)
    return ["  " + w for w in words] + _evidence_lines(f.evidence)


def render(d: Diagnosis) -> str:
    """The diagnosis as plain text: a summary line, then one section per kind of finding."""
    restarts = [f for f in d.findings if isinstance(f, Restart)]
    sections: list[tuple[str, Sequence[Finding]]] = [
        ("Restarts:", restarts),
        ("Not ready:", [f for f in d.findings if isinstance(f, NotReady)]),
        ("Flapping probes:", [f for f in d.findings if isinstance(f, Flapping)]),
    ]
    total = sum(r.restarts for r in restarts)
    plural = "restart" if total == 1 else "restarts"
    ready = "ready" if d.ready else "not ready"
    lines = [f"Pod {d.namespace}/{d.name}: {d.phase or 'Unknown'}, {ready}, {total} {plural}."]
    for title, findings in sections:
        if findings:
            lines += ["", title]
            for f in findings:
                lines += _finding_lines(f)
    if not d.findings:
        lines.append("Nothing to explain: no restarts, every container ready, no probe flaps.")
    return "\n".join(lines) + "\n"
