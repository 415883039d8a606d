"""The kubelet's choice of a pod's nameservers, search path and options, per dnsPolicy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubeproc.kubelet.poddns import node_resolver_file, pod_dns, read_host_dns
from kubeproc.kubelet.runtime.oci.podfiles import resolv_conf
from kubeproc.util import resolvconf
from kubeproc.util.resolvconf import DnsConfig

SEARCH = ("team.svc.cluster.local", "svc.cluster.local", "cluster.local")
HOST_RESOLV = "nameserver 192.0.2.53\nsearch corp.example lab.example.\noptions edns0 attempts:2\n"
HOST = resolvconf.parse(HOST_RESOLV)
HOST_SEARCH = ("corp.example", "lab.example")


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "team"}, "spec": {"containers": [], **spec}}


def dns(
    spec: dict[str, Any], cluster: tuple[str, ...] = ("10.1.0.1",), host: DnsConfig = HOST
) -> DnsConfig:
    found = pod_dns(pod(**spec), cluster_dns=cluster, cluster_domain="cluster.local", host=host)
    assert found.warnings == ()
    return found.config


CLUSTER_FIRST = DnsConfig(("10.1.0.1",), (*SEARCH, *HOST_SEARCH), ("ndots:5",))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, CLUSTER_FIRST),
        ({"dnsPolicy": "ClusterFirst"}, CLUSTER_FIRST),
        # A pod on the host's network keeps the host's resolvers unless it asks otherwise.
        ({"dnsPolicy": "ClusterFirst", "hostNetwork": True}, HOST),
        ({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}, CLUSTER_FIRST),
        ({"dnsPolicy": "Default"}, HOST),
        (
            {
                "dnsPolicy": "None",
                "dnsConfig": {"nameservers": ["9.9.9.9"], "searches": ["a.example"]},
            },
            DnsConfig(("9.9.9.9",), ("a.example",), ()),
        ),
        (
            {
                "dnsConfig": {
                    "nameservers": ["9.9.9.9", "10.1.0.1"],
                    "searches": ["svc.cluster.local", "b.example"],
                    "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
                }
            },
            DnsConfig(
                ("10.1.0.1", "9.9.9.9"), (*SEARCH, *HOST_SEARCH, "b.example"), ("ndots:2", "edns0")
            ),
        ),
        (
            {"dnsPolicy": "Default", "dnsConfig": {"options": [{"name": "attempts", "value": 5}]}},
            DnsConfig(HOST.servers, HOST_SEARCH, ("edns0", "attempts:5")),
        ),
    ],
)
def test_dns_policy(spec: dict[str, Any], expected: DnsConfig) -> None:
    assert dns(spec) == expected


def test_host_search_domains_follow_the_cluster_path_once() -> None:
    """The host's search line comes after the cluster's three, a repeat of one kept once."""
    host = resolvconf.parse("nameserver 192.0.2.53\nsearch cluster.local corp.example\n")
    assert dns({}, host=host).searches == (*SEARCH, "corp.example")


def test_cluster_first_without_cluster_dns_is_the_hosts() -> None:
    assert dns({}, cluster=()) == HOST
    assert dns({}, cluster=(), host=DnsConfig()) == DnsConfig()


def test_too_many_nameservers_are_cut_to_three_with_the_kubelets_warning() -> None:
    extra = {"dnsConfig": {"nameservers": ["9.9.9.1", "9.9.9.2", "9.9.9.3"]}}
    found = pod_dns(
        pod(**extra), cluster_dns=("10.1.0.1",), cluster_domain="cluster.local", host=HOST
    )
    assert found.config.servers == ("10.1.0.1", "9.9.9.1", "9.9.9.2")
    assert found.warnings == (
        "Nameserver limits were exceeded, some nameservers have been omitted, "
        "the applied nameserver line is: 10.1.0.1 9.9.9.1 9.9.9.2",
    )


@pytest.mark.parametrize(
    ("searches", "kept"),
    [
        # 32 domains at most: the 3 cluster ones, the host's 2, then 27 of the pod's 30.
        ([f"d{i}.example" for i in range(30)], 32),
        # A domain over 253 characters is dropped wherever it is.
        (["x" * 254, "ok.example"], 3 + 2 + 1),
        # 2048 characters in all: the last domains go until the line fits.
        ([f"{i:02d}" + "y" * 200 for i in range(12)], 3 + 2 + 9),
    ],
    ids=["count", "one-too-long", "line-length"],
)
def test_search_line_limits_cut_with_the_kubelets_warning(searches: list[str], kept: int) -> None:
    found = pod_dns(
        pod(dnsConfig={"searches": searches}),
        cluster_dns=("10.1.0.1",),
        cluster_domain="cluster.local",
        host=HOST,
    )
    line = " ".join(found.config.searches)
    assert len(found.config.searches) == kept
    assert len(line) <= 2048 and all(len(s) <= 253 for s in found.config.searches)
    assert found.config.searches[:5] == (*SEARCH, *HOST_SEARCH)
    assert found.warnings == (
        "Search Line limits were exceeded, some search paths have been omitted, "
        f"the applied search line is: {line}",
    )


def test_resolv_conf_is_written_search_first_as_the_runtimes_write_it() -> None:
    config = dns({})
    text = resolv_conf(config.servers, config.searches, config.options, HOST_RESOLV)
    assert text.splitlines() == [
        f"search {' '.join((*SEARCH, *HOST_SEARCH))}",
        "nameserver 10.1.0.1",
        "options ndots:5",
    ]
    assert resolv_conf((), (), (), HOST_RESOLV) == HOST_RESOLV


def test_the_host_file_parsed_as_the_kubelet_parses_it(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_text(
        "# comment\nnameserver 192.0.2.1\nsearch old.example\nnameserver\n"
        "nameserver 192.0.2.2\nsearch a.example. b.example\noptions ndots:1\noptions rotate\n"
    )
    assert read_host_dns(path) == DnsConfig(
        ("192.0.2.1", "192.0.2.2"), ("a.example", "b.example"), ("rotate",)
    )
    assert read_host_dns(tmp_path / "missing") == DnsConfig()
    assert read_host_dns(None) == DnsConfig()


@pytest.mark.parametrize(
    ("etc", "upstream_exists", "chosen"),
    [
        ("nameserver 127.0.0.53\noptions edns0\n", True, "upstream"),
        ("nameserver 127.0.0.53\n", False, "etc"),
        ("nameserver 127.0.0.53\nnameserver 192.0.2.1\n", True, "etc"),
        ("nameserver 192.0.2.1\n", True, "etc"),
        ("", True, "etc"),
    ],
)
def test_a_loopback_stub_resolver_is_replaced_by_its_upstream_file(
    tmp_path: Path, etc: str, upstream_exists: bool, chosen: str
) -> None:
    files = {"etc": tmp_path / "etc", "upstream": tmp_path / "upstream"}
    files["etc"].write_text(etc)
    if upstream_exists:
        files["upstream"].write_text("nameserver 192.0.2.9\n")
    assert node_resolver_file(files["etc"], files["upstream"]) == files[chosen]
