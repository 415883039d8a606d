"""The kubelet on fakes, for tests: a running ``Kubelet`` over a fake runtime, API and clock.

``make_node`` builds one (a liveness failure is injected by adding a container ID to
``Node.failing``), ``running`` runs it for the length of a ``with`` block, ``until`` lets
the event loop run until a condition holds (the clock never moves by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelet_fakes import FakeApi, settle

from kubeproc.api.resources import REGISTRY
from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.kubelet import Kubelet
from kubeproc.kubelet.probehooks import ProbeHooks, ProbeKind
from kubeproc.kubelet.runtime.types import Runtime
from kubeproc.util.clock import FakeClock

UID = "uid-p"


@dataclass
class Node:
    clock: FakeClock
    api: FakeApi
    runtime: Any
    kubelet: Kubelet
    failing: set[str]
    root: Path

    def pod(self) -> dict[str, Any]:
        found = self.api.obj("pods", "p")
        assert found is not None
        return found

    def status(self, name: str = "app") -> dict[str, Any]:
        statuses = self.pod().get("status", {}).get("containerStatuses", [])
        return next(s for s in statuses if s["name"] == name)

    def events(self, reason: str | None = None) -> list[tuple[str, str, int]]:
        found = sorted(self.api.of_kind("events"), key=lambda e: e["metadata"]["name"])
        return [
            (e["reason"], e["message"], e["count"])
            for e in found
            if reason is None or e["reason"] == reason
        ]


async def until(check: Callable[[], bool], what: str = "condition") -> None:
    for _ in range(50):
        if check():
            return
        await settle()
    raise AssertionError(f"never happened: {what}")


def make_node(tmp_path: Path, clock: FakeClock, api: FakeApi, runtime: Runtime) -> Node:
    failing: set[str] = set()

    def failed(pod_uid: str, container_id: str) -> ProbeKind | None:
        return ProbeKind.LIVENESS if container_id in failing else None

    kubelet = Kubelet(
        api,
        REGISTRY,
        clock,
        runtime,
        KubeletConfig(node_name="node", root_dir=tmp_path),
        probes=ProbeHooks(failed=failed),
        allocatable={"cpu": "2", "memory": "4Gi"},
    )
    return Node(clock, api, runtime, kubelet, failing, tmp_path)


@contextlib.asynccontextmanager
async def running(node: Node) -> AsyncIterator[Node]:
    task = asyncio.ensure_future(node.kubelet.run())
    try:
        await until(node.kubelet.ready.is_set, "kubelet ready")
        yield node
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def pod(*, policy: str = "Always", grace: int = 30, **container: Any) -> dict[str, Any]:
    app = {"name": "app", "image": "busybox", "command": ["/bin/app"], **container}
    return {
        "metadata": {"name": "p", "namespace": "default", "uid": UID},
        "spec": {
            "nodeName": "node",
            "restartPolicy": policy,
            "terminationGracePeriodSeconds": grace,
            "containers": [app],
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


async def started(node: Node, spec: dict[str, Any]) -> None:
    node.api.put("pods", spec)
    await until(lambda: node.pod()["status"].get("phase") == "Running", "pod Running")


async def tick(node: Node, seconds: float = 1) -> None:
    await node.clock.advance(seconds)
    await settle()
