"""Table tests of the prober's pure decisions (spec §2.2 to §2.4, §2.10)."""

from __future__ import annotations

import datetime as dt

import pytest

from kubeproc.kubelet.prober import HandlerResult, Outcome, ProbeType, Result
from kubeproc.kubelet.prober.events import attempt_event
from kubeproc.kubelet.prober.worker import (
    ContainerView,
    PodView,
    ProbeTiming,
    Step,
    Thresholds,
    WorkerState,
    classify,
    delay_pending,
    first_delay,
    initial_result,
    next_result,
    next_tick_after,
    plan_attempt,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
S, F = Result.SUCCESS, Result.FAILURE
L, R, ST = ProbeType.LIVENESS, ProbeType.READINESS, ProbeType.STARTUP


def test_initial_values_per_probe_type() -> None:
    """A new container starts readiness Failure, liveness Success, startup Unknown."""
    assert initial_result(R) is Result.FAILURE
    assert initial_result(L) is Result.SUCCESS
    assert initial_result(ST) is Result.UNKNOWN


@pytest.mark.parametrize(
    ("handler", "counted"),
    [
        (HandlerResult.SUCCESS, S),
        (HandlerResult.WARNING, S),
        (HandlerResult.FAILURE, F),
        (HandlerResult.UNKNOWN, F),
        (HandlerResult.ERROR, None),
    ],
)
def test_classify(handler: HandlerResult, counted: Result | None) -> None:
    """Warning counts as Success, Unknown as Failure, and an error is not counted at all."""
    assert classify(handler) is counted


def _run(
    probe_type: ProbeType, outcomes: list[Result], thresholds: Thresholds
) -> list[Result | None]:
    state = WorkerState(container_id="c1")
    published: list[Result | None] = []
    for outcome in outcomes:
        state, publish = next_result(state, outcome, thresholds, probe_type=probe_type)
        published.append(publish)
    return published


@pytest.mark.parametrize(
    ("probe_type", "thresholds", "outcomes", "published"),
    [
        # failureThreshold 3: only the third consecutive failure publishes.
        (R, Thresholds(1, 3), [F, F, F, F], [None, None, F, F]),
        # a success in between restarts the failure run.
        (R, Thresholds(1, 3), [F, F, S, F, F, F], [None, None, S, None, None, F]),
        # successThreshold 3 for readiness.
        (R, Thresholds(3, 1), [S, S, S], [None, None, S]),
        (R, Thresholds(3, 1), [S, S, F, S, S, S], [None, None, F, None, None, S]),
        # alternating with failureThreshold 2 never publishes Failure (AT-22).
        (R, Thresholds(1, 2), [S, F, S, F, S, F], [S, None, S, None, S, None]),
        # liveness publishes Failure once and then holds (its run restarts from zero).
        (L, Thresholds(1, 1), [S, F], [S, F]),
        # startup below threshold publishes nothing, leaving the cache Unknown.
        (ST, Thresholds(1, 3), [F, F], [None, None]),
    ],
)
def test_next_result_counts_consecutive_outcomes(
    probe_type: ProbeType,
    thresholds: Thresholds,
    outcomes: list[Result],
    published: list[Result | None],
) -> None:
    """Results publish only when a consecutive run reaches its threshold."""
    assert _run(probe_type, outcomes, thresholds) == published


@pytest.mark.parametrize(
    ("probe_type", "outcome", "on_hold"),
    [
        (L, F, True),
        (L, S, False),
        (ST, F, True),
        (ST, S, True),
        (R, F, False),
        (R, S, False),
    ],
)
def test_on_hold_after_published_result(
    probe_type: ProbeType, outcome: Result, on_hold: bool
) -> None:
    """Liveness Failure and any startup result put the worker on hold; readiness never."""
    state, publish = next_result(
        WorkerState(container_id="c1"), outcome, Thresholds(1, 1), probe_type=probe_type
    )
    assert publish is outcome
    assert state.on_hold is on_hold
    assert state.result_run == (0 if on_hold else 1)


@pytest.mark.parametrize(
    ("started_at", "now", "delay", "pending"),
    [
        (T0, T0, 0, False),
        (T0, T0 + dt.timedelta(seconds=14.9), 15, True),
        (T0, T0 + dt.timedelta(seconds=15), 15, False),
        (None, T0, 5, True),
    ],
)
def test_delay_pending_truncates_to_whole_seconds(
    started_at: dt.datetime | None, now: dt.datetime, delay: int, pending: bool
) -> None:
    """The initial delay compares whole seconds since startedAt with initialDelaySeconds."""
    assert delay_pending(started_at, now, delay) is pending


def test_first_delay_only_right_after_kubelet_start() -> None:
    """A worker born within one period of kubelet start is jittered; later ones are not."""
    assert first_delay(10, 3, 0.25) == 2.5
    assert first_delay(10, 10, 0.25) == 0.0


def test_next_tick_after_coalesces_missed_ticks() -> None:
    """Ticks missed during a long attempt collapse into one; the grid stays anchored."""
    assert next_tick_after(10, 10, 10) == 20
    assert next_tick_after(10, 35, 10) == 40


def test_probe_timing_defaults() -> None:
    """Zero or absent timing fields take the API defaults (period 10, thresholds 1/3)."""
    timing = ProbeTiming.from_spec({"periodSeconds": 0})
    assert timing == ProbeTiming(0, 10, Thresholds(1, 3))


RUNNING = ContainerView("c1", running=True, started_at=T0, started=True)


def _pod(
    c: ContainerView | None = RUNNING, *, phase: str = "Running", deleting: bool = False
) -> PodView:
    containers = {"app": c} if c is not None else {}
    return PodView("u", phase=phase, deleting=deleting, containers=containers)


HELD = WorkerState("c1", on_hold=True)
SEEN = WorkerState("c1")


@pytest.mark.parametrize(
    ("probe_type", "state", "pod", "step", "writes"),
    [
        (R, SEEN, None, Step.SKIP, ()),
        (R, SEEN, _pod(phase="Succeeded"), Step.STOP, ()),
        (R, SEEN, _pod(None), Step.SKIP, ()),
        (R, SEEN, _pod(ContainerView("")), Step.SKIP, ()),
        # a new container ID writes the initial value, then probes.
        (R, WorkerState(), _pod(), Step.PROBE, (F,)),
        (L, WorkerState(), _pod(), Step.PROBE, (S,)),
        (ST, WorkerState(), _pod(ContainerView("c1", True, T0)), Step.PROBE, (Result.UNKNOWN,)),
        # a new container ID clears the hold.
        (L, WorkerState("c0", on_hold=True), _pod(), Step.PROBE, (S,)),
        (L, HELD, _pod(), Step.SKIP, ()),
        # not running: Failure; stop only if it will not restart.
        (R, SEEN, _pod(ContainerView("c1", terminated=True)), Step.SKIP, (F,)),
        (
            R,
            SEEN,
            _pod(ContainerView("c1", terminated=True, will_restart=False)),
            Step.STOP,
            (F,),
        ),
        # terminating pods: liveness/startup quietly write Success and stop.
        (L, SEEN, _pod(deleting=True), Step.STOP, (S,)),
        (ST, SEEN, _pod(ContainerView("c1", True, T0), deleting=True), Step.STOP, (S,)),
        (R, SEEN, _pod(deleting=True), Step.PROBE, ()),
        # startup gating.
        (ST, SEEN, _pod(), Step.SKIP, ()),
        (L, SEEN, _pod(ContainerView("c1", True, T0, started=False)), Step.SKIP, ()),
        (R, SEEN, _pod(ContainerView("c1", True, T0, started=False)), Step.SKIP, ()),
    ],
)
def test_plan_attempt_gate_sequence(
    probe_type: ProbeType,
    state: WorkerState,
    pod: PodView | None,
    step: Step,
    writes: tuple[Result, ...],
) -> None:
    """Each attempt follows doProbe's order of gates before it may probe."""
    plan = plan_attempt(probe_type, state, pod, container_name="app", timing=ProbeTiming(), now=T0)
    assert (plan.step, plan.writes) == (step, writes)


def test_plan_attempt_initial_delay_and_dropped_id() -> None:
    """A new instance drops the old ID's result and waits out its own initial delay."""
    old = WorkerState("c0", last_result=F, result_run=2)
    plan = plan_attempt(
        R, old, _pod(), container_name="app", timing=ProbeTiming(initial_delay=15), now=T0
    )
    assert plan.step is Step.SKIP
    assert plan.dropped_id == "c0"
    assert plan.state == WorkerState("c1")


@pytest.mark.parametrize(
    ("probe_type", "outcome", "reason", "message"),
    [
        (L, Outcome(HandlerResult.FAILURE, "boom"), "Unhealthy", "Liveness probe failed: boom"),
        (
            R,
            Outcome(HandlerResult.ERROR, 'port "web" not found'),
            "Unhealthy",
            'Readiness probe errored and resulted in unknown state: port "web" not found',
        ),
        (
            ST,
            Outcome(HandlerResult.WARNING, "Probe terminated redirects, Response body: x"),
            "ProbeWarning",
            "Startup probe warning: Probe terminated redirects, Response body: x",
        ),
        (L, Outcome(HandlerResult.SUCCESS), None, None),
        (L, Outcome(HandlerResult.UNKNOWN), None, None),
    ],
)
def test_attempt_event_wording(
    probe_type: ProbeType, outcome: Outcome, reason: str | None, message: str | None
) -> None:
    """Failing, erroring and warning attempts emit Kubernetes' exact event text."""
    event = attempt_event(probe_type, outcome, pod_uid="u", container_name="app")
    if reason is None:
        assert event is None
        return
    assert event is not None
    assert (event.type, event.reason, event.message) == ("Warning", reason, message)
    assert event.field_path == "spec.containers{app}"
