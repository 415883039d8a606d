"""The service proxy component: Services and EndpointSlices in, a backend's rules out.

As kube-proxy: two informers feed a change tracker, which asks a bounded-frequency runner
for a sync; a sync builds the whole Service port map from the informers' caches and
hands it to the backend (nftables or userspace), serially. The backend is entered before
the informers start and left after they stop, so whatever it put on the host is removed
however the component ends. The runner's minimum interval is zero by default: a pod's
readiness change reaches the rules one nft transaction after its EndpointSlice event.
"""

from __future__ import annotations

import asyncio
import logging

from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient, Informer
from kubeproc.proxy.backend import ProxyBackend, ProxyError
from kubeproc.proxy.changetracker import ChangeTracker
from kubeproc.proxy.model import ServicePortMap, service_ports
from kubeproc.util.clock import Clock
from kubeproc.util.syncrunner import BoundedFrequencyRunner

log = logging.getLogger(__name__)


class Proxier:
    def __init__(
        self,
        client: ApiClient,
        registry: Registry,
        clock: Clock,
        backend: ProxyBackend,
        *,
        min_interval: float = 0.0,
        sync_period: float = 30.0,
    ) -> None:
        svc_rt = registry.get("", "v1", "services")
        slice_rt = registry.get("discovery.k8s.io", "v1", "endpointslices")
        assert svc_rt is not None and slice_rt is not None
        self.clock = clock
        self.backend = backend
        self.runner = BoundedFrequencyRunner(
            "service-proxy",
            self.sync,
            clock,
            min_interval=min_interval,
            max_interval=sync_period,
            expected=(ProxyError,),
        )
        self.tracker = ChangeTracker(self.runner.run_soon)
        self.services = Informer(client, svc_rt, clock, listener=self.tracker.service_changed)
        self.slices = Informer(client, slice_rt, clock, listener=self.tracker.slice_changed)
        self.ports: ServicePortMap = {}
        """The map the backend last applied."""

    async def run(self) -> None:
        async with self.backend, asyncio.TaskGroup() as tg:
            tg.create_task(self.services.run())
            tg.create_task(self.slices.run())
            await self.services.synced.wait()
            await self.slices.synced.wait()
            self.runner.run_soon()  # a restarted component syncs at once, too
            tg.create_task(self.runner.run())

    async def sync(self) -> None:
        started = self.clock.monotonic()
        changes = self.tracker.take()
        ports = service_ports(self.services.objects.values(), self.slices.objects.values())
        await self.backend.apply(ports)
        self.ports = ports
        elapsed_ms = (self.clock.monotonic() - started) * 1000
        log.log(
            logging.INFO if changes else logging.DEBUG,
            "proxy synced service_ports=%d endpoints=%d usable=%d changed_services=%d "
            "duration=%.1fms",
            len(ports),
            sum(len(p.endpoints) for p in ports.values()),
            sum(len(p.usable) for p in ports.values()),
            len(changes),
            elapsed_ms,
        )
