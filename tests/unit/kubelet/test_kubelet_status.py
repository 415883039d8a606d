"""Pod status generation: phase, conditions, container statuses and what kubectl prints."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kubelet_builders import (
    EXITED,
    RUNNING,
    T0,
    ctr,
    make_pod,
    no_sandbox,
    runtime,
    sandbox,
    spec,
)

from kubeproc.api.printers import row_cells
from kubeproc.api.resources import REGISTRY
from kubeproc.kubelet.probehooks import ProbeHooks
from kubeproc.kubelet.runtimestatus import PodRuntimeStatus, StartFailure
from kubeproc.kubelet.status import generate_pod_status
from kubeproc.kubelet.statusmanager import stamp_status

PODS = REGISTRY.get("", "v1", "pods")
assert PODS is not None
NOW = T0 + dt.timedelta(seconds=60)
BACKOFF = StartFailure(
    "CrashLoopBackOff", "back-off 10s restarting failed container=app pod=p_default(uid-p)"
)


def generate(
    pod: dict[str, Any],
    status: PodRuntimeStatus,
    *,
    reasons: dict[str, StartFailure] | None = None,
    probes: ProbeHooks | None = None,
    terminal: bool = False,
) -> dict[str, Any]:
    return generate_pod_status(
        pod, status, reasons=reasons, probes=probes, runtime_name="oci", pod_is_terminal=terminal
    )


def printed(pod: dict[str, Any], status: dict[str, Any]) -> tuple[str, str, str]:
    """READY, STATUS and RESTARTS as ``kubectl get pods`` shows them."""
    cells = row_cells(PODS, {**pod, "status": stamp_status(status, None, T0)}, NOW)
    return str(cells[1]), str(cells[2]), str(cells[3])


def conditions(status: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["type"], c["status"], c.get("reason", "")) for c in status["conditions"]]


CASES = [
    (
        "ContainerCreating",
        make_pod(),
        no_sandbox(),
        {},
        "Pending",
        ("0/1", "ContainerCreating", "0"),
    ),
    ("Running", make_pod(), runtime(ctr("app", RUNNING)), {}, "Running", ("1/1", "Running", "0")),
    (
        "CrashLoopBackOff",
        make_pod(),
        runtime(
            ctr("app", EXITED, exit_code=1, attempt=2, at=30, ran=15),
            ctr("app", EXITED, exit_code=1, attempt=1, at=10),
        ),
        {"app": BACKOFF},
        "Running",
        ("0/1", "CrashLoopBackOff", "2 (15s ago)"),
    ),
    (
        "Error (restarting, before the back-off decision)",
        make_pod(),
        runtime(ctr("app", EXITED, exit_code=1, attempt=1)),
        {},
        "Running",
        ("0/1", "Error", "1"),
    ),
    (
        "Completed",
        make_pod(policy="OnFailure"),
        runtime(ctr("app", EXITED, exit_code=0)),
        {},
        "Succeeded",
        ("0/1", "Completed", "0"),
    ),
    (
        "Error",
        make_pod(policy="Never"),
        runtime(ctr("app", EXITED, exit_code=1)),
        {},
        "Failed",
        ("0/1", "Error", "0"),
    ),
    (
        "OOMKilled",
        make_pod(policy="Never"),
        runtime(ctr("app", EXITED, exit_code=137, reason="OOMKilled")),
        {},
        "Failed",
        ("0/1", "OOMKilled", "0"),
    ),
    (
        "Terminating",
        make_pod(deleting=True),
        runtime(ctr("app", RUNNING)),
        {},
        "Running",
        ("1/1", "Terminating", "0"),
    ),
    (
        "Init:0/1",
        make_pod(init=(spec("i1"),)),
        runtime(ctr("i1", RUNNING)),
        {},
        "Pending",
        ("0/1", "Init:0/1", "0"),
    ),
    (
        "PodInitializing",
        make_pod(init=(spec("i1"),)),
        runtime(ctr("i1", EXITED, exit_code=0)),
        {},
        "Pending",
        ("0/1", "PodInitializing", "0"),
    ),
    (
        "Init:Error",
        make_pod(init=(spec("i1"),), policy="Never"),
        runtime(ctr("i1", EXITED, exit_code=2)),
        {},
        "Failed",
        ("0/1", "Init:Error", "0"),
    ),
    (
        "CreateContainerConfigError",
        make_pod(),
        runtime(),
        {"app": StartFailure("CreateContainerConfigError", 'configmap "cm" not found')},
        "Pending",
        ("0/1", "CreateContainerConfigError", "0"),
    ),
]


@pytest.mark.parametrize(
    ("pod", "status", "reasons", "phase", "shown"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_status_and_kubectl_row(
    pod: dict[str, Any],
    status: PodRuntimeStatus,
    reasons: dict[str, StartFailure],
    phase: str,
    shown: tuple[str, str, str],
) -> None:
    """Each row: runtime state in, the phase and kubectl's READY/STATUS/RESTARTS out."""
    generated = generate(pod, status, reasons=reasons)
    assert generated["phase"] == phase
    assert printed(pod, generated) == shown


