"""Rows for the networking kinds: Services, Endpoints, EndpointSlices, NetworkPolicies.

Follows ``printService`` (server tables are always wide, so load-balancer addresses are
never clipped), ``formatEndpoints`` and the EndpointSlice formatters (at most three
entries, then ``+ N more...``). Service ``type`` and port ``protocol`` read as their API
defaults (ClusterIP, TCP) when absent, as every object the real server prints has them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from kubeproc.api.errors import BadRequest
from kubeproc.api.printers.columns import (
    AGE,
    NAME,
    Printer,
    age,
    col,
    get,
    items,
    mapping,
    name,
    number,
    text,
)
from kubeproc.api.selectors import LabelSelector, format_labels

_MAX = 3

SERVICE_COLUMNS = (
    NAME,
    col("Type", "How the service is exposed."),
    col("Cluster-IP", "The service's virtual IP inside the cluster."),
    col("External-IP", "Addresses the service is reachable at from outside."),
    col("Port(s)", "Service ports, with node ports where allocated."),
    AGE,
    col("Selector", "Labels of the pods behind the service.", wide=True),
)


def _load_balancer(obj: dict[str, Any]) -> str:
    found = {
        text(i, "ip") or text(i, "hostname") for i in items(obj, "status.loadBalancer.ingress")
    }
    return ",".join(sorted(found - {""}))


def external_ip(obj: dict[str, Any]) -> str:
    """``getServiceExternalIP`` as the server calls it (wide)."""
    kind = text(obj, "spec.type", "ClusterIP")
    external = [str(ip) for ip in get(obj, "spec.externalIPs") or []]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        balancer = _load_balancer(obj)
        joined = ",".join([*([balancer] if balancer else []), *external])
        return joined or "<pending>"
    if kind == "ExternalName":
        return text(obj, "spec.externalName")
    return "<unknown>"


def port_string(ports: list[dict[str, Any]]) -> str:
    """``makePortString``: ``80/TCP`` or ``80:30080/TCP``, comma-joined."""
    pieces = []
    for port in ports:
        node_port = number(port, "nodePort")
        via = f":{node_port}" if node_port > 0 else ""
        pieces.append(f"{number(port, 'port')}{via}/{text(port, 'protocol', 'TCP')}")
    return ",".join(pieces)


def service_cells(obj: dict[str, Any], now: dt.datetime) -> list[object]:
    cluster_ips = get(obj, "spec.clusterIPs") or [text(obj, "spec.clusterIP")]
    return [
        name(obj),
        text(obj, "spec.type", "ClusterIP"),
        str(cluster_ips[0] or "<none>"),
        external_ip(obj),
        port_string(items(obj, "spec.ports")) or "<none>",
        age(obj, now),
        format_labels(mapping(obj, "spec.selector")),
    ]


def _more(shown: list[str], count: int, empty: str) -> str:
    joined = ",".join(shown)
    if count > _MAX:
        return f"{joined} + {count - _MAX} more..."
    return joined or empty


def _host_port(ip: str, port: int) -> str:
    # net.JoinHostPort brackets IPv6 addresses.
    try:
        bracket = isinstance(ipaddress.ip_address(ip), ipaddress.IPv6Address)
    except ValueError:
        bracket = ":" in ip
    return f"[{ip}]:{port}" if bracket else f"{ip}:{port}"


def format_endpoints(obj: dict[str, Any]) -> str:
    """``formatEndpoints`` with all ports: ``ip:port`` per address and port, up to three."""
    subsets = items(obj, "subsets")
    if not subsets:
        return "<none>"
    entries: list[str] = []
    for subset in subsets:
        addresses = [text(a, "ip") for a in items(subset, "addresses")]
        ports = items(subset, "ports")
        if not ports:  # headless services may have no ports
            entries.extend(addresses)
        for port in ports:
            entries.extend(_host_port(ip, number(port, "port")) for ip in addresses)
    if len(entries) > _MAX:
        return f"{','.join(entries[:_MAX])} + {len(entries) - _MAX} more..."
    return ",".join(entries)


def endpoints_cells(obj: dict[str, Any], now: dt.datetime) -> list[object]:
    return [name(obj), format_endpoints(obj), age(obj, now)]


def slice_cells(obj: dict[str, Any], now: dt.datetime) -> list[object]:
    ports = [
        str(p["port"]) if isinstance(p.get("port"), int) else text(p, "name", "*")
        for p in items(obj, "ports")
    ]
    addresses = [str(a) for e in items(obj, "endpoints") for a in e.get("addresses") or []]
    return [
        name(obj),
        text(obj, "addressType"),
        _more(ports[:_MAX], len(ports), "<unset>"),
        _more(addresses[:_MAX], len(addresses), "<unset>"),
        age(obj, now),
    ]


def pod_selector(obj: dict[str, Any]) -> str:
    """``FormatLabelSelector(&spec.podSelector)``: ``<none>`` when it selects every pod."""
    try:
        selector = LabelSelector.from_label_selector_object(mapping(obj, "spec.podSelector"))
    except BadRequest:
        return "<error>"
    return str(selector) or "<none>"


def network_policy_cells(obj: dict[str, Any], now: dt.datetime) -> list[object]:
    return [name(obj), pod_selector(obj), age(obj, now)]


SERVICES = Printer(SERVICE_COLUMNS, service_cells)
ENDPOINTS = Printer(
    (NAME, col("Endpoints", "Ready addresses with their ports."), AGE), endpoints_cells
)
ENDPOINT_SLICES = Printer(
    (
        NAME,
        col("AddressType", "The kind of addresses in the slice (IPv4, IPv6, FQDN)."),
        col("Ports", "Port numbers of the slice."),
        col("Endpoints", "Addresses of the endpoints in the slice."),
        AGE,
    ),
    slice_cells,
)
NETWORK_POLICIES = Printer(
    (NAME, col("Pod-Selector", "Pods the policy applies to."), AGE), network_policy_cells
)
