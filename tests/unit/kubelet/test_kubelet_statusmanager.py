"""The status manager writes only the pods whose status changed, several at a time."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelet_fakes import PODS, FakeApi

from kubeproc.kubelet.statusmanager import WRITERS, StatusManager
from kubeproc.util.clock import FakeClock


def _pod(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"p{i}", "namespace": "default", "uid": f"uid-{i}"},
        "spec": {"nodeName": "node", "containers": [{"name": "app"}]},
        "status": {"phase": "Pending"},
    }


def _manager(api: FakeApi, clock: FakeClock) -> StatusManager:
    return StatusManager(
        api,
        PODS,
        clock,
        pod_lookup=lambda uid: api.obj("pods", f"p{uid.removeprefix('uid-')}"),
        pod_finished=lambda uid: False,
    )


async def test_one_changed_pod_among_many_is_the_only_write() -> None:
    clock = FakeClock()
    api = FakeApi(clock)
    manager = _manager(api, clock)
    pods = [api.put("pods", _pod(i)) for i in range(40)]
    for pod in pods:
        manager.set(pod, {"phase": "Running"})
    await manager.sync_all()
    assert len([w for w in api.writes if w[0] == "update/status"]) == 40
    manager.set(pods[7], {"phase": "Running", "message": "changed"})
    await manager.sync_all()
    updates = [w for w in api.writes if w[0] == "update/status"]
    assert len(updates) == 41 and updates[-1][2] == "p7"
    await manager.sync_all()  # nothing marked: nothing written
    assert len([w for w in api.writes if w[0] == "update/status"]) == 41


async def test_writes_overlap_up_to_the_writer_limit() -> None:
    clock = FakeClock()
    api = FakeApi(clock)
    manager = _manager(api, clock)
    in_flight = 0
    peak = 0
    update = api.update

    async def slow_update(*args: Any, **kwargs: Any) -> dict[str, Any]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        try:
            return await update(*args, **kwargs)
        finally:
            in_flight -= 1

    api.update = slow_update  # type: ignore[method-assign]
    for i in range(3 * WRITERS):
        manager.set(api.put("pods", _pod(i)), {"phase": "Running"})
    await manager.sync_all()
    assert peak == WRITERS
    assert all(api.obj("pods", f"p{i}")["status"]["phase"] == "Running" for i in range(24))  # type: ignore[index]