def test_running_pod_conditions_in_kubelet_order() -> None:
    """A running pod: the five kubelet conditions, all True, in the kubelet's order (AT-69)."""
    status = generate(make_pod(), runtime(ctr("app", RUNNING)))
    assert conditions(status) == [
        ("PodReadyToStartContainers", "True", ""),
        ("Initialized", "True", ""),
        ("Ready", "True", ""),
        ("ContainersReady", "True", ""),
        ("PodScheduled", "True", ""),
    ]
    (app,) = status["containerStatuses"]
    assert app["ready"] is True and app["started"] is True
    assert app["containerID"] == "oci://app-0"
    assert app["state"] == {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    assert app["lastState"] == {}
    assert status["podIP"] == "10.88.0.5"
    assert status["podIPs"] == [{"ip": "10.88.0.5"}]
    assert status["hostIP"] == "127.0.0.1"
    assert status["qosClass"] == "BestEffort"


def test_pending_pod_conditions() -> None:
    """Before the sandbox: PodReadyToStartContainers False, unready containers named Go-style."""
    status = generate(make_pod(spec("a"), spec("b")), no_sandbox())
    assert conditions(status) == [
        ("PodReadyToStartContainers", "False", ""),
        ("Initialized", "True", ""),
        ("Ready", "False", "ContainersNotReady"),
        ("ContainersReady", "False", "ContainersNotReady"),
        ("PodScheduled", "True", ""),
    ]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["message"] == "containers with unready status: [a b]"
    assert [c["state"]["waiting"]["reason"] for c in status["containerStatuses"]] == [
        "ContainerCreating",
        "ContainerCreating",
    ]


def test_init_incomplete_message() -> None:
    """Initialized is False with the incomplete init containers listed."""
    status = generate(make_pod(init=(spec("i1"), spec("i2"))), runtime(ctr("i1", RUNNING)))
    init = next(c for c in status["conditions"] if c["type"] == "Initialized")
    assert (init["reason"], init["message"]) == (
        "ContainersNotInitialized",
        "containers with incomplete status: [i1 i2]",
    )
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}


def test_crash_loop_shows_waiting_and_last_termination() -> None:
    """Backing off: waiting CrashLoopBackOff with its message; lastState the exited instance (AT-70)."""
    status = generate(
        make_pod(),
        runtime(
            ctr("app", EXITED, exit_code=1, attempt=2, at=30),
            ctr("app", EXITED, exit_code=1, attempt=1, at=10),
        ),
        reasons={"app": BACKOFF},
    )
    (app,) = status["containerStatuses"]
    assert app["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": BACKOFF.message}}
    assert app["lastState"]["terminated"] == {
        "exitCode": 1,
        "reason": "Error",
        "startedAt": "2026-01-01T00:00:30Z",
        "finishedAt": "2026-01-01T00:00:31Z",
        "containerID": "oci://app-2",
    }
    assert app["restartCount"] == 2
    assert app["ready"] is False and app["started"] is False


