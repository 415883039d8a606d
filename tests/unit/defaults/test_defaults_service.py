"""Service and Endpoints defaulting (SetDefaults_Service and the registry's IP normalisation)."""

from __future__ import annotations

from typing import Any

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.resources import REGISTRY, ResourceType


def rt(kind: str) -> ResourceType:
    found = REGISTRY.by_kind("", "v1", kind)
    assert found is not None
    return found


def defaulted(**spec: Any) -> dict[str, Any]:
    svc: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default"}, "spec": spec}
    apply_defaults(rt("Service"), svc)
    out: dict[str, Any] = svc["spec"]
    return out


def test_cluster_ip_service_defaults() -> None:
    """ClusterIP type, no affinity, TCP, targetPort = port, Cluster policy, single-stack IPv4."""
    assert defaulted(selector={"app": "web"}, ports=[{"port": 80}]) == {
        "selector": {"app": "web"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }


def test_named_target_port_is_kept() -> None:
    """A named targetPort is not replaced by the port number."""
    assert defaulted(ports=[{"port": 80, "targetPort": "http"}])["ports"][0]["targetPort"] == "http"


def test_node_port_and_load_balancer_get_external_policy() -> None:
    """Externally reachable types get ``externalTrafficPolicy: Cluster``; LBs get node ports."""
    assert defaulted(type="NodePort", ports=[{"port": 80}])["externalTrafficPolicy"] == "Cluster"
    lb = defaulted(type="LoadBalancer", ports=[{"port": 80}])
    assert (lb["externalTrafficPolicy"], lb["allocateLoadBalancerNodePorts"]) == ("Cluster", True)


def test_client_ip_affinity_gets_three_hour_timeout() -> None:
    """ClientIP affinity without a timeout gets 10800 seconds."""
    spec = defaulted(sessionAffinity="ClientIP", ports=[{"port": 80}])
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_headless_cluster_ip_fills_cluster_ips() -> None:
    """``clusterIP: None`` is mirrored into ``clusterIPs``, as the registry does."""
    assert defaulted(clusterIP="None")["clusterIPs"] == ["None"]


def test_external_name_gets_no_ip_family_fields() -> None:
    """ExternalName services have no cluster IPs, families or internal traffic policy."""
    spec = defaulted(type="ExternalName", externalName="db.example.com")
    assert spec == {
        "type": "ExternalName",
        "externalName": "db.example.com",
        "sessionAffinity": "None",
    }


def test_endpoint_ports_default_to_tcp() -> None:
    """Endpoints subset ports without a protocol get TCP."""
    ep: dict[str, Any] = {"metadata": {"name": "web"}, "subsets": [{"ports": [{"port": 80}]}]}
    apply_defaults(rt("Endpoints"), ep)
    assert ep["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
