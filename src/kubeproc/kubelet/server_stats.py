"""The kubelet's resource metrics: sampled on a timer, served as JSON to the apiserver.

Plays the part of the kubelet's ``/metrics/resource`` plus metrics-server's scraper: every
``interval`` seconds ``StatsSampler.run`` asks the runtime for its sandboxes and running
containers, reads each one's counters (``statsreader``) and the node's, and records them in
a ``SampleHistory``; the rates are computed there (``containerstats``). ``GET
/stats/resource`` answers the newest figures (``kubeproc.apiserver.metricsapi`` is the
other side and turns them into ``metrics.k8s.io`` objects)::

    {"node": {"timestamp": "...", "windowSeconds": 10.0, "cpuNanoCores": 1,
              "memoryWorkingSetBytes": 2, "source": "node"} | null,
     "pods": [{"namespace": "ns", "name": "p", "uid": "...",
               "containers": [{"name": "c", "timestamp": ..., "windowSeconds": ...,
                               "cpuNanoCores": ..., "memoryWorkingSetBytes": ...,
                               "source": "cgroup" | "process"}]}]}

A pod is listed only once every running container of it has a full window, as
metrics-server leaves out a pod with a container it has no rate for yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from kubeproc.kubelet.containerstats import DEFAULT_WINDOW, Sample, SampleHistory, Usage
from kubeproc.kubelet.runtime.types import ContainerPhase, ContainerStatus, Runtime, SandboxStatus
from kubeproc.kubelet.statsreader import Counters, StatsReader
from kubeproc.util.clock import Clock, rfc3339_micro

log = logging.getLogger(__name__)

NODE_KEY = "/"
DEFAULT_INTERVAL = 2.5


class CounterSource(Protocol):
    """Where the counters come from: ``StatsReader`` on a machine, a fake in tests."""

    def node(self) -> Counters: ...

    def container(self, pid: int) -> Counters | None: ...


@dataclass(frozen=True)
class _Running:
    sandbox: SandboxStatus
    container: ContainerStatus
    source: str


class StatsSampler:
    """Owns the sample history; ``run`` samples until cancelled, ``handle`` serves it."""

    def __init__(
        self,
        runtime: Runtime,
        clock: Clock,
        *,
        interval: float = DEFAULT_INTERVAL,
        window: float = DEFAULT_WINDOW,
        reader: CounterSource | None = None,
    ) -> None:
        self._runtime = runtime
        self._clock = clock
        self._interval = interval
        self._reader = reader
        self.history = SampleHistory(window)
        self._running: dict[str, _Running] = {}

    async def run(self) -> None:
        """Sample every ``interval`` until cancelled; a failed round is logged and skipped."""
        if self._reader is None:
            self._reader = StatsReader()
        while True:
            try:
                await self.sample_once()
            except Exception:
                log.exception("resource sampling failed; trying again next round")
            await self._clock.sleep(self._interval)

    async def sample_once(self) -> None:
        reader = self._reader
        if reader is None:
            raise RuntimeError("sample_once before run: no reader")
        sandboxes = {s.id: s for s in await self._runtime.list_sandboxes()}
        containers = await self._runtime.list_containers()
        now = self._clock.now()
        running: dict[str, _Running] = {}
        for c in containers:
            sandbox = sandboxes.get(c.sandbox_id)
            if c.phase is not ContainerPhase.RUNNING or c.pid is None or sandbox is None:
                continue
            counters = reader.container(c.pid)
            if counters is None:
                continue
            self.history.record(c.id, Sample(now, counters.cpu_ns, counters.memory_bytes))
            if counters.source != "cgroup" and c.id not in self._running:
                log.info(
                    "container has no cgroup of its own, counting its main process only "
                    "pod=%s/%s container=%s",
                    sandbox.namespace,
                    sandbox.pod_name,
                    c.name,
                )
            running[c.id] = _Running(sandbox, c, counters.source)
        node = reader.node()
        self.history.record(NODE_KEY, Sample(now, node.cpu_ns, node.memory_bytes))
        self.history.retain([NODE_KEY, *running])
        self._running = running

    def report(self) -> dict[str, Any]:
        """The JSON body of ``/stats/resource`` (pure over the recorded samples)."""
        node = self.history.usage(NODE_KEY)
        pods: dict[str, dict[str, Any]] = {}
        incomplete: set[str] = set()
        for cid, entry in sorted(self._running.items(), key=lambda kv: kv[1].container.name):
            uid = entry.sandbox.pod_uid
            usage = self.history.usage(cid)
            if usage is None:
                incomplete.add(uid)
                continue
            pod = pods.setdefault(
                uid,
                {
                    "namespace": entry.sandbox.namespace,
                    "name": entry.sandbox.pod_name,
                    "uid": uid,
                    "containers": [],
                },
            )
            pod["containers"].append(
                {"name": entry.container.name, **_usage_json(usage), "source": entry.source}
            )
        return {
            "node": None if node is None else {**_usage_json(node), "source": "node"},
            "pods": [p for uid, p in pods.items() if uid not in incomplete],
        }

    async def handle(self, _: web.Request) -> web.Response:
        return web.json_response(self.report())


def _usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "timestamp": rfc3339_micro(usage.timestamp),
        "windowSeconds": usage.window,
        "cpuNanoCores": usage.cpu_nanocores,
        "memoryWorkingSetBytes": usage.memory_bytes,
    }
