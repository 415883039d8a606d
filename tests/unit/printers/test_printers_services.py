"""Service, Endpoints, EndpointSlice and NetworkPolicy rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubeproc.api.printers import row_cells
from kubeproc.api.resources import REGISTRY, ResourceType

NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def rt(group: str, plural: str) -> ResourceType:
    found = REGISTRY.get(group, "v1", plural)
    assert found is not None
    return found


META = {"name": "web", "namespace": "default", "creationTimestamp": "2024-12-30T12:00:00Z"}


def service(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": META, "spec": spec, "status": status or {}}


SERVICE_CASES = [
    (
        "cluster IP with two ports",
        service(
            {
                "type": "ClusterIP",
                "clusterIPs": ["10.96.0.10"],
                "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            }
        ),
        ["ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP"],
    ),
    (
        "node port",
        service(
            {
                "type": "NodePort",
                "clusterIP": "10.96.0.11",
                "ports": [
                    {"port": 80, "nodePort": 30080, "protocol": "TCP"},
                    {"port": 443, "protocol": "TCP"},
                ],
            }
        ),
        ["NodePort", "10.96.0.11", "<none>", "80:30080/TCP,443/TCP"],
    ),
    (
        "external IPs on a cluster IP service",
        service(
            {
                "type": "ClusterIP",
                "clusterIPs": ["10.96.0.12"],
                "externalIPs": ["1.2.3.4", "5.6.7.8"],
                "ports": [{"port": 80}],
            }
        ),
        ["ClusterIP", "10.96.0.12", "1.2.3.4,5.6.7.8", "80/TCP"],
    ),
    (
        "load balancer waiting for an address",
        service(
            {
                "type": "LoadBalancer",
                "clusterIPs": ["10.96.0.13"],
                "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}],
            }
        ),
        ["LoadBalancer", "10.96.0.13", "<pending>", "80:31000/TCP"],
    ),
    (
        "load balancer with ingress addresses, sorted, hostnames too",
        service(
            {
                "type": "LoadBalancer",
                "clusterIPs": ["10.96.0.14"],
                "externalIPs": ["9.9.9.9"],
                "ports": [{"port": 80, "nodePort": 31001, "protocol": "TCP"}],
            },
            {
                "loadBalancer": {
                    "ingress": [
                        {"ip": "203.0.113.9"},
                        {"hostname": "lb.example.com"},
                        {"ip": "198.51.100.7"},
                    ]
                }
            },
        ),
        [
            "LoadBalancer",
            "10.96.0.14",
            "198.51.100.7,203.0.113.9,lb.example.com,9.9.9.9",
            "80:31001/TCP",
        ],
    ),
    (
        "external name without ports",
        service({"type": "ExternalName", "externalName": "db.example.com"}),
        ["ExternalName", "<none>", "db.example.com", "<none>"],
    ),
    (
        "headless",
        service(
            {"type": "ClusterIP", "clusterIP": "None", "ports": [{"port": 5432, "protocol": "TCP"}]}
        ),
        ["ClusterIP", "None", "<none>", "5432/TCP"],
    ),
    (
        "defaults when unset",
        service({"ports": [{"port": 8080}]}),
        ["ClusterIP", "<none>", "<none>", "8080/TCP"],
    ),
]


@pytest.mark.parametrize(("case", "obj", "cells"), SERVICE_CASES, ids=[c[0] for c in SERVICE_CASES])
def test_service_row(case: str, obj: dict[str, Any], cells: list[str]) -> None:
    """TYPE, CLUSTER-IP, EXTERNAL-IP and PORT(S) follow printService."""
    row = row_cells(rt("", "services"), obj, NOW)
    assert row[0] == "web"
    assert row[1:5] == cells, case
    assert row[5] == "2d"


@pytest.mark.parametrize(
    ("selector", "text"),
    [({"app": "web", "tier": "fe"}, "app=web,tier=fe"), ({}, "<none>"), (None, "<none>")],
)
def test_service_selector(selector: dict[str, str] | None, text: str) -> None:
    """SELECTOR (wide) lists the selector's pairs sorted, or <none>."""
    assert row_cells(rt("", "services"), service({"selector": selector}), NOW)[6] == text


