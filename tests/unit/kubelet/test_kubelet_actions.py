"""compute_pod_actions decides sandbox, init, restart, kill and back-off as the kubelet does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from kubelet_builders import (
    CREATED,
    EXITED,
    RUNNING,
    T0,
    UID,
    ctr,
    make_pod,
    no_sandbox,
    runtime,
    sandbox,
    spec,
)

from kubeproc.kubelet.actions import PodActions, compute_pod_actions
from kubeproc.kubelet.backoff import Backoff, backoff_key
from kubeproc.kubelet.probehooks import ProbeHooks, ProbeKind
from kubeproc.kubelet.runtimestatus import PodRuntimeStatus, container_hash
from kubeproc.util.clock import FakeClock

NOW = T0 + dt.timedelta(seconds=100)


@dataclass(frozen=True)
class Want:
    kill_pod: bool = False
    create_sandbox: bool = False
    init: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    kill: tuple[tuple[str, str], ...] = ()
    held: tuple[str, ...] = ()


def summary(actions: PodActions) -> Want:
    return Want(
        kill_pod=actions.kill_pod,
        create_sandbox=actions.create_sandbox,
        init=tuple(s.name for s in actions.init_containers_to_start),
        start=tuple(s.name for s in actions.containers_to_start),
        kill=tuple((k.name, k.message) for k in actions.containers_to_kill),
        held=tuple(b.name for b in actions.backing_off),
    )


def liveness_failed_for(container_id: str) -> ProbeHooks:
    def failed(pod_uid: str, cid: str) -> ProbeKind | None:
        return ProbeKind.LIVENESS if cid == container_id else None

    return ProbeHooks(failed=failed)


CHANGED = spec("app", image="busybox:2")
TWO = (spec("app"), spec("web"))
SIDECAR_FIRST = (spec("log", sidecar=True), spec("setup"))

CASES: list[tuple[str, dict[str, Any], PodRuntimeStatus, ProbeHooks, Want]] = [
    (
        "new pod: create the sandbox, start every container",
        make_pod(*TWO),
        no_sandbox(),
        ProbeHooks(),
        Want(kill_pod=True, create_sandbox=True, start=("app", "web")),
    ),
    (
        "running and wanted: nothing to do",
        make_pod(),
        runtime(ctr("app", RUNNING)),
        ProbeHooks(),
        Want(),
    ),
    (
        "Always, exited 0: restart",
        make_pod(),
        runtime(ctr("app", EXITED, exit_code=0)),
        ProbeHooks(),
        Want(start=("app",)),
    ),
    (
        "OnFailure, exited 0: done, kill the pod",
        make_pod(policy="OnFailure"),
        runtime(ctr("app", EXITED, exit_code=0)),
        ProbeHooks(),
        Want(kill_pod=True),
    ),
    (
        "OnFailure, exited 1: restart",
        make_pod(policy="OnFailure"),
        runtime(ctr("app", EXITED, exit_code=1)),
        ProbeHooks(),
        Want(start=("app",)),
    ),
    (
        "Never, exited 1: no restart, kill the pod",
        make_pod(policy="Never"),
        runtime(ctr("app", EXITED, exit_code=1)),
        ProbeHooks(),
        Want(kill_pod=True),
    ),
    (
        "created but never started: start again",
        make_pod(policy="Never"),
        runtime(ctr("app", CREATED)),
        ProbeHooks(),
        Want(start=("app",)),
    ),
    (
        "being deleted: nothing restarts",
        make_pod(deleting=True),
        runtime(ctr("app", EXITED, exit_code=1)),
        ProbeHooks(),
        Want(kill_pod=True),
    ),
    (
        "spec changed: kill and restart, whatever the policy",
        make_pod(CHANGED, policy="Never"),
        runtime(ctr("app", RUNNING)),
        ProbeHooks(),
        Want(
            start=("app",), kill=(("app", "Container app definition changed, will be restarted"),)
        ),
    ),
    (
        "liveness failed, Always: kill and restart in the same sync",
        make_pod(),
        runtime(ctr("app", RUNNING)),
        liveness_failed_for("app-0"),
        Want(
            start=("app",),
            kill=(("app", "Container app failed liveness probe, will be restarted"),),
        ),
    ),
    (
        "liveness failed, OnFailure: restarted too",
        make_pod(policy="OnFailure"),
        runtime(ctr("app", RUNNING)),
        liveness_failed_for("app-0"),
        Want(
            start=("app",),
            kill=(("app", "Container app failed liveness probe, will be restarted"),),
        ),
    ),
    (
        "liveness failed, Never: killed, not restarted, nothing left: kill the pod",
        make_pod(policy="Never"),
        runtime(ctr("app", RUNNING)),
        liveness_failed_for("app-0"),
        Want(kill_pod=True, kill=(("app", "Container app failed liveness probe"),)),
    ),
    (
        "liveness failed, Never, another container runs: only that one",
        make_pod(*TWO, policy="Never"),
        runtime(ctr("app", RUNNING), ctr("web", RUNNING)),
        liveness_failed_for("app-0"),
        Want(kill=(("app", "Container app failed liveness probe"),)),
    ),
    (
        "sandbox died: kill everything and start over",
        make_pod(),
        runtime(ctr("app", RUNNING), box=sandbox(ready=False)),
        ProbeHooks(),
        Want(kill_pod=True, create_sandbox=True, start=("app",)),
    ),
    (
        "sandbox died, Never pod that already ran: no new sandbox",
        make_pod(policy="Never"),
        runtime(ctr("app", EXITED, exit_code=0), box=sandbox(ready=False)),
        ProbeHooks(),
        Want(kill_pod=True),
    ),
    (
        "init containers: the first one starts first",
        make_pod(init=(spec("i1"), spec("i2"))),
        runtime(),
        ProbeHooks(),
        Want(init=("i1",)),
    ),
    (
        "init containers: the next one after a success",
        make_pod(init=(spec("i1"), spec("i2"))),
        runtime(ctr("i1", EXITED, exit_code=0)),
        ProbeHooks(),
        Want(init=("i2",)),
    ),
    (
        "init container running: wait",
        make_pod(init=(spec("i1"), spec("i2"))),
        runtime(ctr("i1", RUNNING)),
        ProbeHooks(),
        Want(),
    ),
    (
        "init container failed, Always: run it again",
        make_pod(init=(spec("i1"),)),
        runtime(ctr("i1", EXITED, exit_code=1)),
        ProbeHooks(),
        Want(init=("i1",)),
    ),
    (
        "init container failed, Never: the pod is done",
        make_pod(init=(spec("i1"),), policy="Never"),
        runtime(ctr("i1", EXITED, exit_code=1)),
        ProbeHooks(),
        Want(kill_pod=True),
    ),
    (
        "all init containers done: regular containers start",
        make_pod(init=(spec("i1"), spec("i2"))),
        runtime(ctr("i2", EXITED, exit_code=0, at=2), ctr("i1", EXITED, exit_code=0)),
        ProbeHooks(),
        Want(start=("app",)),
    ),
    (
        "sidecar started: the next init container starts while it runs",
        make_pod(init=SIDECAR_FIRST),
        runtime(ctr("log", RUNNING, of=SIDECAR_FIRST[0])),
        ProbeHooks(),
        Want(init=("setup",)),
    ),
    (
        "sidecar exited while the app runs: restart it",
        make_pod(init=SIDECAR_FIRST),
        runtime(
            ctr("log", EXITED, exit_code=1, of=SIDECAR_FIRST[0]),
            ctr("setup", EXITED, exit_code=0, at=1),
            ctr("app", RUNNING, at=2),
        ),
        ProbeHooks(),
        Want(init=("log",)),
    ),
    (
        "app finished (OnFailure): the sidecar does not keep the pod alive",
        make_pod(init=SIDECAR_FIRST, policy="OnFailure"),
        runtime(
            ctr("log", RUNNING, of=SIDECAR_FIRST[0]),
            ctr("setup", EXITED, exit_code=0, at=1),
            ctr("app", EXITED, exit_code=0, at=2),
        ),
        ProbeHooks(),
        Want(kill_pod=True),
    ),
]


@pytest.mark.parametrize(
    ("pod", "status", "probes", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_compute_pod_actions(
    pod: dict[str, Any], status: PodRuntimeStatus, probes: ProbeHooks, want: Want
) -> None:
    """Each row: pod and runtime state in, the kubelet's actions out."""
    actions = compute_pod_actions(pod, status, Backoff(FakeClock(T0)), NOW, probes=probes)
    assert summary(actions) == want


