"""Cluster IPs and node ports for Services, allocated as kube-apiserver allocates them.

A new Service of type ClusterIP, NodePort or LoadBalancer gets the first free address of
the service CIDR (the first address is kept for the ``kubernetes`` Service, as upstream
does), unless it asks for one, which must be inside the range and free. NodePort and
LoadBalancer ports get a free node port from 30000-32767 unless they name one. Headless
(``clusterIP: None``) and ExternalName Services get no address. Pure: the caller passes
the Services that exist, and applies nothing when errors come back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubeproc.api.errors import FieldError, invalid

DEFAULT_SERVICE_CIDR = "10.96.0.0/16"
NODE_PORT_RANGE = (30000, 32767)


def _used_ips(services: Iterable[dict[str, Any]]) -> set[str]:
    used: set[str] = set()
    for svc in services:
        spec = svc.get("spec") or {}
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                used.add(str(ip))
    return used


def _used_ports(services: Iterable[dict[str, Any]]) -> set[int]:
    used: set[int] = set()
    for svc in services:
        for port in (svc.get("spec") or {}).get("ports") or []:
            if isinstance(port.get("nodePort"), int) and port["nodePort"]:
                used.add(port["nodePort"])
    return used


@dataclass(frozen=True)
class ServiceAllocator:
    """Allocation rules for one cluster: the service CIDR and the node port range."""

    service_cidr: str = DEFAULT_SERVICE_CIDR
    node_ports: tuple[int, int] = NODE_PORT_RANGE

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.service_cidr)

    def kubernetes_service_ip(self) -> str:
        return str(self.network.network_address + 1)

    def allocate(self, svc: dict[str, Any], existing: Iterable[dict[str, Any]]) -> list[FieldError]:
        """Fill in ``clusterIP(s)`` and node ports of a new Service; errors leave it as is."""
        others = list(existing)
        spec = svc.setdefault("spec", {})
        errors = self._cluster_ip(spec, _used_ips(others))
        errors += self._node_ports(spec, _used_ports(others))
        return errors

    def _cluster_ip(self, spec: dict[str, Any], used: set[str]) -> list[FieldError]:
        if spec.get("type") == "ExternalName":
            return []
        wanted = spec.get("clusterIP") or next(iter(spec.get("clusterIPs") or []), "")
        if wanted == "None":
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
            return []
        net = self.network
        if wanted:
            try:
                addr = ipaddress.ip_address(wanted)
            except ValueError:
                return []  # validation reports the malformed address
            if addr not in net:
                return [
                    invalid(
                        "spec.clusterIPs",
                        [wanted],
                        f"failed to allocate IP {wanted}: the provided IP ({wanted}) is "
                        f"not in the valid range. The range of valid IPs is {net}",
                    )
                ]
            if wanted in used:
                return [
                    invalid(
                        "spec.clusterIPs",
                        [wanted],
                        f"failed to allocate IP {wanted}: provided IP is already allocated",
                    )
                ]
            spec["clusterIP"] = wanted
            spec["clusterIPs"] = [wanted]
            return []
        reserved = {self.kubernetes_service_ip()}
        for host in net.hosts():
            text = str(host)
            if text not in used and text not in reserved:
                spec["clusterIP"] = text
                spec["clusterIPs"] = [text]
                return []
        return [invalid("spec.clusterIPs", [], "failed to allocate IP: range is full")]

    def _node_ports(self, spec: dict[str, Any], used: set[int]) -> list[FieldError]:
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return []
        low, high = self.node_ports
        taken = set(used)
        errors: list[FieldError] = []
        ports = spec.get("ports") or []
        # Requested ports are claimed first, so a dynamic one never takes a named one.
        for i, port in enumerate(ports):
            asked = port.get("nodePort")
            if not (isinstance(asked, int) and asked):
                continue
            if asked in taken:
                errors.append(
                    invalid(
                        f"spec.ports[{i}].nodePort", asked, "provided port is already allocated"
                    )
                )
            elif not low <= asked <= high:
                errors.append(
                    invalid(
                        f"spec.ports[{i}].nodePort",
                        asked,
                        f"provided port is not in the valid range. The range of valid ports "
                        f"is {low}-{high}",
                    )
                )
            taken.add(asked)
        for i, port in enumerate(ports):
            if isinstance(port.get("nodePort"), int) and port["nodePort"]:
                continue
            free = next((p for p in range(low, high + 1) if p not in taken), None)
            if free is None:
                errors.append(
                    invalid(
                        f"spec.ports[{i}].nodePort",
                        0,
                        "failed to allocate a nodePort: range is full",
                    )
                )
                continue
            port["nodePort"] = free
            taken.add(free)
        return errors
