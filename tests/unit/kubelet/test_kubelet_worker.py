"""The kubelet end to end on fakes: a fake runtime, a fake API and a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubelet_fakes import PODS, FakeApi, FakeRuntime, settle
from kubelet_harness import UID, Node, make_node, pod, running, started, tick, until

from kubeproc.kubelet.runtime.types import (
    LABEL_CONTAINER_NAME,
    LABEL_POD_UID,
    ContainerConfig,
    ContainerPhase,
    ExecResult,
    SandboxConfig,
)
from kubeproc.util.clock import FakeClock


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    clock = FakeClock()
    async with running(make_node(tmp_path, clock, FakeApi(clock), FakeRuntime(clock))) as n:
        yield n


async def test_a_pod_starts_and_reports_running(node: Node) -> None:
    """Sandbox, container, Running status with conditions, and the start events in order."""
    await started(node, pod())
    assert [c.name for c in node.runtime.instances("app")] == ["app"]
    status = node.pod()["status"]
    assert status["podIP"] == "10.88.0.2"
    assert all(c["status"] == "True" for c in status["conditions"])
    app = node.status()
    assert app["ready"] is True and app["restartCount"] == 0
    assert app["containerID"].startswith("fake://")
    await until(lambda: len(node.events()) == 3, "three events")
    assert node.events() == [
        ("Pulled", 'Container image "busybox" already present on machine', 1),
        ("Created", "Created container: app", 1),
        ("Started", "Started container app", 1),
    ]
    config = node.runtime.config_of("app")
    assert config.argv == ("/bin/app",)
    assert config.log_path == str(node.root / "pods" / f"default_p_{UID}" / "app" / "0.log")
    assert any(m.container_path == "/etc/hosts" for m in config.mounts)


async def test_crash_restarts_at_once_then_backs_off(node: Node) -> None:
    """Exit 1: restart immediately; again: CrashLoopBackOff for 10 s, then the restart (AT-60)."""
    await started(node, pod())
    node.runtime.exit("app", 1)
    await tick(node)
    await until(lambda: len(node.runtime.running("app")) == 1, "first restart")
    await until(lambda: node.status()["restartCount"] == 1, "restartCount 1")
    assert node.status()["lastState"]["terminated"]["exitCode"] == 1

    node.runtime.exit("app", 1)
    await tick(node)
    await until(lambda: "waiting" in node.status()["state"], "waiting")
    assert node.status()["state"]["waiting"] == {
        "reason": "CrashLoopBackOff",
        "message": "back-off 10s restarting failed container=app pod=p_default(uid-p)",
    }
    assert node.pod()["status"]["phase"] == "Running"
    assert node.events("BackOff") == [
        ("BackOff", "Back-off restarting failed container app in pod p_default(uid-p)", 1)
    ]
    await tick(node, 8)
    assert node.runtime.running("app") == []
    await tick(node, 1)
    await until(lambda: len(node.runtime.running("app")) == 1, "restart after 10 s")
    assert node.runtime.running("app")[0].attempt == 2

    node.runtime.exit("app", 1)
    await tick(node)
    await until(lambda: "waiting" in node.status()["state"], "waiting again")
    assert "back-off 20s" in node.status()["state"]["waiting"]["message"]


async def test_liveness_failure_kills_with_probe_grace_and_restarts(node: Node) -> None:
    """A failed liveness result: Killing with the kubelet's text, the probe's grace, restart."""
    spec = pod(livenessProbe={"exec": {"command": ["true"]}, "terminationGracePeriodSeconds": 5})
    node.runtime.stubborn.add("app")
    await started(node, spec)
    (first,) = node.runtime.running("app")
    node.failing.add(first.id)
    node.kubelet.trigger_sync(UID)
    await settle()
    assert node.runtime.stops == [("app", 5)]
    await tick(node, 5)
    await until(lambda: len(node.runtime.running("app")) == 1, "restarted")
    await until(lambda: node.status()["restartCount"] == 1, "restartCount 1")
    last = node.status()["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (137, "Error")
    assert node.events("Killing") == [
        ("Killing", "Container app failed liveness probe, will be restarted", 1)
    ]


async def test_graceful_deletion_waits_for_the_grace_period_then_deletes(node: Node) -> None:
    """Delete: SIGTERM, 30 s grace, SIGKILL (137), sandbox removed, then DELETE with grace 0."""
    node.runtime.stubborn.add("app")
    await started(node, pod(lifecycle={"preStop": {"exec": {"command": ["/bin/drain"]}}}))
    await node.api.delete(PODS, "default", "p")
    await settle()
    assert node.runtime.stops == [("app", 30)]
    assert [argv for _, argv in node.runtime.execs] == [("/bin/drain",)]
    assert node.api.obj("pods", "p") is not None
    await tick(node, 29)
    assert node.runtime.running("app")
    await tick(node, 1)
    await until(lambda: node.api.obj("pods", "p") is None, "pod deleted")
    assert node.runtime.containers == {} and node.runtime.sandboxes == {}
    assert ("delete(grace=0)", "pods", "p") in node.api.writes
    assert ("Killing", "Stopping container app", 1) in node.events()


async def test_a_second_shorter_delete_shortens_the_grace(node: Node) -> None:
    """A delete with grace 1 during a 30 s termination kills after about 1 s, not 30 s."""
    node.runtime.stubborn.add("app")
    await started(node, pod())
    await node.api.delete(PODS, "default", "p")
    await settle()
    assert node.runtime.stops == [("app", 30)]
    await tick(node, 5)
    assert node.runtime.running("app")
    await node.api.delete(PODS, "default", "p", options={"gracePeriodSeconds": 1})
    await settle()
    await tick(node, 2)
    await until(lambda: node.api.obj("pods", "p") is None, "pod deleted")
    assert not node.runtime.running("app")
    assert node.clock.monotonic() < 10


async def test_image_only_container_waits_with_a_clear_message(node: Node) -> None:
    """No command: CreateContainerConfigError saying to set command, and a Failed event."""
    spec = pod()
    del spec["spec"]["containers"][0]["command"]
    node.api.put("pods", spec)
    await until(lambda: "containerStatuses" in node.pod().get("status", {}), "status")
    message = (
        'container "app" has no command: kubeproc runs the host\'s programs, not images; '
        "set spec.containers[].command"
    )
    await until(lambda: "message" in node.status()["state"].get("waiting", {}), "waiting message")
    assert node.status()["state"]["waiting"] == {
        "reason": "CreateContainerConfigError",
        "message": message,
    }
    assert node.runtime.instances("app") == []
    ((_, text, count),) = node.events("Failed")
    assert text == f"Error: {message}"
    await tick(node, 10)
    await until(lambda: node.events("Failed")[0][2] > count, "retried after the sync back-off")


async def test_missing_config_map_volume_keeps_the_pod_creating(node: Node) -> None:
    """FailedMount with the plugin's text; no sandbox; STATUS stays ContainerCreating."""
    spec = pod(volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"}])
    spec["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "settings"}}]
    node.api.put("pods", spec)
    await until(lambda: bool(node.events("FailedMount")), "FailedMount")
    assert node.events("FailedMount") == [
        (
            "FailedMount",
            'MountVolume.SetUp failed for volume "cfg" : configmap "settings" not found',
            1,
        )
    ]
    assert node.runtime.sandboxes == {}
    assert node.status()["state"] == {"waiting": {"reason": "ContainerCreating"}}
    node.api.put("configmaps", {"metadata": {"name": "settings"}, "data": {"k": "v"}})
    await tick(node, 10)
    await until(lambda: len(node.runtime.running("app")) == 1, "started once the map exists")


async def test_on_failure_success_completes_the_pod(node: Node) -> None:
    """OnFailure and exit 0: Succeeded, sandbox stopped, the exited container kept for logs."""
    await started(node, pod(policy="OnFailure"))
    node.runtime.exit("app", 0)
    await tick(node)
    await until(lambda: node.pod()["status"]["phase"] == "Succeeded", "Succeeded")
    assert node.status()["state"]["terminated"]["reason"] == "Completed"
    assert [s.ready for s in node.runtime.sandboxes.values()] == [False]
    assert len(node.runtime.instances("app")) == 1


async def test_post_start_failure_kills_the_container(node: Node) -> None:
    """A failing postStart exec: FailedPostStartHook with the kubelet's message, then Killing."""
    node.runtime.exec_results[("/bin/hook",)] = ExecResult(1, b"boom\n")
    node.api.put("pods", pod(lifecycle={"postStart": {"exec": {"command": ["/bin/hook"]}}}))
    await until(lambda: bool(node.events("FailedPostStartHook")), "FailedPostStartHook")
    (hook,) = node.events("FailedPostStartHook")
    assert hook[1] == (
        'Exec lifecycle hook ([/bin/hook]) for Container "app" in Pod "p_default(uid-p)" failed - '
        "error: command '/bin/hook' exited with 1: boom\n, message: \"boom\\n\""
    )
    assert ("Killing", "FailedPostStartHook") in [e[:2] for e in node.events()]
    # Killed at once, restarted at once (no back-off yet), killed again, then backing off.
    await until(lambda: "waiting" in node.status()["state"], "waiting")
    assert node.status()["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert node.status()["lastState"]["terminated"]["exitCode"] == 143


async def test_orphans_are_stopped_and_removed_at_start(tmp_path: Path) -> None:
    """Sandboxes and containers of pods the API no longer has are reaped when the kubelet starts."""
    clock = FakeClock()
    runtime = FakeRuntime(clock)
    box = await runtime.run_sandbox(SandboxConfig("ghost", "g", "default", "g", str(tmp_path)))
    cid = await runtime.create_container(
        box.id,
        ContainerConfig(
            "app", 0, ("/bin/x",), labels={LABEL_POD_UID: "ghost", LABEL_CONTAINER_NAME: "app"}
        ),
    )
    await runtime.start_container(cid)
    (tmp_path / "pods" / "ghost" / "volumes").mkdir(parents=True)
    async with running(make_node(tmp_path, clock, FakeApi(clock), runtime)):
        assert runtime.containers == {} and runtime.sandboxes == {}
        assert runtime.stops == [("app", 2.0)]
        assert not (tmp_path / "pods" / "ghost").exists()


async def test_pods_survive_a_kubelet_restart(tmp_path: Path) -> None:
    """Cancelling run leaves containers running; a new kubelet adopts them without a restart."""
    clock = FakeClock()
    api = FakeApi(clock)
    runtime = FakeRuntime(clock)
    async with running(make_node(tmp_path, clock, api, runtime)) as first:
        await started(first, pod())
    assert len(runtime.running("app")) == 1
    async with running(make_node(tmp_path, clock, api, runtime)) as second:
        await tick(second)
        assert len(runtime.instances("app")) == 1
        assert second.status()["restartCount"] == 0
        assert second.pod()["status"]["phase"] == "Running"


async def test_logs_locator_finds_current_and_previous(node: Node) -> None:
    """PodContainers: the running instance, and with previous the one before the restart."""
    await started(node, pod())
    (first,) = node.runtime.running("app")
    node.runtime.exit("app", 1)
    await tick(node)
    await until(lambda: node.status()["restartCount"] == 1, "restarted")
    (second,) = node.runtime.running("app")
    current = node.kubelet.locate("default", "p", "app", previous=False)
    previous = node.kubelet.locate("default", "p", "app", previous=True)
    assert current is not None and previous is not None
    assert (current.container_id, current.running) == (second.id, True)
    assert (previous.container_id, previous.running) == (first.id, False)
    assert previous.log_path.endswith("/app/0.log")
    assert node.kubelet.is_running(second.id) and not node.kubelet.is_running(first.id)
    assert node.kubelet.locate("default", "p", "nope", previous=False) is None


async def test_drain_stops_and_removes_everything(tmp_path: Path) -> None:
    """drain (kubeproc down): every pod stopped with its grace period, sandboxes removed."""
    clock = FakeClock()
    api = FakeApi(clock)
    runtime = FakeRuntime(clock)
    node = make_node(tmp_path, clock, api, runtime)
    async with running(node):
        await started(node, pod(grace=7))
    await node.kubelet.drain()
    assert runtime.stops == [("app", 7)]
    assert runtime.containers == {} and runtime.sandboxes == {}
    assert [s.phase for s in await runtime.list_containers()] == []
    assert ContainerPhase.RUNNING not in {c.status.phase for c in runtime.containers.values()}