def test_backoff_holds_a_restart_back_with_the_kubelet_message() -> None:
    """A container whose back-off has not expired waits, with message, event and requeue time."""
    pod = make_pod()
    clock = FakeClock(T0)
    backoff = Backoff(clock)
    exited = ctr("app", EXITED, exit_code=1, attempt=1, at=90, ran=5)  # finished at T0+95
    assert exited.finished_at is not None
    backoff.next(backoff_key(UID, "app", container_hash(spec("app"))), exited.finished_at)
    actions = compute_pod_actions(pod, runtime(exited), backoff, NOW, probes=ProbeHooks())
    assert summary(actions) == Want(held=("app",))
    (held,) = actions.backing_off
    assert held.message == "back-off 10s restarting failed container=app pod=p_default(uid-p)"
    assert held.event_message == "Back-off restarting failed container app in pod p_default(uid-p)"
    assert actions.requeue_after == pytest.approx(5)


def test_backoff_expired_starts_and_remembers_the_exit() -> None:
    """Past the delay the container starts; the start carries the exit time for ``Backoff.next``."""
    pod = make_pod()
    backoff = Backoff(FakeClock(T0))
    exited = ctr("app", EXITED, exit_code=1, at=0, ran=5)
    assert exited.finished_at is not None
    backoff.next(backoff_key(UID, "app", container_hash(spec("app"))), exited.finished_at)
    actions = compute_pod_actions(pod, runtime(exited), backoff, NOW)
    (start,) = actions.containers_to_start
    assert start.backoff_since == exited.finished_at
    assert actions.requeue_after is None


def test_a_changed_spec_gets_a_fresh_backoff() -> None:
    """The back-off key includes the spec hash: a new image is not held back by the old one."""
    backoff = Backoff(FakeClock(T0))
    exited = ctr("app", EXITED, exit_code=1, at=95, ran=1, of=spec("app"))
    assert exited.finished_at is not None
    backoff.next(backoff_key(UID, "app", container_hash(spec("app"))), exited.finished_at)
    actions = compute_pod_actions(make_pod(CHANGED), runtime(exited), backoff, NOW)
    assert summary(actions) == Want(start=("app",))
