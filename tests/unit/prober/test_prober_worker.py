"""Probe workers on a fake clock: timing, thresholds, gating, hold, errors, termination."""

from __future__ import annotations

from prober_harness import (
    UID,
    container,
    harness,
    make_pod,
    probe,
    running,
)

from kubeproc.kubelet.probehooks import ProbeKind
from kubeproc.kubelet.prober import HandlerResult, Outcome, ProbeType, Result

L, R, ST = ProbeType.LIVENESS, ProbeType.READINESS, ProbeType.STARTUP
OK = Outcome(HandlerResult.SUCCESS)
BAD = Outcome(HandlerResult.FAILURE, "HTTP probe failed with statuscode: 500")
ERR = Outcome(HandlerResult.ERROR, 'port "web" not found')


async def test_readiness_waits_for_initial_delay() -> None:
    """Readiness with initialDelaySeconds 15 is not probed, nor Ready, before 15 s."""
    async with harness() as h:
        pod = make_pod(container(readinessProbe=probe(initialDelaySeconds=15)))
        await h.update(pod, running("app", "c1", h.clock))
        assert h.manager.readiness(UID, "c1") is False
        await h.run_for(19)
        assert h.runner.count(R) == 0
        assert h.manager.readiness(UID, "c1") is False
        await h.run_for(1)  # the first tick at or after 15 s is at 20 s
        assert h.runner.count(R) == 1
        assert h.manager.readiness(UID, "c1") is True
        assert h.syncs == [UID, UID]  # initial Failure, then Success


async def test_failure_threshold_counts_consecutive_failures() -> None:
    """failureThreshold 3 at period 10: an app failing from just after 0 s flips at 30 s."""
    async with harness() as h:
        pod = make_pod(container(readinessProbe=probe(failureThreshold=3)))
        await h.update(pod, running("app", "c1", h.clock))
        assert h.manager.readiness(UID, "c1") is True  # probed at once
        h.runner.always(R, BAD)
        await h.run_for(29)
        assert h.runner.count(R) == 3  # failed at 10 and 20: still under threshold
        assert h.manager.readiness(UID, "c1") is True
        await h.run_for(1)
        assert h.manager.readiness(UID, "c1") is False


async def test_success_threshold_for_readiness() -> None:
    """successThreshold 3: Ready only after three consecutive successes."""
    async with harness() as h:
        spec = probe(periodSeconds=1, successThreshold=3, failureThreshold=1)
        await h.update(make_pod(container(readinessProbe=spec)), running("app", "c1", h.clock))
        await h.run_for(1)
        assert h.manager.readiness(UID, "c1") is False
        await h.run_for(1)
        assert h.manager.readiness(UID, "c1") is True


async def test_jitter_right_after_kubelet_start() -> None:
    """A worker created within one period of kubelet start first sleeps jitter·period."""
    async with harness(kubelet_uptime=0, jitter=0.5) as h:
        await h.update(make_pod(container(livenessProbe=probe())), running("app", "c1", h.clock))
        await h.run_for(4)
        assert h.runner.count(L) == 0
        await h.run_for(1)
        assert h.runner.count(L) == 1
        await h.run_for(10)
        assert h.runner.count(L) == 2


async def test_startup_gates_liveness_and_readiness_then_kicks_readiness() -> None:
    """Until startup succeeds nothing else probes; then readiness runs at once."""
    async with harness() as h:
        pod = make_pod(
            container(
                startupProbe=probe(periodSeconds=3, failureThreshold=10),
                livenessProbe=probe(periodSeconds=10),
                readinessProbe=probe(periodSeconds=30),
            )
        )
        h.runner.script(ST, [BAD, BAD, OK])
        await h.update(pod, running("app", "c1", h.clock))
        assert h.manager.startup(UID, "c1") is False
        await h.run_for(5)
        assert (h.runner.count(L), h.runner.count(R)) == (0, 0)
        assert h.manager.readiness(UID, "c1") is False
        await h.run_for(1)  # startup succeeds at 6 s
        assert h.manager.startup(UID, "c1") is True
        assert h.runner.count(R) == 1  # kicked, not waiting for its 30 s tick
        assert h.manager.readiness(UID, "c1") is True
        assert h.runner.count(L) == 0
        await h.run_for(4)
        assert h.runner.count(L) == 1  # liveness on its own next tick (10 s)
        await h.run_for(60)
        assert h.runner.count(ST) == 3  # startup holds after its result


async def test_startup_failure_reports_failed_startup() -> None:
    """A startup probe reaching failureThreshold marks the container failed by startup."""
    async with harness() as h:
        h.runner.always(ST, BAD)
        spec = probe(periodSeconds=1, failureThreshold=3)
        await h.update(make_pod(container(startupProbe=spec)), running("app", "c1", h.clock))
        await h.run_for(1)
        assert h.manager.failed(UID, "c1") is None
        await h.run_for(1)
        assert h.manager.failed(UID, "c1") is ProbeKind.STARTUP
        await h.run_for(10)
        assert h.runner.count(ST) == 3