def test_restart_keeps_the_previous_instance_as_last_state() -> None:
    """After a restart: new container ID running, lastState the old one, restartCount +1."""
    status = generate(
        make_pod(),
        runtime(ctr("app", RUNNING, attempt=1, at=20), ctr("app", EXITED, exit_code=137, at=0)),
    )
    (app,) = status["containerStatuses"]
    assert app["containerID"] == "oci://app-1"
    assert app["restartCount"] == 1
    assert app["lastState"]["terminated"]["containerID"] == "oci://app-0"
    assert app["lastState"]["terminated"]["exitCode"] == 137


def test_succeeded_pod_reports_pod_completed() -> None:
    """OnFailure exit 0: Succeeded, Ready and ContainersReady False with reason PodCompleted (AT-63)."""
    status = generate(make_pod(policy="OnFailure"), runtime(ctr("app", EXITED, exit_code=0)))
    assert ("Ready", "False", "PodCompleted") in conditions(status)
    assert ("ContainersReady", "False", "PodCompleted") in conditions(status)
    assert ("Initialized", "True", "PodCompleted") in conditions(status)


def test_readiness_hook_makes_a_running_container_unready() -> None:
    """A readiness result False (probe present) keeps ready false: READY 0/1, STATUS Running."""
    probes = ProbeHooks(readiness=lambda uid, cid, name=None: False)
    pod = make_pod()
    status = generate(pod, runtime(ctr("app", RUNNING)), probes=probes)
    assert status["containerStatuses"][0]["ready"] is False
    assert status["containerStatuses"][0]["started"] is True
    assert printed(pod, status)[:2] == ("0/1", "Running")


def test_readiness_gates() -> None:
    """A missing readiness gate condition keeps Ready False with the kubelet's message (AT-68)."""
    pod = make_pod(readinessGates=[{"conditionType": "example.com/lb"}])
    status = generate(pod, runtime(ctr("app", RUNNING)))
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ReadinessGatesNotReady"
    assert (
        ready["message"]
        == 'corresponding condition of pod readiness gate "example.com/lb" does not exist.'
    )
    pod["status"]["conditions"] = [{"type": "example.com/lb", "status": "False"}]
    status = generate(pod, runtime(ctr("app", RUNNING)))
    assert status["conditions"][0]["type"] == "example.com/lb"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (
        ready["message"]
        == 'the status of pod readiness gate "example.com/lb" is not "True", but False'
    )


def test_terminal_phase_never_goes_back() -> None:
    """Once the API says Succeeded, a later generation cannot make the pod Running again."""
    pod = make_pod()
    pod["status"]["phase"] = "Succeeded"
    status = generate(pod, runtime(ctr("app", RUNNING)))
    assert status["phase"] == "Succeeded"


def test_terminated_pod_keeps_its_ip_after_the_sandbox_is_gone() -> None:
    """The pod IP stays in the status once the sandbox has been torn down."""
    pod = make_pod(policy="Never")
    first = generate(pod, runtime(ctr("app", RUNNING)))
    later = generate_pod_status(
        pod, runtime(ctr("app", EXITED, exit_code=0), box=sandbox(ready=False)), old_status=first
    )
    assert later["podIP"] == "10.88.0.5"
    assert conditions(later)[0] == ("PodReadyToStartContainers", "False", "")


def test_stamping_keeps_transition_times_while_status_holds() -> None:
    """lastTransitionTime changes only when a condition's status changes; startTime stays."""
    pod = make_pod()
    early = stamp_status(generate(pod, no_sandbox()), None, T0)
    later = stamp_status(generate(pod, runtime(ctr("app", RUNNING))), early, NOW)
    times = {c["type"]: c["lastTransitionTime"] for c in later["conditions"]}
    assert times["PodScheduled"] == "2026-01-01T00:00:00Z"
    assert times["Initialized"] == "2026-01-01T00:00:00Z"
    assert times["Ready"] == "2026-01-01T00:01:00Z"
    assert later["startTime"] == "2026-01-01T00:00:00Z"
    assert all(c["lastProbeTime"] is None for c in later["conditions"])
