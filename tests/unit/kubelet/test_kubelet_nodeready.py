"""The node turns Ready (KubeletReady) as soon as the kubelet runs pods, and back when it stops."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from kubelet_fakes import FakeApi, settle

from kubeproc.api.resources import REGISTRY
from kubeproc.kubelet.nodestatus import NodeStatus
from kubeproc.util.clock import FakeClock


def ready_condition(api: FakeApi) -> dict[str, Any]:
    node = api.obj("nodes", "node")
    assert node is not None
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


async def test_ready_follows_the_kubelet(tmp_path: Path) -> None:
    """Registered NotReady; KubeletReady once told the kubelet runs; NotReady again after."""
    clock = FakeClock()
    api = FakeApi(clock)
    status = NodeStatus(api, REGISTRY, clock, node_name="node", data_dir=tmp_path)
    await status.register()
    assert ready_condition(api)["status"] == "False"
    task = asyncio.ensure_future(status.run())
    try:
        await settle()
        status.set_runtime_ready(True)
        await settle()
        ready = ready_condition(api)
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        )
        node = api.obj("nodes", "node")
        assert node is not None
        assert [c["type"] for c in node["status"]["conditions"]][-1] == "Ready"
        status.set_runtime_ready(False)
        await settle()
        assert ready_condition(api)["reason"] == "KubeletNotReady"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
