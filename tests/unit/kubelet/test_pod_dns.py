"""The kubelet's choice of a pod's nameservers, search path and options, per dnsPolicy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.containerconfig import pod_dns
from kubeproc.kubelet.runtime.oci.podfiles import resolv_conf

CLUSTER = KubeletConfig(node_name="n", root_dir=Path("/nonexistent"), cluster_dns=("10.1.0.1",))
SEARCH = ("team.svc.cluster.local", "svc.cluster.local", "cluster.local")
HOST_RESOLV = "nameserver 192.0.2.53\nsearch example.org\n"


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "team"}, "spec": {"containers": [], **spec}}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, (("10.1.0.1",), SEARCH, ("ndots:5",))),
        ({"dnsPolicy": "ClusterFirst"}, (("10.1.0.1",), SEARCH, ("ndots:5",))),
        # A pod on the host's network keeps the host's resolvers unless it asks otherwise.
        ({"dnsPolicy": "ClusterFirst", "hostNetwork": True}, ((), (), ())),
        (
            {"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True},
            (("10.1.0.1",), SEARCH, ("ndots:5",)),
        ),
        ({"dnsPolicy": "Default"}, ((), (), ())),
        (
            {
                "dnsPolicy": "None",
                "dnsConfig": {"nameservers": ["9.9.9.9"], "searches": ["a.example"]},
            },
            (("9.9.9.9",), ("a.example",), ()),
        ),
        (
            {
                "dnsConfig": {
                    "nameservers": ["9.9.9.9", "10.1.0.1"],
                    "searches": ["svc.cluster.local", "b.example"],
                    "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
                }
            },
            (("10.1.0.1", "9.9.9.9"), (*SEARCH, "b.example"), ("ndots:2", "edns0")),
        ),
    ],
)
def test_dns_policy(spec: dict[str, Any], expected: tuple[tuple[str, ...], ...]) -> None:
    assert pod_dns(pod(**spec), CLUSTER) == expected


def test_cluster_first_without_cluster_dns_is_the_hosts() -> None:
    no_dns = KubeletConfig(node_name="n", root_dir=Path("/nonexistent"))
    assert pod_dns(pod(), no_dns) == ((), (), ())


def test_resolv_conf_written_from_the_choice() -> None:
    text = resolv_conf(*pod_dns(pod(), CLUSTER), HOST_RESOLV)
    assert text.splitlines() == [
        "nameserver 10.1.0.1",
        f"search {' '.join(SEARCH)}",
        "options ndots:5",
    ]
    assert resolv_conf((), (), (), HOST_RESOLV) == HOST_RESOLV
