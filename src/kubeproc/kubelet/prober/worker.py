"""One prober worker per (pod, container, probe type): the kubelet's legacy ``worker.go``.

Decisions are pure functions over frozen records so each rule of spec §2 is a table test:
``plan_attempt`` is ``doProbe``'s gate sequence (steps 1 to 9), ``next_result`` its counting
(steps 11 to 14), ``classify`` how a handler verdict counts (§2.10), ``first_delay`` the
kubelet-restart jitter (§2.3.1). ``Worker.run`` only sleeps on the injected clock, asks the
``ProbeRunner`` and writes the ``ResultsCache``; the manager builds the ``PodView`` it
reads and owns its task.

One deliberate difference from upstream: ``lastResult``/``resultRun`` are reset when a
new container ID is seen, so a restarted container never completes a run begun by its
predecessor (the spec's §2.4 quirk; the newer upstream worker does the same).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from kubeproc.kubelet.prober.events import ProbeEvent, attempt_event
from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome, ProbeRunner, ProbeTarget
from kubeproc.kubelet.prober.results import ProbeType, Result, ResultKey, ResultsCache
from kubeproc.util.clock import Clock

logger = logging.getLogger(__name__)

MAX_PROBE_RETRIES = 3
"""``maxProbeRetries``: tries per attempt while the handler reports an error."""

EventSink = Callable[[ProbeEvent], None]
AttemptSink = Callable[[float, float, Result | None, Outcome], None]
"""Told of every attempt: wall start, duration, how it counted (None: errored), outcome."""

_INITIAL: Mapping[ProbeType, Result] = {
    ProbeType.READINESS: Result.FAILURE,
    ProbeType.LIVENESS: Result.SUCCESS,
    ProbeType.STARTUP: Result.UNKNOWN,
}


# -- records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    success: int = 1
    failure: int = 3


@dataclass(frozen=True)
class ProbeTiming:
    """The probe's timing fields, with API defaulting applied to zero/absent values."""

    initial_delay: int = 0
    period: int = 10
    thresholds: Thresholds = field(default_factory=Thresholds)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ProbeTiming:
        return cls(
            initial_delay=int(spec.get("initialDelaySeconds") or 0),
            period=int(spec.get("periodSeconds") or 10),
            thresholds=Thresholds(
                success=int(spec.get("successThreshold") or 1),
                failure=int(spec.get("failureThreshold") or 3),
            ),
        )


@dataclass(frozen=True)
class ContainerView:
    """What a worker needs of one container status."""

    container_id: str = ""
    running: bool = False
    started_at: dt.datetime | None = None
    started: bool = False
    """The startup gate: running and (no startup probe, or startup result Success)."""
    terminated: bool = False
    will_restart: bool = True


@dataclass(frozen=True)
class PodView:
    """What a worker needs of its pod's latest status."""

    uid: str
    phase: str = "Pending"
    deleting: bool = False
    pod_ip: str = ""
    containers: Mapping[str, ContainerView] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerState:
    container_id: str | None = None
    last_result: Result | None = None
    result_run: int = 0
    on_hold: bool = False


class Step(StrEnum):
    PROBE = "probe"
    SKIP = "skip"
    """Keep the worker, wait for the next tick."""
    STOP = "stop"


@dataclass(frozen=True)
class Plan:
    step: Step
    state: WorkerState
    writes: tuple[Result, ...] = ()
    """Results to write, in order, for ``state.container_id``."""
    dropped_id: str | None = None
    """A previous container ID whose cached result must be forgotten."""
    reason: str = ""
    fresh: bool = False
    """A new container ID: ``writes`` starts with its initial value (§2.2)."""


# -- pure decisions --------------------------------------------------------------------


def initial_result(probe_type: ProbeType) -> Result:
    """§2.2: readiness starts Failure, liveness Success, startup Unknown."""
    return _INITIAL[probe_type]


def first_delay(period: float, kubelet_uptime: float, fraction: float) -> float:
    """§2.3.1: a worker born within one period of kubelet start waits ``fraction·period``."""
    return fraction * period if kubelet_uptime < period else 0.0


def delay_pending(started_at: dt.datetime | None, now: dt.datetime, initial_delay: int) -> bool:
    """§2.3.5: whole seconds since the container started are below the initial delay."""
    if initial_delay <= 0:
        return False
    if started_at is None:
        return True
    return int((now - started_at).total_seconds()) < initial_delay


