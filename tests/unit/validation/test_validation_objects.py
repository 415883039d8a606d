"""Validation of the smaller kinds: ConfigMap, Secret, Namespace, Node, NetworkPolicy,
EndpointSlice, Event (both shapes) and Lease."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.api.validation import validate_create, validate_status_update, validate_update

KEY_REGEX = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def rt(group: str, kind: str) -> ResourceType:
    found = next((r for r in REGISTRY if r.group == group and r.kind == kind), None)
    assert found is not None
    return found


def create(group: str, kind: str, obj: dict[str, Any]) -> list[str]:
    body = copy.deepcopy(obj)
    apply_defaults(rt(group, kind), body)
    return [str(e) for e in validate_create(rt(group, kind), body)]


def meta(name: str = "x", namespace: str | None = "default") -> dict[str, Any]:
    return {"name": name, "namespace": namespace} if namespace else {"name": name}


CASES = [
    pytest.param(
        "",
        "ConfigMap",
        {"metadata": meta(), "data": {"bad key": "v", "ok.key": "v"}},
        [f'data[bad key]: Invalid value: "bad key": {KEY_REGEX}'],
        id="configmap-key",
    ),
    pytest.param(
        "",
        "ConfigMap",
        {"metadata": meta(), "data": {"k": "v"}, "binaryData": {"k": "dg=="}},
        ['data[k]: Invalid value: "k": duplicate of key present in binaryData'],
        id="configmap-dup-key",
    ),
    pytest.param(
        "",
        "ConfigMap",
        {"metadata": meta(), "data": {"big": "x" * (1024 * 1024 + 1)}},
        [": Too long: may not be more than 1048576 bytes"],
        id="configmap-size",
    ),
    pytest.param(
        "",
        "Secret",
        {"metadata": meta(), "data": {"..": "eA=="}},
        ["data[..]: Invalid value: \"..\": must not be '..'"],
        id="secret-dotdot-key",
    ),
    pytest.param(
        "",
        "Secret",
        {"metadata": meta(), "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}},
        ["data[tls.key]: Required value"],
        id="tls-secret",
    ),
    pytest.param("", "Namespace", {"metadata": meta("team-a", None)}, [], id="namespace-ok"),
    pytest.param(
        "",
        "Node",
        {"metadata": meta("n1", None), "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}},
        [
            'metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: '
            '"NoSchedule", "PreferNoSchedule", "NoExecute"'
        ],
        id="node-taint-effect",
    ),
    pytest.param(
        "networking.k8s.io",
        "NetworkPolicy",
        {
            "metadata": meta(),
            "spec": {"podSelector": {}, "ingress": [{"from": [{}], "ports": [{"port": 0}]}]},
        },
        [
            "spec.ingress[0].ports[0].port: Invalid value: 0: "
            "must be between 1 and 65535, inclusive",
            "spec.ingress[0].from[0]: Required value: must specify a peer",
        ],
        id="netpol-port-and-peer",
    ),
    pytest.param(
        "networking.k8s.io",
        "NetworkPolicy",
        {
            "metadata": meta(),
            "spec": {
                "podSelector": {"matchLabels": {"app": "db"}},
                "ingress": [
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}
                ],
            },
        },
        [
            'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "192.168.0.0/16": must be a '
            "strict subset of `cidr`"
        ],
        id="netpol-except",
    ),
    pytest.param(
        "discovery.k8s.io",
        "EndpointSlice",
        {
            "metadata": meta(),
            "addressType": "IPv4",
            "endpoints": [{"addresses": []}],
            "ports": [{"port": 80}],
        },
        ["endpoints[0].addresses: Required value: must contain at least 1 address"],
        id="slice-addresses",
    ),
    pytest.param(
        "discovery.k8s.io",
        "EndpointSlice",
        {"metadata": meta(), "addressType": "IP"},
        ['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'],
        id="slice-address-type",
    ),
    pytest.param(
        "",
        "Event",
        {
            "metadata": meta("e.1"),
            "involvedObject": {"kind": "Pod", "namespace": "kube-system", "name": "p"},
        },
        ['involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace'],
        id="event-namespace-mismatch",
    ),
    pytest.param(
        "events.k8s.io",
        "Event",
        {
            "metadata": meta("e.1"),
            "regarding": {"namespace": "default"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "kubelet",
            "reportingInstance": "n1",
            "action": "Pull",
            "reason": "Pulled",
            "type": "Normal",
        },
        [],
        id="events-v1-ok",
    ),
    pytest.param(
        "events.k8s.io",
        "Event",
        {"metadata": meta("e.1"), "regarding": {"namespace": "default"}, "type": "Info"},
        ["eventTime: Required value", 'type: Invalid value: "": has invalid value: Info'],
        id="events-v1-strict",
    ),
    pytest.param(
        "coordination.k8s.io",
        "Lease",
        {"metadata": meta(), "spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1}},
        [
            "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
            "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
        ],
        id="lease",
    ),
]


@pytest.mark.parametrize(("group", "kind", "obj", "expected"), CASES)
def test_small_kind_rules(group: str, kind: str, obj: dict[str, Any], expected: list[str]) -> None:
    """Each kind reports its own rule violations with the real server's paths and words."""
    assert create(group, kind, obj) == expected


def test_immutable_configmap_data_may_not_change() -> None:
    """Once ``immutable: true``, data changes and unsetting immutable are both forbidden."""
    old: dict[str, Any] = {"metadata": meta(), "data": {"a": "1"}, "immutable": True}
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    new["immutable"] = False
    got = [str(e) for e in validate_update(rt("", "ConfigMap"), new, old)]
    assert got == [
        "immutable: Forbidden: field is immutable when `immutable` is set",
        "data: Forbidden: field is immutable when `immutable` is set",
    ]


def test_secret_type_is_immutable() -> None:
    """A Secret's type may not change."""
    old = {"metadata": meta(), "type": "Opaque"}
    new = {**copy.deepcopy(old), "type": "kubernetes.io/basic-auth", "data": {"username": "dQ=="}}
    got = [str(e) for e in validate_update(rt("", "Secret"), new, old)]
    assert got == ['type: Invalid value: "kubernetes.io/basic-auth": field is immutable']


def test_namespace_phase_must_match_deletion_state() -> None:
    """A live namespace's status phase must be Active (reported at Go's ``status.Phase``)."""
    old = {"metadata": meta("team", None), "status": {"phase": "Active"}}
    new = copy.deepcopy(old)
    new["status"]["phase"] = "Terminating"
    got = [str(e) for e in validate_status_update(rt("", "Namespace"), new, old)]
    assert got == [
        "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` "
        "is empty"
    ]


def test_endpoint_slice_address_type_is_immutable() -> None:
    """An EndpointSlice may not switch address type."""
    old = {"metadata": meta(), "addressType": "IPv4"}
    new = {**copy.deepcopy(old), "addressType": "IPv6"}
    got = [str(e) for e in validate_update(rt("discovery.k8s.io", "EndpointSlice"), new, old)]
    assert got == ['addressType: Invalid value: "IPv6": field is immutable']
