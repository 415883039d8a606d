"""The probe manager: workers follow pods and container IDs; hooks read the caches."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

from prober_harness import (
    UID,
    container,
    harness,
    make_pod,
    probe,
    running,
    settle,
    terminated,
)

from kubeproc.kubelet.prober import (
    FakeProbeRunner,
    HandlerResult,
    Outcome,
    ProbeManager,
    ProbeTarget,
    ProbeType,
    Result,
    ResultKey,
    ResultsCache,
    ResultUpdate,
    WorkerKey,
)
from kubeproc.util.clock import FakeClock, rfc3339

L, R, ST = ProbeType.LIVENESS, ProbeType.READINESS, ProbeType.STARTUP
BAD = Outcome(HandlerResult.FAILURE, "boom")


def test_results_cache_publishes_only_changes() -> None:
    """Writing the cached value again publishes nothing; removal publishes nothing."""
    seen: list[ResultUpdate] = []
    cache = ResultsCache(seen.append)
    key = ResultKey(UID, "c1", R)
    assert cache.set(key, Result.FAILURE)
    assert not cache.set(key, Result.FAILURE)
    assert cache.set(key, Result.SUCCESS)
    cache.remove(key)
    assert cache.get(key) is None
    assert [u.result for u in seen] == [Result.FAILURE, Result.SUCCESS]


async def test_hooks_without_probes_say_no_probe() -> None:
    """A container without probes has no worker and every lookup answers None."""
    async with harness() as h:
        await h.update(make_pod(container()), running("app", "c1", h.clock))
        hooks = h.manager.hooks()
        assert hooks.readiness(UID, "c1") is None
        assert hooks.startup(UID, "c1") is None
        assert hooks.failed(UID, "c1") is None
        assert h.runner.calls == []


async def test_workers_per_probe_and_sidecars() -> None:
    """One worker per (pod, container, probe type), sidecars included, plain init not."""
    async with harness() as h:
        pod = make_pod(container(livenessProbe=probe(), readinessProbe=probe()))
        pod["spec"]["initContainers"] = [
            container("side", restartPolicy="Always", startupProbe=probe()),
            container("init", readinessProbe=probe()),
        ]
        await h.update(pod, running("app", "c1", h.clock), running("side", "s1", h.clock))
        await h.update(pod, running("app", "c1", h.clock), running("side", "s1", h.clock))
        for key in [
            WorkerKey(UID, "app", L),
            WorkerKey(UID, "app", R),
            WorkerKey(UID, "side", ST),
        ]:
            assert h.manager.worker(key) is not None
        assert h.manager.worker(WorkerKey(UID, "init", R)) is None
        assert h.runner.count(L) == 1  # idempotent: the second update added nothing


async def test_remove_pod_stops_workers_and_clears_results() -> None:
    """Removing a pod stops its workers, which forget their cached results."""
    async with harness() as h:
        pod = make_pod(container(livenessProbe=probe(), readinessProbe=probe()))
        await h.update(pod, running("app", "c1", h.clock))
        assert len(h.manager.results) == 2
        h.manager.remove_pod(UID)
        await h.run_for(30)
        assert len(h.manager.results) == 0
        assert h.manager.worker(WorkerKey(UID, "app", L)) is None
        assert h.runner.count(L) == 1


async def test_worker_stops_when_pod_succeeds() -> None:
    """A pod in phase Succeeded stops its workers and gets no new ones."""
    async with harness() as h:
        pod = make_pod(container(readinessProbe=probe(periodSeconds=1)))
        await h.update(pod, running("app", "c1", h.clock))
        done = make_pod(*pod["spec"]["containers"], phase="Succeeded")
        await h.update(done, terminated("app", "c1", 0))
        await h.run_for(1)
        assert h.manager.worker(WorkerKey(UID, "app", R)) is None
        calls = h.runner.count(R)
        await h.update(done, terminated("app", "c1", 0))
        await h.run_for(5)
        assert h.runner.count(R) == calls


async def test_terminated_without_restart_stops_until_new_instance() -> None:
    """restartPolicy Never: an exited container's worker stops; a new ID brings one back."""
    async with harness() as h:
        pod = make_pod(container(readinessProbe=probe(periodSeconds=1)), restart_policy="Never")
        await h.update(pod, running("app", "c1", h.clock))
        await h.update(pod, terminated("app", "c1", 1))
        await h.run_for(1)
        key = WorkerKey(UID, "app", R)
        assert h.manager.worker(key) is None
        assert h.result("c1", R) is None  # a stopping worker forgets its result
        await h.update(pod, terminated("app", "c1", 1))
        assert h.manager.worker(key) is None  # not re-created for the same instance
        await h.update(pod, running("app", "c2", h.clock))
        assert h.manager.worker(key) is not None
        assert h.manager.readiness(UID, "c2") is True


async def test_exited_container_that_restarts_is_not_ready() -> None:
    """An exited container that will restart reads Failure and keeps its worker."""
    async with harness() as h:
        pod = make_pod(container(readinessProbe=probe(periodSeconds=1)))
        await h.update(pod, running("app", "c1", h.clock))
        assert h.manager.readiness(UID, "c1") is True
        await h.update(pod, terminated("app", "c1", 1))
        await h.run_for(1)
        assert h.manager.readiness(UID, "c1") is False
        assert h.manager.worker(WorkerKey(UID, "app", R)) is not None


