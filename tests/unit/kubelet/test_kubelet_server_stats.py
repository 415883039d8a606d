"""The kubelet's resource sampler: running containers sampled, pods reported when complete."""

from __future__ import annotations

import asyncio
from typing import Any

from kubeproc.kubelet.runtime.fake import FakeRuntime
from kubeproc.kubelet.runtime.types import ContainerConfig, SandboxConfig
from kubeproc.kubelet.server_stats import StatsSampler
from kubeproc.kubelet.statsreader import Counters
from kubeproc.util.clock import FakeClock


class FakeCounters:
    """Counters per pid that grow at a set rate with the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.rates: dict[int, tuple[float, int]] = {}  # pid: (cores, working set)

    def node(self) -> Counters:
        cores = sum(rate for rate, _ in self.rates.values()) + 0.25
        memory = sum(m for _, m in self.rates.values()) + 1000
        return Counters(int(cores * self.clock.monotonic() * 1e9), memory, "node")

    def container(self, pid: int) -> Counters | None:
        if pid not in self.rates:
            return None
        cores, memory = self.rates[pid]
        return Counters(int(cores * self.clock.monotonic() * 1e9), memory, "cgroup")


async def start_pod(runtime: FakeRuntime, name: str, containers: list[str]) -> list[int]:
    sandbox = await runtime.run_sandbox(
        SandboxConfig(
            pod_uid=f"uid-{name}", pod_name=name, namespace="ns", hostname=name, log_dir=""
        )
    )
    pids = []
    for c in containers:
        cid = await runtime.create_container(sandbox.id, ContainerConfig(c, 0, ("sleep", "1")))
        await runtime.start_container(cid)
        status = await runtime.container_status(cid)
        assert status.pid is not None
        pids.append(status.pid)
    return pids


async def sample_for(sampler: StatsSampler, clock: FakeClock, seconds: float) -> None:
    for _ in range(int(seconds / 2.5) + 1):
        await sampler.sample_once()
        await clock.advance(2.5)


def container_usage(report: dict[str, Any], pod: str) -> dict[str, dict[str, Any]]:
    (found,) = [p for p in report["pods"] if p["name"] == pod]
    return {c["name"]: c for c in found["containers"]}


async def test_rates_after_a_full_window() -> None:
    """After 10 s of samples each container's CPU rate and working set are reported."""
    clock = FakeClock()
    runtime = FakeRuntime(clock)
    counters = FakeCounters(clock)
    sampler = StatsSampler(runtime, clock, reader=counters, interval=2.5, window=10.0)
    (burner,) = await start_pod(runtime, "burner", ["burn"])
    counters.rates[burner] = (1.0, 200 * 1024 * 1024)

    await sampler.sample_once()
    assert sampler.report() == {"node": None, "pods": []}

    await clock.advance(2.5)
    await sample_for(sampler, clock, 10)
    report = sampler.report()
    burn = container_usage(report, "burner")["burn"]
    assert burn["cpuNanoCores"] == 10**9
    assert burn["memoryWorkingSetBytes"] == 200 * 1024 * 1024
    assert burn["windowSeconds"] == 10.0
    assert burn["source"] == "cgroup"
    assert report["pods"][0]["uid"] == "uid-burner"
    assert report["node"]["cpuNanoCores"] == 1_250_000_000


async def test_a_pod_is_reported_only_when_every_container_has_a_window() -> None:
    """A pod with a container still too young for a rate is left out, as metrics-server does."""
    clock = FakeClock()
    runtime = FakeRuntime(clock)
    counters = FakeCounters(clock)
    sampler = StatsSampler(runtime, clock, reader=counters, interval=2.5, window=10.0)
    (old,) = await start_pod(runtime, "old", ["a"])
    counters.rates[old] = (0.5, 10)
    await sample_for(sampler, clock, 10)
    pids = await start_pod(runtime, "young", ["a", "b"])
    for pid in pids:
        counters.rates[pid] = (0.1, 20)
    await sampler.sample_once()
    assert [p["name"] for p in sampler.report()["pods"]] == ["old"]

    await sample_for(sampler, clock, 10)
    young = container_usage(sampler.report(), "young")
    assert sorted(young) == ["a", "b"]
    assert young["a"]["cpuNanoCores"] == 10**8


async def test_stopped_containers_are_forgotten() -> None:
    """A container that stops drops out of the report and of the history."""
    clock = FakeClock()
    runtime = FakeRuntime(clock)
    counters = FakeCounters(clock)
    sampler = StatsSampler(runtime, clock, reader=counters, interval=2.5, window=10.0)
    (pid,) = await start_pod(runtime, "p", ["a"])
    counters.rates[pid] = (0.2, 10)
    await sample_for(sampler, clock, 10)
    assert sampler.report()["pods"]
    (running,) = runtime.running()
    await runtime.stop_container(running.id, 0)
    await sampler.sample_once()
    assert sampler.report()["pods"] == []
    assert sampler.history.keys() == ["/"]


async def test_run_samples_on_the_clock_and_survives_a_failed_round() -> None:
    """``run`` samples every interval; an error in one round does not end it."""
    clock = FakeClock()
    runtime = FakeRuntime(clock)
    counters = FakeCounters(clock)
    sampler = StatsSampler(runtime, clock, reader=counters, interval=2.5, window=10.0)
    calls = 0
    real = counters.node

    def flaky() -> Counters:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("proc went away")
        return real()

    counters.node = flaky  # type: ignore[method-assign]
    task = asyncio.create_task(sampler.run())
    try:
        for _ in range(8):
            await clock.advance(2.5)
        assert calls >= 8
        assert sampler.report()["node"] is not None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
