"""Service and Endpoints defaults.

``SetDefaults_Service`` (type, session affinity and its ClientIP timeout, port protocol,
target port, traffic policies, node-port allocation for load balancers, ingress IP mode),
plus two things the Service registry does before validating that users see on every
Service: ``clusterIP`` and ``clusterIPs`` are kept in step, and a non-ExternalName
Service gets a single-stack IPv4 family (this node is single-stack). Cluster IP and node
port *allocation* stays with the server.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CLIENT_IP_TIMEOUT = 10800


def _externally_accessible(spec: dict[str, Any]) -> bool:
    stype = spec.get("type")
    external_ips = spec.get("externalIPs")
    return stype in ("LoadBalancer", "NodePort") or (
        stype == "ClusterIP" and isinstance(external_ips, list) and bool(external_ips)
    )


def _session_affinity(spec: dict[str, Any]) -> None:
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig")
        client = config.get("clientIP") if isinstance(config, dict) else None
        if not isinstance(client, dict) or client.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_TIMEOUT}
            }


def _ports(spec: dict[str, Any]) -> None:
    ports = spec.get("ports")
    for port in ports if isinstance(ports, list) else []:
        if not isinstance(port, dict):
            continue
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port", 0)


def _cluster_ips(spec: dict[str, Any]) -> None:
    """The registry's normalisation: whichever of clusterIP/clusterIPs is given fills the other."""
    cluster_ip = spec.get("clusterIP")
    cluster_ips = spec.get("clusterIPs")
    if cluster_ip and not cluster_ips:
        spec["clusterIPs"] = [cluster_ip]
    elif cluster_ips and isinstance(cluster_ips, list) and not cluster_ip:
        spec["clusterIP"] = cluster_ips[0]


def default_service(svc: dict[str, Any]) -> None:
    spec = svc.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    _session_affinity(spec)
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    _ports(spec)
    if _externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in (
        "NodePort",
        "LoadBalancer",
        "ClusterIP",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is None:
            spec["allocateLoadBalancerNodePorts"] = True
        status = svc.get("status")
        lb = status.get("loadBalancer") if isinstance(status, dict) else None
        ingress = lb.get("ingress") if isinstance(lb, dict) else None
        for entry in ingress if isinstance(ingress, list) else []:
            if isinstance(entry, dict) and entry.get("ip") and entry.get("ipMode") is None:
                entry["ipMode"] = "VIP"
    if spec["type"] != "ExternalName":
        _cluster_ips(spec)
        if spec.get("ipFamilyPolicy") is None:
            families = spec.get("ipFamilies")
            two = isinstance(families, list) and len(families) == 2
            spec["ipFamilyPolicy"] = "RequireDualStack" if two else "SingleStack"
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]


def default_endpoints(ep: dict[str, Any]) -> None:
    subsets = ep.get("subsets")
    for subset in subsets if isinstance(subsets, list) else []:
        ports = subset.get("ports") if isinstance(subset, dict) else None
        for port in ports if isinstance(ports, list) else []:
            if isinstance(port, dict) and not port.get("protocol"):
                port["protocol"] = "TCP"
