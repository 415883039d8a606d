"""The cluster DNS component the node runs: informers in, a DNS server on the pods' gateway.

As CoreDNS's kubernetes plugin: Services, EndpointSlices and Namespaces are watched
through the API (Namespaces because a name in a namespace that does not exist is
NXDOMAIN, in one that does NODATA). Any change only marks the zone stale; the next query
rebuilds it from the informers' caches, so a burst of endpoint events costs one rebuild
and a quiet cluster none. The listeners are bound before the informers start, so a bind
failure is a plain ``DnsError`` at once; until every cache has synced, queries get
SERVFAIL rather than an NXDOMAIN a resolver could believe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient, Informer
from kubeproc.dns.records import ClusterRecords
from kubeproc.dns.server import DnsServer, host_upstreams
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


class ClusterDns:
    def __init__(
        self,
        client: ApiClient,
        registry: Registry,
        clock: Clock,
        *,
        address: str,
        port: int = 53,
        domain: str = "cluster.local",
        upstreams: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        svc_rt = registry.get("", "v1", "services")
        slice_rt = registry.get("discovery.k8s.io", "v1", "endpointslices")
        ns_rt = registry.get("", "v1", "namespaces")
        assert svc_rt is not None and slice_rt is not None and ns_rt is not None
        self.clock = clock
        self.domain = domain
        self.services = Informer(client, svc_rt, clock, listener=self._changed)
        self.slices = Informer(client, slice_rt, clock, listener=self._changed)
        self.namespaces = Informer(client, ns_rt, clock, listener=self._changed)
        self.upstreams = list(host_upstreams() if upstreams is None else upstreams)
        self.server = DnsServer(self.records, address=address, port=port, upstreams=self.upstreams)
        self._records: ClusterRecords | None = None
        self._stale = True

    def _changed(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        self._stale = True

    def records(self) -> ClusterRecords | None:
        """The zone as the caches hold it now; None until all of them have synced."""
        informers = (self.services, self.slices, self.namespaces)
        if not all(informer.synced.is_set() for informer in informers):
            return None
        if self._stale or self._records is None:
            self._stale = False
            self._records = ClusterRecords.build(
                self.services.objects.values(),
                self.slices.objects.values(),
                namespaces=[ns["metadata"]["name"] for ns in self.namespaces.objects.values()],
                domain=self.domain,
                serial=int(self.clock.now().timestamp()),
            )
        return self._records

    @property
    def port(self) -> int:
        """The bound port (the requested one, or the kernel's pick for 0)."""
        return self.server.port

    async def run(self) -> None:
        async with self.server, asyncio.TaskGroup() as tg:
            tg.create_task(self.services.run())
            tg.create_task(self.slices.run())
            tg.create_task(self.namespaces.run())
            if not self.upstreams:
                log.warning("dns has no upstream resolvers: names outside the cluster fail")
            log.info(
                "dns serving address=%s port=%d domain=%s upstreams=%s",
                self.server.address,
                self.server.port,
                self.domain,
                ",".join(f"{host}:{port}" for host, port in self.upstreams) or "none",
            )