def endpoints(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": META, "subsets": list(subsets)}


def addrs(*ips: str) -> list[dict[str, str]]:
    return [{"ip": ip} for ip in ips]


ENDPOINT_CASES = [
    ("no subsets", endpoints(), "<none>"),
    (
        "one address",
        endpoints({"addresses": addrs("10.0.0.1"), "ports": [{"port": 80}]}),
        "10.0.0.1:80",
    ),
    (
        "more than three",
        endpoints(
            {
                "addresses": addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"),
                "ports": [{"port": 80}],
            }
        ),
        "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...",
    ),
    (
        "every address for every port",
        endpoints(
            {"addresses": addrs("10.0.0.1", "10.0.0.2"), "ports": [{"port": 80}, {"port": 443}]}
        ),
        "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
    ),
    (
        "headless without ports",
        endpoints({"addresses": addrs("10.0.0.1", "10.0.0.2")}),
        "10.0.0.1,10.0.0.2",
    ),
    (
        "IPv6 in brackets",
        endpoints({"addresses": addrs("fd00::1"), "ports": [{"port": 80}]}),
        "[fd00::1]:80",
    ),
    (
        "only not-ready addresses",
        endpoints({"notReadyAddresses": addrs("10.0.0.1"), "ports": [{"port": 80}]}),
        "",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "text"), ENDPOINT_CASES, ids=[c[0] for c in ENDPOINT_CASES]
)
def test_endpoints_row(case: str, obj: dict[str, Any], text: str) -> None:
    """ENDPOINTS lists up to three ip:port pairs, then "+ N more..."."""
    assert row_cells(rt("", "endpoints"), obj, NOW) == ["web", text, "2d"], case


def endpoint_slice(ports: list[dict[str, Any]], endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": META, "addressType": "IPv4", "ports": ports, "endpoints": endpoints}


SLICE_CASES = [
    ("empty", endpoint_slice([], []), "<unset>", "<unset>"),
    (
        "ports by number, else name, else *",
        endpoint_slice([{"port": 80}, {"name": "metrics"}, {}], [{"addresses": ["10.0.0.1"]}]),
        "80,metrics,*",
        "10.0.0.1",
    ),
    (
        "more than three of each",
        endpoint_slice(
            [{"port": p} for p in (80, 81, 82, 83)],
            [
                {"addresses": ["10.0.0.1", "10.0.0.2"]},
                {"addresses": ["10.0.0.3"]},
                {"addresses": ["10.0.0.4"]},
            ],
        ),
        "80,81,82 + 1 more...",
        "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "ports", "addresses"), SLICE_CASES, ids=[c[0] for c in SLICE_CASES]
)
def test_endpoint_slice_row(case: str, obj: dict[str, Any], ports: str, addresses: str) -> None:
    """PORTS and ENDPOINTS show up to three entries, <unset> when there are none."""
    assert row_cells(rt("discovery.k8s.io", "endpointslices"), obj, NOW) == [
        "web",
        "IPv4",
        ports,
        addresses,
        "2d",
    ], case


@pytest.mark.parametrize(
    ("pod_selector", "text"),
    [
        ({"matchLabels": {"app": "web"}}, "app=web"),
        ({}, "<none>"),
        (None, "<none>"),
        (
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
            "tier in (a,b)",
        ),
        ({"matchExpressions": [{"key": "tier", "operator": "Bad"}]}, "<error>"),
    ],
)
def test_network_policy_pod_selector(pod_selector: dict[str, Any] | None, text: str) -> None:
    """POD-SELECTOR prints the selector, <none> when it selects every pod."""
    obj = {"metadata": META, "spec": {"podSelector": pod_selector}}
    assert row_cells(rt("networking.k8s.io", "networkpolicies"), obj, NOW) == ["web", text, "2d"]
