"""The pod network's add-ons: NetworkPolicy enforcement and cluster DNS.

A real cluster gets these from add-ons (a network plugin's policy agent, CoreDNS); here
they are components of the node, placed by the runtime. With the oci runtime pods sit
on the node's bridge: the policy agent keeps the node's policy table in step, and the
DNS server answers on the bridge's gateway address, the endpoint of Service
``kube-system/kube-dns`` (``cluster.dnsservice``), whose cluster IP every ClusterFirst
pod's resolv.conf names. For policies the DNS server stands as the pod CoreDNS would be (in
``kube-system``, labelled ``k8s-app=kube-dns``, ports ``dns`` and ``dns-tcp``), so the
egress rules users write to allow DNS on a real cluster allow it here. With the process
runtime pods share the host's network: policies are not enforced (a ``Warning`` on every
write of one, and an event on each), and pods use the host's resolvers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kubeproc.api.errors import GroupResource
from kubeproc.api.resources import REGISTRY
from kubeproc.client import ApiClient
from kubeproc.cluster.datadir import NodeConfig
from kubeproc.cluster.runtimes import node_tag
from kubeproc.dns.agent import ClusterDns
from kubeproc.kubelet.runtime.oci import OciRuntime
from kubeproc.kubelet.runtime.types import Runtime
from kubeproc.netpol.agent import NOT_ENFORCED, PolicyEnforcer, UnenforcedPolicies
from kubeproc.netpol.pods import NamedPort, PodInfo
from kubeproc.util.clock import Clock

CLUSTER_DOMAIN = "cluster.local"
DNS_PORT = 53
NETWORK_POLICIES = GroupResource("networking.k8s.io", "networkpolicies")


def dns_pseudo_pod(address: str) -> PodInfo:
    """The DNS server as policies see it: CoreDNS's namespace, labels and port names."""
    return PodInfo(
        namespace="kube-system",
        name="kube-dns",
        ip=address,
        labels={"k8s-app": "kube-dns"},
        ports=(NamedPort("dns", "UDP", DNS_PORT), NamedPort("dns-tcp", "TCP", DNS_PORT)),
    )


@dataclass(frozen=True)
class PodNetwork:
    table: str
    bridge: str | None
    """The pods' bridge; None when pods share the host's network (process runtime)."""
    gateway: str

    @property
    def cluster_dns(self) -> tuple[str, ...]:
        """The DNS server's own address, for ClusterFirst pods when no kube-dns Service can
        carry their queries (the kubelet's ``clusterDNS`` then)."""
        return (self.gateway,) if self.bridge is not None else ()

    @property
    def write_warnings(self) -> dict[GroupResource, str]:
        return {} if self.bridge is not None else {NETWORK_POLICIES: NOT_ENFORCED}

    def components(
        self, client: ApiClient, clock: Clock
    ) -> dict[str, Callable[[], Awaitable[None]]]:
        if self.bridge is None:
            return {"networkpolicy-agent": UnenforcedPolicies(client, REGISTRY, clock).run}
        enforcer = PolicyEnforcer(
            client,
            REGISTRY,
            clock,
            table=self.table,
            bridge=self.bridge,
            peers_only=(dns_pseudo_pod(self.gateway),),
        )
        dns = ClusterDns(
            client, REGISTRY, clock, address=self.gateway, port=DNS_PORT, domain=CLUSTER_DOMAIN
        )
        return {"networkpolicy-agent": enforcer.run, "cluster-dns": dns.run}


def pod_network(config: NodeConfig, runtime: Runtime) -> PodNetwork:
    table = f"kubeproc-pol-{node_tag(config)}"
    if isinstance(runtime, OciRuntime):
        layout = runtime.layout
        return PodNetwork(table=table, bridge=layout.bridge, gateway=str(layout.gateway))
    return PodNetwork(table=table, bridge=None, gateway="127.0.0.1")
