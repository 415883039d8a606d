"""The node's nftables ruleset, rendered from the Service port map (pure).

Shaped as kube-proxy's nftables mode, in one ``ip`` table per node:

- ``services`` looks up ``daddr . l4proto . dport`` in the verdict map ``service-ips``
  (cluster IPs, LoadBalancer ingress IPs and external IPs alike) and, on this node's own
  addresses (``fib daddr type local``), ``l4proto . dport`` in ``service-nodeports``; both
  jump to a chain per Service port, which picks an endpoint chain with ``numgen random mod
  N`` over the usable endpoints; an endpoint chain DNATs. ClientIP affinity is a dynamic
  set per endpoint keyed by source address, refreshed by every packet of the client, with
  the Service's timeout; the Service chain first sends a remembered client back to its
  endpoint.
- A Service port with no usable endpoint is in ``no-endpoint-services`` (and
  ``no-endpoint-nodeports``), checked by filter chains on input, forward and output: a new
  connection is answered with a TCP reset (ICMP port unreachable for other protocols) at
  once. Anything else still addressed to the service CIDR after DNAT (an unallocated
  address, a port the Service does not have) is rejected the same way.
- ``nat-prerouting`` (pods, from the bridge) and ``nat-output`` (the host) run
  ``services``. ``nat-postrouting`` rewrites the source of DNAT'ed traffic from the pod
  CIDR leaving on the bridge to the proxy source address: the reply of a pod reached
  through a VIP then comes back through the host, not bridged straight to the client pod
  (which expects it from the VIP), and hairpin (a pod reaching itself) works. The host's
  own service traffic already leaves from the proxy source (the service route's ``src``),
  so the kubelet's probes (from the gateway) and service traffic never share a source.
- ``filter-forward`` accepts bridge to bridge forwarding and drops everything else from
  the bridge: the bridge forwards (to route pod to VIP traffic) but nothing a pod sends
  leaves the machine through this node. ICMP redirects to pods are dropped, so a pod is
  never told to bypass the DNAT.

Node ports are served on this node's own bridge addresses only: several nodes on one
machine share the host's local addresses, and each allocates node ports on its own.

``render`` returns a ``Ruleset``; ``full_script`` replaces the table in one transaction
and ``update_script`` moves it from one ruleset to the next in one transaction without
deleting the table, so affinity sets keep their entries across syncs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kubeproc.proxy.model import ServicePort, ServicePortMap

PRIORITY_DSTNAT = -100
PRIORITY_SRCNAT = 100
PRIORITY_FILTER = 0

REJECT_CHAIN = "reject-chain"
SERVICES_CHAIN = "services"
CHECK_CHAIN = "service-endpoints-check"


@dataclass(frozen=True)
class NftConfig:
    table: str
    bridge: str
    pod_cidr: str
    service_cidr: str
    gateway: str
    proxy_source: str


@dataclass(frozen=True)
class Ruleset:
    """A whole table: declarations by name, each rendered to its body lines."""

    table: str
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    maps: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """name -> (type line, elements)."""
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """name -> lines (a base chain's first line is its hook)."""


def _proto(port: ServicePort) -> str:
    return port.protocol.lower()


def _port_id(port: ServicePort) -> str:
    """``ns/name/proto/port``: unique per Service port, readable in ``nft list``."""
    name = port.name
    return f"{name.namespace}/{name.name}/{_proto(port)}/{name.port or port.port}"


def service_chain(port: ServicePort) -> str:
    return f"service-{_port_id(port)}"


def endpoint_chain(port: ServicePort, ip: str, target: int) -> str:
    return f"endpoint-{_port_id(port)}__{ip}/{target}"


def affinity_set(port: ServicePort, ip: str, target: int) -> str:
    return f"affinity-{_port_id(port)}__{ip}/{target}"


def _frontends(port: ServicePort) -> list[str]:
    """Every address the Service port answers on besides node ports, deduplicated."""
    seen: dict[str, None] = {}
    for ip in (port.cluster_ip, *port.load_balancer_ips, *port.external_ips):
        seen.setdefault(ip, None)
    return list(seen)


def _service_rules(port: ServicePort, rs: Ruleset) -> None:
    """The chain of one Service port with endpoints, and its endpoint chains (and sets)."""
    targets: list[str] = []
    rules: list[str] = []
    for ep in port.usable:
        chain = endpoint_chain(port, ep.ip, ep.port)
        targets.append(chain)
        body: list[str] = []
        if port.affinity_timeout is not None:
            aset = affinity_set(port, ep.ip, ep.port)
            rs.sets[aset] = (
                "type ipv4_addr",
                "flags dynamic,timeout",
                f"timeout {port.affinity_timeout}s",
            )
            rules.append(f"ip saddr @{aset} goto {chain}")
            body.append(f"update @{aset} {{ ip saddr }}")
        body.append(f"meta l4proto {_proto(port)} dnat to {ep.ip}:{ep.port}")
        rs.chains[chain] = tuple(body)
    vmap = ", ".join(f"{i} : goto {chain}" for i, chain in enumerate(targets))
    rules.append(f"numgen random mod {len(targets)} vmap {{ {vmap} }}")
    rs.chains[service_chain(port)] = tuple(rules)


def _set_literal(items: Iterable[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def render(ports: ServicePortMap, config: NftConfig) -> Ruleset:
    """The node's whole table for ``ports`` (pure; elements in a stable order)."""
    rs = Ruleset(table=config.table)
    service_ips: dict[str, str] = {}
    node_ports: dict[str, str] = {}
    no_ep_ips: dict[str, str] = {}
    no_ep_node_ports: dict[str, str] = {}
    for key in sorted(ports):
        port = ports[key]
        proto = _proto(port)
        if port.usable:
            _service_rules(port, rs)
            verdict = f"goto {service_chain(port)}"
            ips, nps = service_ips, node_ports
        else:
            verdict = f"goto {REJECT_CHAIN}"
            ips, nps = no_ep_ips, no_ep_node_ports
        for ip in _frontends(port):
            ips.setdefault(f"{ip} . {proto} . {port.port}", verdict)
        if port.node_port is not None:
            nps.setdefault(f"{proto} . {port.node_port}", verdict)
    ip_key = "type ipv4_addr . inet_proto . inet_service : verdict"
    port_key = "type inet_proto . inet_service : verdict"
    for name, key_type, elements in (
        ("service-ips", ip_key, service_ips),
        ("service-nodeports", port_key, node_ports),
        ("no-endpoint-services", ip_key, no_ep_ips),
        ("no-endpoint-nodeports", port_key, no_ep_node_ports),
    ):
        rs.maps[name] = (key_type, tuple(f"{k} : {v}" for k, v in elements.items()))
    _fixed_chains(rs, config)
    return rs


def _fixed_chains(rs: Ruleset, config: NftConfig) -> None:
    bridge = f'"{config.bridge}"'
    node_ips = _set_literal((config.gateway, config.proxy_source))
    local_node = f"fib daddr type local ip daddr {node_ips}"
    rs.chains[SERVICES_CHAIN] = (
        "ip daddr . meta l4proto . th dport vmap @service-ips",
        f"{local_node} meta l4proto . th dport vmap @service-nodeports",
    )
    rs.chains[CHECK_CHAIN] = (
        "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
        f"{local_node} meta l4proto . th dport vmap @no-endpoint-nodeports",
        f"ip daddr {config.service_cidr} goto {REJECT_CHAIN}",
    )
    rs.chains[REJECT_CHAIN] = ("meta l4proto tcp reject with tcp reset", "reject")
    rs.chains["nat-prerouting"] = (
        f"type nat hook prerouting priority {PRIORITY_DSTNAT}; policy accept;",
        f"iifname {bridge} jump {SERVICES_CHAIN}",
    )
    rs.chains["nat-output"] = (
        f"type nat hook output priority {PRIORITY_DSTNAT}; policy accept;",
        f"jump {SERVICES_CHAIN}",
    )
    rs.chains["nat-postrouting"] = (
        f"type nat hook postrouting priority {PRIORITY_SRCNAT}; policy accept;",
        f"ct status dnat oifname {bridge} ip saddr {config.pod_cidr}"
        f" ip saddr != {config.proxy_source} snat to {config.proxy_source}",
    )
    rs.chains["filter-input"] = (
        f"type filter hook input priority {PRIORITY_FILTER}; policy accept;",
        f"ct state new jump {CHECK_CHAIN}",
    )
    rs.chains["filter-forward"] = (
        f"type filter hook forward priority {PRIORITY_FILTER}; policy accept;",
        f"ct state new jump {CHECK_CHAIN}",
        f"iifname {bridge} oifname {bridge} accept",
        f"iifname {bridge} drop",
    )
    rs.chains["filter-output"] = (
        f"type filter hook output priority {PRIORITY_FILTER}; policy accept;",
        f"oifname {bridge} icmp type redirect drop",
        f"ct state new jump {CHECK_CHAIN}",
    )


def _table_block(rs: Ruleset) -> list[str]:
    lines = [f"table ip {rs.table} {{"]
    for name, body in rs.sets.items():
        lines += [f"\tset {name} {{", *(f"\t\t{line}" for line in body), "\t}"]
    for name, (key_type, elements) in rs.maps.items():
        lines += [f"\tmap {name} {{", f"\t\t{key_type}"]
        if elements:
            lines.append(f"\t\telements = {_set_literal(elements)}")
        lines.append("\t}")
    for name, body in rs.chains.items():
        lines += [f"\tchain {name} {{", *(f"\t\t{line}" for line in body), "\t}"]
    lines.append("}")
    return lines


def full_script(rs: Ruleset) -> str:
    """Replace the table whole, in one transaction (it is created first if missing)."""
    return (
        "\n".join([f"table ip {rs.table} {{}}", f"delete table ip {rs.table}", *_table_block(rs)])
        + "\n"
    )


def update_script(previous: Ruleset, rs: Ruleset) -> str:
    """Move the table from ``previous`` (what the kernel has) to ``rs``, in one transaction.

    Every chain and map is emptied and refilled; chains, maps and sets ``rs`` no longer
    has are deleted; sets it keeps unchanged keep their elements (the affinity entries).
    """
    table = f"ip {rs.table}"
    lines = [f"flush table {table}"]
    lines += [f"flush map {table} {name}" for name in previous.maps]
    lines += [f"delete chain {table} {name}" for name in previous.chains if name not in rs.chains]
    lines += [f"delete map {table} {name}" for name in previous.maps if name not in rs.maps]
    lines += [
        f"delete set {table} {name}"
        for name, body in previous.sets.items()
        if rs.sets.get(name) != body
    ]
    return "\n".join([*lines, *_table_block(rs)]) + "\n"


def delete_script(table: str) -> str:
    """Remove the table if it is there (creating it first makes the delete never fail)."""
    return f"table ip {table} {{}}\ndelete table ip {table}\n"
