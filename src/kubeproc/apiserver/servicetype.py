"""A Service changing type: the fields the old type needed are dropped, as upstream does.

kube-apiserver's Service strategy wipes, on update, what the new type no longer uses and
what the server may have filled in itself (cluster IPs, node ports, the health check
node port, the load balancer class, the external traffic policy), but only when the
client left the field as it was: a value the user changed in the same request is theirs,
and validation judges it. So ``kubectl patch svc web -p '{"spec":{"type":"ClusterIP"}}'``
on a LoadBalancer succeeds and gives back its node ports, as on a cluster. A Service that
is not a LoadBalancer any more loses its load balancer status at once. Pure.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def _type(svc: Json) -> str:
    return str((svc.get("spec") or {}).get("type") or "ClusterIP")


def _needs_cluster_ip(svc: Json) -> bool:
    return _type(svc) != "ExternalName"


def _needs_node_port(svc: Json) -> bool:
    return _type(svc) in ("NodePort", "LoadBalancer")


def _needs_health_check_node_port(svc: Json) -> bool:
    spec = svc.get("spec") or {}
    return _type(svc) == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _externally_accessible(svc: Json) -> bool:
    spec = svc.get("spec") or {}
    return _needs_node_port(svc) or (_type(svc) == "ClusterIP" and bool(spec.get("externalIPs")))


def _node_ports(svc: Json) -> set[int]:
    ports = (svc.get("spec") or {}).get("ports") or []
    return {p["nodePort"] for p in ports if isinstance(p.get("nodePort"), int) and p["nodePort"]}


def _same(field: str, new: Json, old: Json) -> bool:
    return (new.get("spec") or {}).get(field) == (old.get("spec") or {}).get(field)


def drop_type_dependent_fields(new: Json, old: Json) -> None:
    """Wipe from ``new`` what its type no longer needs and the client did not change."""
    spec = new.get("spec")
    if not isinstance(spec, dict):
        return
    if _needs_cluster_ip(old) and not _needs_cluster_ip(new):
        if _same("clusterIP", new, old) and _same("clusterIPs", new, old):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        if _same("ipFamilies", new, old):
            spec.pop("ipFamilies", None)
        if _same("ipFamilyPolicy", new, old):
            spec.pop("ipFamilyPolicy", None)
    if _needs_node_port(old) and not _needs_node_port(new) and _node_ports(new) <= _node_ports(old):
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)
    if (
        _needs_health_check_node_port(old)
        and not _needs_health_check_node_port(new)
        and _same("healthCheckNodePort", new, old)
    ):
        spec.pop("healthCheckNodePort", None)
    if _type(old) == "LoadBalancer" and _type(new) != "LoadBalancer":
        for field in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if _same(field, new, old):
                spec.pop(field, None)
    if (
        _externally_accessible(old)
        and not _externally_accessible(new)
        and _same("externalTrafficPolicy", new, old)
    ):
        spec.pop("externalTrafficPolicy", None)
    if _type(new) != "LoadBalancer":
        status = new.get("status")
        if isinstance(status, dict):
            status["loadBalancer"] = {}