def plan_attempt(
    probe_type: ProbeType,
    state: WorkerState,
    pod: PodView | None,
    *,
    container_name: str,
    timing: ProbeTiming,
    now: dt.datetime,
) -> Plan:
    """§2.4 steps 1 to 9: whether this tick probes, skips, or stops the worker."""
    if pod is None:
        return Plan(Step.SKIP, state, reason="no pod status")
    if pod.phase in ("Failed", "Succeeded"):
        return Plan(Step.STOP, state, reason=f"pod phase {pod.phase}")
    c = pod.containers.get(container_name)
    if c is None or not c.container_id:
        return Plan(Step.SKIP, state, reason="no container ID")
    writes: list[Result] = []
    dropped: str | None = None
    if c.container_id != state.container_id:
        dropped = state.container_id
        state = WorkerState(container_id=c.container_id)
        writes.append(initial_result(probe_type))

    def plan(step: Step, reason: str, *extra: Result) -> Plan:
        return Plan(step, state, (*writes, *extra), dropped, reason, fresh=bool(writes))

    if state.on_hold:
        return plan(Step.SKIP, "on hold")
    if not c.running:
        if c.terminated and not c.will_restart:
            return plan(Step.STOP, "terminated, no restart", Result.FAILURE)
        return plan(Step.SKIP, "not running", Result.FAILURE)
    if pod.deleting and probe_type is not ProbeType.READINESS:
        return plan(Step.STOP, "pod terminating", Result.SUCCESS)
    if delay_pending(c.started_at, now, timing.initial_delay):
        return plan(Step.SKIP, "initial delay")
    if probe_type is ProbeType.STARTUP and c.started:
        return plan(Step.SKIP, "already started")
    if probe_type is not ProbeType.STARTUP and not c.started:
        return plan(Step.SKIP, "not started")
    return plan(Step.PROBE, "")


def classify(result: HandlerResult) -> Result | None:
    """§2.10: Warning counts as Success, Unknown as Failure; an error is discarded (None)."""
    if result in (HandlerResult.SUCCESS, HandlerResult.WARNING):
        return Result.SUCCESS
    if result in (HandlerResult.FAILURE, HandlerResult.UNKNOWN):
        return Result.FAILURE
    return None


def next_result(
    state: WorkerState, outcome: Result, thresholds: Thresholds, *, probe_type: ProbeType
) -> tuple[WorkerState, Result | None]:
    """§2.4 steps 11 to 14: count the outcome; return the result to publish, if any."""
    run = state.result_run + 1 if state.last_result is outcome else 1
    state = replace(state, last_result=outcome, result_run=run)
    if (outcome is Result.FAILURE and run < thresholds.failure) or (
        outcome is Result.SUCCESS and run < thresholds.success
    ):
        return state, None
    if probe_type is ProbeType.STARTUP or (
        probe_type is ProbeType.LIVENESS and outcome is Result.FAILURE
    ):
        state = replace(state, on_hold=True, result_run=0)
    return state, outcome


def next_tick_after(next_tick: float, now: float, period: float) -> float:
    """The ticker's next deadline once ``now`` has passed ``next_tick`` (ticks coalesce)."""
    missed = math.floor((now - next_tick) / period) + 1
    return next_tick + missed * period


# -- the loop --------------------------------------------------------------------------


