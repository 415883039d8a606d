"""Services get cluster IPs and node ports from their ranges, never twice."""

from __future__ import annotations

from typing import Any

from kubeproc.apiserver.allocators import ServiceAllocator


def svc(**spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"port": 80}])
    return {"metadata": {"name": "s"}, "spec": spec}


def test_first_free_address_skips_the_kubernetes_service_ip() -> None:
    """The first Service gets .2 (.1 is the kubernetes Service's), the next .3."""
    alloc = ServiceAllocator("10.96.0.0/16")
    first = svc(type="ClusterIP")
    assert alloc.allocate(first, []) == []
    assert first["spec"]["clusterIP"] == "10.96.0.2"
    assert first["spec"]["clusterIPs"] == ["10.96.0.2"]
    second = svc(type="ClusterIP")
    assert alloc.allocate(second, [first]) == []
    assert second["spec"]["clusterIP"] == "10.96.0.3"


def test_requested_address_must_be_free_and_in_range() -> None:
    """A requested clusterIP outside the range or in use is refused with the real text."""
    alloc = ServiceAllocator("10.96.0.0/16")
    taken = svc(type="ClusterIP", clusterIP="10.96.0.50")
    assert alloc.allocate(taken, []) == []
    clash = svc(type="ClusterIP", clusterIP="10.96.0.50")
    errs = alloc.allocate(clash, [taken])
    assert [str(e) for e in errs] == [
        'spec.clusterIPs: Invalid value: ["10.96.0.50"]: failed to allocate IP 10.96.0.50: '
        "provided IP is already allocated"
    ]
    outside = svc(type="ClusterIP", clusterIP="192.168.1.1")
    errs = alloc.allocate(outside, [])
    assert "is not in the valid range. The range of valid IPs is 10.96.0.0/16" in str(errs[0])


def test_headless_and_external_name_get_no_address() -> None:
    """clusterIP None stays None; ExternalName gets nothing."""
    alloc = ServiceAllocator()
    headless = svc(type="ClusterIP", clusterIP="None")
    assert alloc.allocate(headless, []) == []
    assert headless["spec"]["clusterIPs"] == ["None"]
    external = svc(type="ExternalName", externalName="example.com")
    assert alloc.allocate(external, []) == []
    assert "clusterIP" not in external["spec"]


def test_node_ports_allocated_and_conflicts_refused() -> None:
    """NodePort ports get free node ports; a taken one is refused."""
    alloc = ServiceAllocator()
    first = svc(type="NodePort", ports=[{"port": 80}, {"port": 443, "nodePort": 30000}])
    assert alloc.allocate(first, []) == []
    assert [p["nodePort"] for p in first["spec"]["ports"]] == [30001, 30000]
    clash = svc(type="LoadBalancer", ports=[{"port": 80, "nodePort": 30001}])
    errs = alloc.allocate(clash, [first])
    assert [str(e) for e in errs] == [
        "spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated"
    ]
    plain = svc(type="ClusterIP")
    assert alloc.allocate(plain, [first]) == []
    assert "nodePort" not in plain["spec"]["ports"][0]