async def test_liveness_failure_holds_until_new_container_id() -> None:
    """After a liveness Failure the worker stops probing until a new container ID."""
    async with harness() as h:
        pod = make_pod(container(livenessProbe=probe(failureThreshold=1)))
        h.runner.always(L, BAD, container_id="c1")
        await h.update(pod, running("app", "c1", h.clock))
        assert h.manager.failed(UID, "c1") is ProbeKind.LIVENESS
        assert h.syncs == [UID]  # the initial Success is not a sync trigger
        await h.run_for(25)
        assert h.runner.count(L, "c1") == 1
        await h.update(pod, running("app", "c2", h.clock))
        await h.run_for(5)  # next tick at 30 s sees c2
        assert h.manager.failed(UID, "c1") is None  # old ID's result dropped
        assert h.manager.failed(UID, "c2") is None
        assert h.runner.count(L, "c2") == 1
        assert h.runner.count(L, "c1") == 1


async def test_new_container_gets_fresh_delay_and_threshold() -> None:
    """A restarted container waits its own initial delay and failureThreshold again."""
    async with harness() as h:
        spec = probe(initialDelaySeconds=5, periodSeconds=1, failureThreshold=2)
        pod = make_pod(container(livenessProbe=spec))
        h.runner.always(L, BAD)
        await h.update(pod, running("app", "c1", h.clock))
        await h.run_for(6)
        assert h.manager.failed(UID, "c1") is ProbeKind.LIVENESS
        await h.update(pod, running("app", "c2", h.clock))
        await h.run_for(5)
        assert h.runner.count(L, "c2") == 1  # probed first at c2's startedAt + 5
        assert h.manager.failed(UID, "c2") is None
        await h.run_for(1)
        assert h.manager.failed(UID, "c2") is ProbeKind.LIVENESS


async def test_errors_are_unknown_and_never_restart() -> None:
    """A handler error is retried three times, then discarded: no Failure, no restart."""
    async with harness() as h:
        h.runner.always(L, ERR)
        pod = make_pod(container(livenessProbe=probe(periodSeconds=1, failureThreshold=1)))
        await h.update(pod, running("app", "c1", h.clock))
        await h.run_for(10)
        assert h.runner.count(L) == 33  # 11 attempts, 3 tries each
        assert h.manager.failed(UID, "c1") is None
        assert h.result("c1", L) is Result.SUCCESS  # still the initial value


async def test_errors_neither_count_nor_reset_a_failure_run() -> None:
    """Failure, error, Failure is two consecutive failures for failureThreshold 2."""
    async with harness() as h:
        spec = probe(periodSeconds=10, failureThreshold=2)
        await h.update(make_pod(container(readinessProbe=spec)), running("app", "c1", h.clock))
        assert h.manager.readiness(UID, "c1") is True
        h.runner.script(R, [BAD, ERR, ERR, ERR, BAD])
        await h.run_for(20)
        assert h.manager.readiness(UID, "c1") is True
        await h.run_for(10)
        assert h.manager.readiness(UID, "c1") is False


async def test_terminating_pod_keeps_readiness_and_stops_liveness() -> None:
    """On deletion liveness and startup stop without a kill; readiness keeps probing."""
    async with harness() as h:
        pod = make_pod(
            container(
                livenessProbe=probe(periodSeconds=1, failureThreshold=1),
                readinessProbe=probe(periodSeconds=1, failureThreshold=1),
            )
        )
        status = running("app", "c1", h.clock)
        await h.update(pod, status)
        await h.run_for(2)
        h.runner.always(L, BAD)
        h.runner.always(R, BAD)
        await h.update(make_pod(*pod["spec"]["containers"], deleting=True), status)
        liveness_calls = h.runner.count(L)
        await h.run_for(3)
        assert h.runner.count(L) == liveness_calls
        assert h.manager.failed(UID, "c1") is None
        assert h.manager.readiness(UID, "c1") is False
        assert h.runner.count(R) >= 4


async def test_terminating_after_startup_keeps_readiness_ungated() -> None:
    """Stopping a succeeded startup worker on deletion leaves the container started."""
    async with harness() as h:
        pod = make_pod(
            container(
                startupProbe=probe(periodSeconds=1),
                readinessProbe=probe(periodSeconds=1, failureThreshold=1),
            )
        )
        status = running("app", "c1", h.clock)
        await h.update(pod, status)
        await h.run_for(1)
        assert h.manager.startup(UID, "c1") is True
        await h.update(make_pod(*pod["spec"]["containers"], deleting=True), status)
        assert h.manager.startup(UID, "c1") is None
        h.runner.always(R, BAD)
        await h.run_for(1)
        assert h.manager.readiness(UID, "c1") is False


async def test_every_failing_attempt_emits_an_event() -> None:
    """Each failed or errored attempt records one Unhealthy event; successes none."""
    async with harness() as h:
        h.runner.script(R, [BAD, BAD, ERR, ERR, ERR])
        spec = probe(periodSeconds=1, failureThreshold=5)
        await h.update(make_pod(container(readinessProbe=spec)), running("app", "c1", h.clock))
        await h.run_for(3)
        assert [e.message for e in h.events] == [
            "Readiness probe failed: HTTP probe failed with statuscode: 500",
            "Readiness probe failed: HTTP probe failed with statuscode: 500",
            'Readiness probe errored and resulted in unknown state: port "web" not found',
        ]
        assert {(e.reason, e.container_name, e.pod_uid) for e in h.events} == {
            ("Unhealthy", "app", UID)
        }
