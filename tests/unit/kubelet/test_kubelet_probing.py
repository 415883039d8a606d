"""The prober wired into the kubelet, on fakes: results reach the API, kills and events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubelet_fakes import PODS, FakeApi, FakeRuntime, settle
from kubelet_harness import UID, Node, pod, running, started, tick, until

from kubeproc.api.resources import REGISTRY
from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.kubelet import Kubelet
from kubeproc.kubelet.prober import FakeProbeRunner, HandlerResult, Outcome, ProbeType
from kubeproc.util.clock import FakeClock

R = ProbeType.READINESS
L = ProbeType.LIVENESS
FAIL_500 = Outcome(HandlerResult.FAILURE, "HTTP probe failed with statuscode: 500")


@pytest.fixture
def runner() -> FakeProbeRunner:
    return FakeProbeRunner()


@pytest.fixture
async def node(tmp_path: Path, runner: FakeProbeRunner) -> AsyncIterator[Node]:
    clock = FakeClock()
    api = FakeApi(clock)
    runtime = FakeRuntime(clock)
    kubelet = Kubelet(
        api,
        REGISTRY,
        clock,
        runtime,
        KubeletConfig(node_name="node", root_dir=tmp_path),
        prober=runner,
        allocatable={"cpu": "2", "memory": "4Gi"},
    )
    await clock.advance(100)  # past the kubelet-restart jitter window of new workers
    async with running(Node(clock, api, runtime, kubelet, set(), tmp_path)) as n:
        yield n


def condition(node: Node, kind: str) -> dict[str, str]:
    return next(c for c in node.pod()["status"]["conditions"] if c["type"] == kind)


async def test_readiness_success_makes_the_pod_ready_at_once(
    node: Node, runner: FakeProbeRunner
) -> None:
    runner.always(R, FAIL_500)
    await started(node, pod(readinessProbe={"httpGet": {"port": 8080}, "periodSeconds": 10}))
    await until(lambda: runner.count(R) >= 1, "first readiness attempt")
    assert node.status()["ready"] is False
    ready = condition(node, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    assert ready["message"] == "containers with unready status: [app]"
    await until(lambda: len(node.events("Unhealthy")) == 1, "Unhealthy event")
    ((_, message, count),) = node.events("Unhealthy")
    assert message == "Readiness probe failed: HTTP probe failed with statuscode: 500"
    assert count == runner.count(R)
    runner.always(R, Outcome(HandlerResult.SUCCESS))
    await tick(node, 10)
    await until(lambda: node.status()["ready"] is True, "ready")
    assert condition(node, "ContainersReady")["status"] == "True"
    assert condition(node, "Ready")["status"] == "True"


async def test_liveness_failures_kill_and_restart_with_the_kubelet_texts(
    node: Node, runner: FakeProbeRunner
) -> None:
    runner.always(L, FAIL_500)
    await started(node, pod(livenessProbe={"httpGet": {"port": 8080}, "periodSeconds": 1}, grace=2))
    (first,) = node.runtime.running("app")
    for _ in range(3):
        await tick(node, 1)
    await until(lambda: bool(node.runtime.stops), "the container is stopped")
    assert node.runtime.stops == [("app", 2)]
    await until(lambda: len(node.events("Killing")) == 1, "Killing event")
    assert node.events("Killing") == [
        ("Killing", "Container app failed liveness probe, will be restarted", 1)
    ]
    assert node.events("Unhealthy") == [
        ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", 3)
    ]
    runner.always(L, Outcome(HandlerResult.SUCCESS))
    await until(lambda: node.status()["restartCount"] == 1, "restartCount 1")
    (second,) = node.runtime.running("app")
    assert second.id != first.id


async def test_an_errored_probe_never_restarts(node: Node, runner: FakeProbeRunner) -> None:
    runner.always(L, Outcome(HandlerResult.ERROR, 'strconv.Atoi: parsing "web": invalid syntax'))
    await started(node, pod(livenessProbe={"httpGet": {"port": "web"}, "periodSeconds": 1}))
    for _ in range(5):
        await tick(node, 1)
    await settle()
    assert node.runtime.stops == []
    assert node.status()["restartCount"] == 0
    events = node.events("Unhealthy")
    assert len(events) == 1 and events[0][2] >= 3
    assert events[0][1] == (
        "Liveness probe errored and resulted in unknown state: "
        'strconv.Atoi: parsing "web": invalid syntax'
    )


async def test_a_deleted_pod_keeps_readiness_then_loses_every_worker(
    node: Node, runner: FakeProbeRunner
) -> None:
    """Liveness stops when deletion starts, readiness runs on, and all go with the pod."""
    await started(
        node,
        pod(
            grace=5,
            readinessProbe={"exec": {"command": ["true"]}, "periodSeconds": 1},
            livenessProbe={"exec": {"command": ["true"]}, "periodSeconds": 1},
        ),
    )
    node.runtime.stubborn.add("app")
    await until(lambda: node.status()["ready"] is True, "ready")
    await node.api.delete(PODS, "default", "p")
    await settle()
    live_before = runner.count(L)
    ready_before = runner.count(R)
    await tick(node, 1)
    await tick(node, 1)
    assert runner.count(L) == live_before
    assert runner.count(R) > ready_before
    await tick(node, 3)
    await until(lambda: node.api.obj("pods", "p") is None, "pod deleted")
    calls = runner.count(R)
    for _ in range(3):
        await tick(node, 1)
    assert runner.count(R) == calls
    assert node.kubelet.prober.worker_count() == 0
    assert UID not in node.kubelet.prober.pods()