async def test_update_pod_kicks_unready_readiness_and_resets_ticker() -> None:
    """A pod sync with an unready started container probes readiness now, then a period on."""
    async with harness() as h:
        h.runner.always(R, BAD)
        spec = probe(periodSeconds=10, failureThreshold=1)
        pod = make_pod(container(readinessProbe=spec))
        status = running("app", "c1", h.clock)
        await h.update(pod, status)
        await h.run_for(5)
        assert h.runner.count(R) == 1
        await h.update(pod, status)
        assert h.runner.count(R) == 2  # kicked at 5 s
        await h.run_for(9)
        assert h.runner.count(R) == 2  # no tick at 10 s: the kick reset the ticker
        await h.run_for(1)
        assert h.runner.count(R) == 3  # 15 s


async def test_deleting_pod_gets_no_new_liveness_or_startup_workers() -> None:
    """A pod first seen while terminating gets only its readiness worker."""
    async with harness() as h:
        pod = make_pod(
            container(livenessProbe=probe(), startupProbe=probe(), readinessProbe=probe()),
            deleting=True,
        )
        await h.update(pod, running("app", "c1", h.clock))
        assert h.manager.worker(WorkerKey(UID, "app", L)) is None
        assert h.manager.worker(WorkerKey(UID, "app", ST)) is None
        assert h.manager.worker(WorkerKey(UID, "app", R)) is not None
        assert h.manager.startup(UID, "c1") is None


async def test_pods_known_before_run_get_workers_when_it_starts() -> None:
    """update_pod before run() only records the pod; run() then starts its workers."""
    clock = FakeClock()
    runner = FakeProbeRunner()
    manager = ProbeManager(clock, runner, kubelet_started=-1000.0)
    pod = make_pod(container(livenessProbe=probe()))
    manager.update_pod(pod, [running("app", "c1", clock)])
    assert manager.worker(WorkerKey(UID, "app", L)) is None
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(manager.run())
        await settle()
        assert manager.worker(WorkerKey(UID, "app", L)) is not None
        assert runner.count(L) == 1
        task.cancel()


class _RaisingRunner(FakeProbeRunner):
    async def run(
        self, kind: ProbeType, probe_spec: Mapping[str, Any], target: ProbeTarget
    ) -> Outcome:
        await super().run(kind, probe_spec, target)
        raise RuntimeError("runner bug")


async def test_runner_exception_is_an_error_not_a_crash() -> None:
    """A runner that raises counts as an errored attempt; the worker keeps running."""
    clock = FakeClock()
    runner = _RaisingRunner()
    manager = ProbeManager(clock, runner, kubelet_started=-1000.0)
    pod = make_pod(container(livenessProbe=probe(periodSeconds=1, failureThreshold=1)))
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(manager.run())
        manager.update_pod(pod, [running("app", "c1", clock)])
        await settle()
        await clock.advance(1)
        await settle()
        assert runner.count(L) == 6
        assert manager.failed(UID, "c1") is None
        assert manager.worker(WorkerKey(UID, "app", L)) is not None
        task.cancel()


def _published(pod: dict[str, Any], cid: str, *, ready: bool, started_at: str) -> dict[str, Any]:
    pod["status"]["containerStatuses"] = [
        {
            "name": "app",
            "containerID": f"kubeproc://{cid}",
            "state": {"running": {"startedAt": started_at}},
            "ready": ready,
            "started": True,
        }
    ]
    return pod


async def test_a_kubeproc_restart_keeps_the_published_readiness_until_a_probe_decides() -> None:
    """§2.11: a container older than the kubelet (by > 10 s) keeps ``ready`` as published."""
    clock = FakeClock()
    await clock.advance(3600)
    runner = FakeProbeRunner()
    runner.always(R, BAD)
    manager = ProbeManager(clock, runner, kubelet_started=clock.monotonic())
    spec = probe(periodSeconds=1, failureThreshold=3)
    old = rfc3339(clock.now() - dt.timedelta(seconds=60))
    pod = _published(make_pod(container(readinessProbe=spec)), "c1", ready=True, started_at=old)
    manager.add_pod(pod)
    assert manager.readiness(UID, "c1") is True  # before any probe ran
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(manager.run())
        manager.update_pod(pod, pod["status"]["containerStatuses"])
        for _ in range(4):
            await clock.advance(1)
            await settle()
        assert manager.readiness(UID, "c1") is False  # three failures decided
        task.cancel()


async def test_a_container_newer_than_the_kubelet_starts_unready_as_usual() -> None:
    clock = FakeClock()
    await clock.advance(3600)
    manager = ProbeManager(
        clock, FakeProbeRunner(), kubelet_started=clock.monotonic(), jitter=lambda: 0.5
    )
    recent = rfc3339(clock.now() - dt.timedelta(seconds=5))
    pod = _published(
        make_pod(container(readinessProbe=probe())), "c1", ready=True, started_at=recent
    )
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(manager.run())
        await settle()
        manager.add_pod(pod)
        assert manager.readiness(UID, "c1") is False  # a worker, no result yet: not ready
        task.cancel()


async def test_a_new_instance_is_not_ready_before_the_prober_has_seen_it() -> None:
    """Status generation asks about a container ID the prober's view does not know yet:
    with the container's name it answers "not yet", never "no probe" (AT-18's first write).
    """
    async with harness() as h:
        pod = make_pod(container(readinessProbe=probe(), startupProbe=probe()))
        await h.update(pod, running("app", "c1", h.clock))
        assert h.manager.readiness(UID, "c2", name="app") is False
        assert h.manager.startup(UID, "c2", name="app") is False
        assert h.manager.readiness(UID, "c2", name="sidecar-without-probes") is None
