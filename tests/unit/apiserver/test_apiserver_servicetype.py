"""A Service changing type drops what the old type needed, unless the client changed it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.apiserver.servicetype import drop_type_dependent_fields


def lb() -> dict[str, Any]:
    return {
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.0.9",
            "clusterIPs": ["10.96.0.9"],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"port": 80, "nodePort": 30001}, {"port": 81, "nodePort": 30002}],
            "externalTrafficPolicy": "Cluster",
            "allocateLoadBalancerNodePorts": True,
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "10.96.0.9", "ipMode": "VIP"}]}},
    }


def changed(old: dict[str, Any], **spec: Any) -> dict[str, Any]:
    new = copy.deepcopy(old)
    new["spec"].update(spec)
    drop_type_dependent_fields(new, old)
    return new


def test_load_balancer_to_cluster_ip_drops_node_ports_policy_and_status() -> None:
    """LoadBalancer → ClusterIP: node ports, ETP, allocateLBNodePorts and the ingress go."""
    new = changed(lb(), type="ClusterIP")
    assert [p.get("nodePort") for p in new["spec"]["ports"]] == [None, None]
    assert "externalTrafficPolicy" not in new["spec"]
    assert "allocateLoadBalancerNodePorts" not in new["spec"]
    assert new["status"] == {"loadBalancer": {}}
    assert new["spec"]["clusterIP"] == "10.96.0.9"  # ClusterIP still needs it


def test_load_balancer_to_node_port_keeps_node_ports_and_policy() -> None:
    """LoadBalancer → NodePort: node ports and ETP stay; only the load balancer goes."""
    new = changed(lb(), type="NodePort")
    assert [p["nodePort"] for p in new["spec"]["ports"]] == [30001, 30002]
    assert new["spec"]["externalTrafficPolicy"] == "Cluster"
    assert new["status"] == {"loadBalancer": {}}


def test_a_node_port_the_client_changed_is_kept_for_validation() -> None:
    """A node port changed in the same request is the client's: validation judges it."""
    old = lb()
    ports = [{"port": 80, "nodePort": 30009}, {"port": 81, "nodePort": 30002}]
    new = changed(old, type="ClusterIP", ports=ports)
    assert [p["nodePort"] for p in new["spec"]["ports"]] == [30009, 30002]


def test_to_external_name_drops_cluster_ips_and_families() -> None:
    """ClusterIP → ExternalName: the cluster IPs, families and family policy go."""
    old = lb()
    old["spec"]["type"] = "ClusterIP"
    for port in old["spec"]["ports"]:
        del port["nodePort"]
    new = changed(old, type="ExternalName", externalName="example.com")
    for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        assert field not in new["spec"], field


@pytest.mark.parametrize("kept", ["LoadBalancer", "NodePort"])
def test_same_type_changes_nothing(kept: str) -> None:
    """No type change: nothing is dropped but a non-LoadBalancer's status."""
    old = lb()
    old["spec"]["type"] = kept
    new = changed(old)
    assert new["spec"] == old["spec"]
