"""The kubelet drives the runtime package's own FakeRuntime: crash loop, then graceful deletion."""

from __future__ import annotations

from pathlib import Path

from kubelet_fakes import PODS, FakeApi, settle
from kubelet_harness import UID, Node, make_node, pod, running, until

from kubeproc.kubelet.runtime.fake import FakeRuntime
from kubeproc.kubelet.runtime.types import ContainerStatus
from kubeproc.util.clock import FakeClock


def app(runtime: FakeRuntime) -> ContainerStatus:
    (status,) = [c for c in runtime.running() if c.name == "app"]
    return status


async def test_crash_loop_and_deletion_on_the_shipped_fake(tmp_path: Path) -> None:
    """Restart at once, back off 10 s, restart; delete: 30 s grace, 137, pod deleted."""
    clock = FakeClock()
    api = FakeApi(clock)
    runtime = FakeRuntime(clock)
    node: Node = make_node(tmp_path, clock, api, runtime)
    async with running(node):
        api.put("pods", pod())
        await until(lambda: len(runtime.running()) == 1, "started")
        runtime.exit(app(runtime).id, 1)
        await clock.advance(1)
        await until(lambda: len(runtime.running()) == 1, "restarted at once")
        runtime.exit(app(runtime).id, 1)
        await clock.advance(1)
        await until(lambda: "waiting" in node.status()["state"], "backing off")
        assert node.status()["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        await clock.advance(9)
        await until(lambda: len(runtime.running()) == 1, "restarted after the back-off")
        assert app(runtime).attempt == 2

        runtime.on_stop(app(runtime).id, ignore_signal=True)
        await api.delete(PODS, "default", "p")
        await settle()
        assert [c.args[1] for c in runtime.calls_to("stop_container")] == [30]
        await clock.advance(30)
        await until(lambda: api.obj("pods", "p") is None, "pod deleted")
        assert runtime.sandboxes == {} and runtime.running() == []
        await until(lambda: node.kubelet.pod_workers.state(UID) is None, "pod worker gone")
