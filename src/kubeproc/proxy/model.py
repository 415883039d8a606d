"""What the proxy serves: each Service port and the endpoints behind it, from the API.

The one model both proxy modes consume. ``service_ports`` is pure: it takes the Services
and EndpointSlices as the informers hold them and returns every proxied Service port with
its endpoints, as kube-proxy's ServicePortMap and EndpointsMap do. Headless and
ExternalName Services have no virtual IP and are not proxied. Which endpoints get new
connections is ``usable``: the ready ones, or, only when none is ready, the serving
terminating ones (kube-proxy's fallback, so a Service whose every pod is going away
keeps answering while they drain).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

LABEL_SERVICE_NAME = "kubernetes.io/service-name"
DEFAULT_AFFINITY_TIMEOUT = 10800


@dataclass(frozen=True, order=True)
class ServicePortName:
    """``namespace/name:port`` as kube-proxy names a Service port."""

    namespace: str
    name: str
    port: str

    def __str__(self) -> str:
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port}" if self.port else base


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, with every address it answers on and its endpoints."""

    name: ServicePortName
    protocol: str
    cluster_ip: str
    port: int
    node_port: int | None = None
    load_balancer_ips: tuple[str, ...] = ()
    external_ips: tuple[str, ...] = ()
    affinity_timeout: int | None = None
    """Seconds of ClientIP affinity, or None without sessionAffinity."""
    endpoints: tuple[Endpoint, ...] = field(default_factory=tuple)

    @property
    def usable(self) -> tuple[Endpoint, ...]:
        """The endpoints that take new connections (kube-proxy's CategorizeEndpoints)."""
        ready = tuple(e for e in self.endpoints if e.ready)
        if ready:
            return ready
        return tuple(e for e in self.endpoints if e.serving and e.terminating)


ServicePortMap = dict[ServicePortName, ServicePort]


def _condition(conditions: Json, key: str, default: bool) -> bool:
    value = conditions.get(key)
    return default if value is None else bool(value)


def slice_endpoints(slices: Iterable[Json], port_name: str, protocol: str) -> tuple[Endpoint, ...]:
    """The endpoints of one Service port across its slices, deduplicated, in address order.

    A nil ``ready`` means ready and a nil ``serving`` follows ``ready`` (the API's rules);
    an address listed in two slices (a pod moving between them) counts once, the more
    ready reading winning.
    """
    found: dict[tuple[str, int], Endpoint] = {}
    for eps in slices:
        if eps.get("addressType", "IPv4") != "IPv4":
            continue
        port = next(
            (
                p
                for p in eps.get("ports") or []
                if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol
            ),
            None,
        )
        if port is None or not isinstance(port.get("port"), int):
            continue
        for ep in eps.get("endpoints") or []:
            conditions = ep.get("conditions") or {}
            ready = _condition(conditions, "ready", True)
            endpoint = Endpoint(
                ip=str((ep.get("addresses") or [""])[0]),
                port=int(port["port"]),
                ready=ready,
                serving=_condition(conditions, "serving", ready),
                terminating=_condition(conditions, "terminating", False),
            )
            if not endpoint.ip:
                continue
            key = (endpoint.ip, endpoint.port)
            if key not in found or (endpoint.ready and not found[key].ready):
                found[key] = endpoint
    return tuple(sorted(found.values()))


def _affinity(spec: Json) -> int | None:
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    timeout = config.get("timeoutSeconds")
    return int(timeout) if isinstance(timeout, int) and timeout > 0 else DEFAULT_AFFINITY_TIMEOUT


def proxied(svc: Json) -> bool:
    """Whether a Service has a virtual IP to proxy (not headless, not ExternalName)."""
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP")
    return spec.get("type") != "ExternalName" and bool(ip) and ip != "None"


def service_ports(services: Iterable[Json], slices: Iterable[Json]) -> ServicePortMap:
    """Every proxied Service port with its endpoints (pure)."""
    by_service: dict[tuple[str, str], list[Json]] = {}
    for eps in slices:
        meta = eps.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(LABEL_SERVICE_NAME)
        if owner:
            by_service.setdefault((meta.get("namespace", ""), owner), []).append(eps)
    out: ServicePortMap = {}
    for svc in services:
        if not proxied(svc):
            continue
        meta, spec = svc["metadata"], svc.get("spec") or {}
        namespace = meta.get("namespace", "")
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        lb_ips = tuple(str(i["ip"]) for i in ingress if i.get("ip"))
        node_ports = spec.get("type") in ("NodePort", "LoadBalancer")
        own_slices = by_service.get((namespace, meta["name"]), [])
        for port in spec.get("ports") or []:
            name = ServicePortName(namespace, meta["name"], port.get("name") or "")
            protocol = port.get("protocol") or "TCP"
            node_port = port.get("nodePort") if node_ports else None
            out[name] = ServicePort(
                name=name,
                protocol=protocol,
                cluster_ip=str(spec["clusterIP"]),
                port=int(port["port"]),
                node_port=int(node_port) if isinstance(node_port, int) and node_port else None,
                load_balancer_ips=lb_ips,
                external_ips=tuple(str(ip) for ip in spec.get("externalIPs") or []),
                affinity_timeout=_affinity(spec),
                endpoints=slice_endpoints(own_slices, name.port, protocol),
            )
    return out
