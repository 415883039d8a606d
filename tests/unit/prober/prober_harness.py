"""Pods, statuses and a running ``ProbeManager`` on a ``FakeClock`` for prober tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from kubeproc.kubelet.prober import (
    FakeProbeRunner,
    ProbeEvent,
    ProbeManager,
    ProbeType,
    Result,
    ResultKey,
)
from kubeproc.util.clock import FakeClock, rfc3339

UID = "uid-1"


def probe(**fields: Any) -> dict[str, Any]:
    """An exec probe with the given timing fields (camelCase, as in the API)."""
    return {"exec": {"command": ["true"]}, **fields}


def container(name: str = "app", **probes: dict[str, Any]) -> dict[str, Any]:
    """A container spec; ``probes`` are ``livenessProbe=…`` style fields."""
    return {"name": name, "image": "busybox", **probes}


def make_pod(
    *containers: dict[str, Any],
    restart_policy: str = "Always",
    phase: str = "Running",
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": UID}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {"containers": list(containers), "restartPolicy": restart_policy},
        "status": {"phase": phase, "podIP": "10.0.0.5"},
    }


def running(name: str, cid: str, clock: FakeClock) -> dict[str, Any]:
    """A status for a container instance that started now."""
    return {
        "name": name,
        "containerID": f"kubeproc://{cid}",
        "state": {"running": {"startedAt": rfc3339(clock.now())}},
    }


def terminated(name: str, cid: str, exit_code: int) -> dict[str, Any]:
    return {
        "name": name,
        "containerID": f"kubeproc://{cid}",
        "state": {"terminated": {"exitCode": exit_code}},
    }


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@dataclass
class Harness:
    clock: FakeClock
    runner: FakeProbeRunner
    manager: ProbeManager
    syncs: list[str] = field(default_factory=list)
    events: list[ProbeEvent] = field(default_factory=list)

    async def run_for(self, seconds: int) -> None:
        """Advance one second at a time, letting every woken worker finish its attempt."""
        for _ in range(seconds):
            await self.clock.advance(1)
            await settle()

    async def update(self, pod: dict[str, Any], *statuses: dict[str, Any]) -> None:
        self.manager.update_pod(pod, list(statuses))
        await settle()

    def result(self, cid: str, probe_type: ProbeType) -> Result | None:
        return self.manager.results.get(ResultKey(UID, cid, probe_type))


@contextlib.asynccontextmanager
async def harness(*, kubelet_uptime: float = 1000.0, jitter: float = 0.0) -> AsyncIterator[Harness]:
    """A running manager; the kubelet started ``kubelet_uptime`` seconds ago."""
    clock = FakeClock()
    runner = FakeProbeRunner()
    syncs: list[str] = []
    events: list[ProbeEvent] = []
    manager = ProbeManager(
        clock,
        runner,
        on_pod_change=syncs.append,
        kubelet_started=-kubelet_uptime,
        jitter=lambda: jitter,
        on_event=events.append,
    )
    task = asyncio.create_task(manager.run())
    await settle()
    try:
        yield Harness(clock, runner, manager, syncs, events)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