class Worker:
    """Probes one container's one probe type until stopped or told to stop by the rules."""

    def __init__(
        self,
        *,
        probe_type: ProbeType,
        pod_uid: str,
        container_name: str,
        probe_spec: Mapping[str, Any],
        pod_view: Callable[[], PodView | None],
        container_spec: Mapping[str, Any] | None = None,
        cache: ResultsCache,
        runner: ProbeRunner,
        clock: Clock,
        start_delay: float = 0.0,
        on_event: EventSink | None = None,
        on_attempt: AttemptSink | None = None,
    ) -> None:
        self.probe_type = probe_type
        self.pod_uid = pod_uid
        self.container_name = container_name
        self.probe_spec = probe_spec
        self.container_spec: Mapping[str, Any] = container_spec or {}
        self.timing = ProbeTiming.from_spec(probe_spec)
        self.state = WorkerState()
        self._pod_view = pod_view
        self._cache = cache
        self._runner = runner
        self._clock = clock
        self._start_delay = start_delay
        self._on_event = on_event
        self._on_attempt = on_attempt
        self._manual = asyncio.Event()
        self._log_ctx = f"pod={pod_uid} container={container_name} probe={probe_type}"

    def trigger(self) -> None:
        """Run an attempt now and restart the ticker (§2.3.3); coalesces like upstream."""
        self._manual.set()

    async def run(self) -> None:
        try:
            if self._start_delay > 0:
                await self._clock.sleep(self._start_delay)
            next_tick = self._clock.monotonic() + self.timing.period
            while True:
                self._manual.clear()  # the attempt about to run answers any pending kick
                if not await self._attempt():
                    return
                next_tick = await self._wait(next_tick)
        finally:
            if self.state.container_id:
                self._cache.remove(self._key(self.state.container_id))

    def _key(self, container_id: str) -> ResultKey:
        return ResultKey(self.pod_uid, container_id, self.probe_type)

    async def _attempt(self) -> bool:
        """One tick; False when the worker should stop."""
        plan = plan_attempt(
            self.probe_type,
            self.state,
            self._pod_view(),
            container_name=self.container_name,
            timing=self.timing,
            now=self._clock.now(),
        )
        self.state = plan.state
        if plan.dropped_id:
            self._cache.remove(self._key(plan.dropped_id))
        cid = self.state.container_id
        writes = plan.writes
        if plan.fresh and cid is not None and self._cache.get(self._key(cid)) is not None:
            writes = writes[1:]  # a result carried over a kubeproc restart stands (§2.11)
        for written in writes:
            assert cid is not None  # writes only follow a container ID
            self._cache.set(self._key(cid), written)
        if plan.step is Step.STOP:
            logger.info("probe worker stopping %s reason=%r", self._log_ctx, plan.reason)
            return False
        if plan.step is Step.SKIP:
            return True
        assert cid is not None
        pod = self._pod_view()
        started, began = self._clock.now().timestamp(), self._clock.monotonic()
        outcome = await self._probe(pod.pod_ip if pod else "", cid)
        counted = classify(outcome.result)
        if self._on_attempt is not None:
            self._on_attempt(started, self._clock.monotonic() - began, counted, outcome)
        event = attempt_event(
            self.probe_type, outcome, pod_uid=self.pod_uid, container_name=self.container_name
        )
        if event is not None and self._on_event is not None:
            self._on_event(event)
        if counted is None:
            logger.warning(
                "probe errored, result unknown %s error=%r", self._log_ctx, outcome.output
            )
            return True
        self.state, publish = next_result(
            self.state, counted, self.timing.thresholds, probe_type=self.probe_type
        )
        if publish is not None and self._cache.set(self._key(cid), publish):
            logger.info(
                "probe result changed %s container_id=%s result=%s", self._log_ctx, cid, publish
            )
        return True

    async def _probe(self, pod_ip: str, container_id: str) -> Outcome:
        """Run the handler, trying again only while it errors (§2.10)."""
        outcome = Outcome(HandlerResult.ERROR, "probe not run")
        for _ in range(MAX_PROBE_RETRIES):
            outcome = await self._run_once(pod_ip, container_id)
            if outcome.result is not HandlerResult.ERROR:
                break
        return outcome

    async def _run_once(self, pod_ip: str, container_id: str) -> Outcome:
        try:
            target = ProbeTarget(pod_ip, container_id, self.container_spec)
            return await self._runner.run(self.probe_type, self.probe_spec, target)
        except Exception as exc:  # a runner bug must not take every worker down with it
            logger.exception("probe runner raised %s", self._log_ctx)
            return Outcome(HandlerResult.ERROR, str(exc))

    async def _wait(self, next_tick: float) -> float:
        """Sleep until the next tick or a manual trigger; return the following deadline."""
        period = self.timing.period
        now = self._clock.monotonic()
        if now >= next_tick:  # the attempt outlasted a tick: run the pending one at once
            return next_tick_after(next_tick, now, period)
        if self._manual.is_set():
            self._manual.clear()
            return now + period
        sleeper = asyncio.ensure_future(self._clock.sleep(next_tick - now))
        waiter = asyncio.ensure_future(self._manual.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waiter):
                task.cancel()
            await asyncio.gather(sleeper, waiter, return_exceptions=True)
        if self._manual.is_set():
            self._manual.clear()
            return self._clock.monotonic() + period
        return next_tick + period
