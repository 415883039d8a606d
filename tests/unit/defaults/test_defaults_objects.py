"""Defaulting of Namespaces, Nodes, Secrets, NetworkPolicies and EndpointSlices."""

from __future__ import annotations

from typing import Any

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.resources import REGISTRY, ResourceType


def rt(group: str, kind: str) -> ResourceType:
    found = next((r for r in REGISTRY if r.group == group and r.kind == kind), None)
    assert found is not None
    return found


def test_namespace_gets_name_label_finalizer_and_active_phase() -> None:
    """A new namespace: metadata.name label, ``kubernetes`` finalizer, phase Active."""
    ns: dict[str, Any] = {"metadata": {"name": "team-a"}}
    apply_defaults(rt("", "Namespace"), ns)
    assert ns == {
        "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def test_terminating_namespace_does_not_regain_its_finalizer() -> None:
    """Once deleting, a namespace whose finalizers were removed keeps them removed."""
    ns: dict[str, Any] = {
        "metadata": {"name": "team-a", "deletionTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {},
        "status": {"phase": "Terminating"},
    }
    apply_defaults(rt("", "Namespace"), ns)
    assert ns["spec"] == {}
    assert ns["status"]["phase"] == "Terminating"


def test_secret_type_defaults_to_opaque() -> None:
    """A Secret without a type is Opaque."""
    secret: dict[str, Any] = {"metadata": {"name": "s"}}
    apply_defaults(rt("", "Secret"), secret)
    assert secret["type"] == "Opaque"


def test_node_allocatable_defaults_to_capacity() -> None:
    """A node reporting only capacity gets the same allocatable (in canonical form)."""
    node: dict[str, Any] = {
        "metadata": {"name": "n1"},
        "status": {"capacity": {"cpu": "4", "memory": "8192Mi"}},
    }
    apply_defaults(rt("", "Node"), node)
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi"}


def test_network_policy_policy_types_follow_its_rules() -> None:
    """Ingress always; Egress too when egress rules exist; ports get TCP."""
    ingress_only: dict[str, Any] = {"metadata": {"name": "n"}, "spec": {"podSelector": {}}}
    apply_defaults(rt("networking.k8s.io", "NetworkPolicy"), ingress_only)
    assert ingress_only["spec"]["policyTypes"] == ["Ingress"]
    both: dict[str, Any] = {
        "metadata": {"name": "n"},
        "spec": {"egress": [{"ports": [{"port": 53}]}]},
    }
    apply_defaults(rt("networking.k8s.io", "NetworkPolicy"), both)
    assert both["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert both["spec"]["egress"][0]["ports"] == [{"port": 53, "protocol": "TCP"}]


def test_endpoint_slice_ports_get_empty_name_and_tcp() -> None:
    """EndpointSlice ports default to ``name: ""`` and ``protocol: TCP``."""
    eps: dict[str, Any] = {
        "metadata": {"name": "e"},
        "addressType": "IPv4",
        "ports": [{"port": 80}],
    }
    apply_defaults(rt("discovery.k8s.io", "EndpointSlice"), eps)
    assert eps["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]


def test_kinds_without_defaults_are_left_alone() -> None:
    """ConfigMaps, Leases and Events come back exactly as given."""
    for group, kind in (
        ("", "ConfigMap"),
        ("coordination.k8s.io", "Lease"),
        ("events.k8s.io", "Event"),
    ):
        obj: dict[str, Any] = {"metadata": {"name": "x"}, "data": {"a": "b"}}
        apply_defaults(rt(group, kind), obj)
        assert obj == {"metadata": {"name": "x"}, "data": {"a": "b"}}
