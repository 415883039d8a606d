"""Service and Endpoints validation: ports, types, cluster IPs, and what may not change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.api.validation import validate_create, validate_status_update, validate_update


def rt(kind: str) -> ResourceType:
    found = REGISTRY.by_kind("", "v1", kind)
    assert found is not None
    return found


def service(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": {"selector": {"app": "web"}, **spec},
    }


def create(svc: dict[str, Any]) -> list[str]:
    obj = copy.deepcopy(svc)
    apply_defaults(rt("Service"), obj)
    return [str(e) for e in validate_create(rt("Service"), obj)]


def stored(svc: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(svc)
    apply_defaults(rt("Service"), obj)
    assert validate_create(rt("Service"), obj) == []
    return obj


CASES = [
    pytest.param(service(), ["spec.ports: Required value"], id="ports-required"),
    pytest.param(service(clusterIP="None"), [], id="headless-needs-no-ports"),
    pytest.param(
        service(type="ExternalName", externalName="db.example.com"), [], id="external-name"
    ),
    pytest.param(
        service(type="ExternalName"),
        ["spec.externalName: Required value"],
        id="external-name-required",
    ),
    pytest.param(
        service(ports=[{"port": 0}]),
        [
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            # targetPort defaults to port, so it is out of range as well.
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        ],
        id="port-range",
    ),
    pytest.param(
        service(ports=[{"port": 80}, {"port": 443}]),
        ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
        id="names-required-with-two-ports",
    ),
    pytest.param(
        service(ports=[{"name": "web", "port": 80}, {"name": "web", "port": 443}]),
        ['spec.ports[1].name: Duplicate value: "web"'],
        id="duplicate-port-name",
    ),
    pytest.param(
        service(ports=[{"port": 80, "targetPort": "metrics-endpoint"}]),
        [
            'spec.ports[0].targetPort: Invalid value: "metrics-endpoint": '
            "must be no more than 15 characters"
        ],
        id="target-port-name",
    ),
    pytest.param(
        service(type="Magic", ports=[{"port": 80}]),
        [
            'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", '
            '"LoadBalancer", "NodePort"'
        ],
        id="type",
    ),
    pytest.param(
        service(ports=[{"port": 80, "nodePort": 30080}]),
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
        id="node-port-on-cluster-ip",
    ),
    pytest.param(
        service(type="NodePort", clusterIP="None", ports=[{"port": 80}]),
        [
            'spec.clusterIPs[0]: Invalid value: "None": '
            "may not be set to 'None' for NodePort services"
        ],
        id="headless-node-port",
    ),
    pytest.param(
        service(ports=[{"port": 80}], selector={"app": "-x"}),
        [
            'spec.selector: Invalid value: "-x": a valid label must be an empty string or consist '
            "of "
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        ],
        id="selector-labels",
    ),
    pytest.param(
        service(ports=[{"port": 80}], clusterIP="10.96.0.300"),
        [
            'spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, '
            "(e.g. 10.9.8.7 or 2001:db8::ffff)"
        ],
        id="bad-cluster-ip",
    ),
]


@pytest.mark.parametrize(("svc", "expected"), CASES)
def test_service_create_rules(svc: dict[str, Any], expected: list[str]) -> None:
    """Services are checked as ValidateService checks them, after defaulting."""
    assert create(svc) == expected


def test_load_balancer_service_is_valid_after_defaulting() -> None:
    """A LoadBalancer service is valid once its node-port and traffic policies are defaulted."""
    assert create(service(type="LoadBalancer", ports=[{"port": 80}])) == []


def test_cluster_ip_may_not_change_once_set() -> None:
    """Changing clusterIP: ``spec.clusterIPs[0]: Invalid value: [...]: may not change once set``."""
    old = stored(service(clusterIP="10.96.0.10", ports=[{"port": 80}]))
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    new["spec"]["clusterIPs"] = ["10.96.0.11"]
    got = [str(e) for e in validate_update(rt("Service"), new, old)]
    assert got == ['spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set']


def test_ports_and_selector_may_change() -> None:
    """Everything but the cluster IPs and families stays mutable."""
    old = stored(service(clusterIP="10.96.0.10", ports=[{"port": 80}]))
    new = copy.deepcopy(old)
    new["spec"]["ports"] = [{"port": 8080, "protocol": "TCP", "targetPort": 8080}]
    new["spec"]["selector"] = {"app": "web2"}
    assert validate_update(rt("Service"), new, old) == []


def test_load_balancer_status_on_cluster_ip_service_is_forbidden() -> None:
    """Status ingress is only for LoadBalancer services."""
    old = stored(service(clusterIP="10.96.0.10", ports=[{"port": 80}]))
    new = copy.deepcopy(old)
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
    got = [str(e) for e in validate_status_update(rt("Service"), new, old)]
    assert got == [
        "status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is "
        "'LoadBalancer'"
    ]


def test_endpoints_need_an_address_and_a_unicast_ip() -> None:
    """Each subset needs addresses; loopback IPs are refused."""
    ep = {
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [
            {"ports": [{"port": 80}]},
            {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]},
        ],
    }
    apply_defaults(rt("Endpoints"), ep)
    assert [str(e) for e in validate_create(rt("Endpoints"), ep)] == [
        "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
        'subsets[1].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range '
        "(127.0.0.0/8, ::1/128)",
    ]
