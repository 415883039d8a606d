"""nftrules: the node's table rendered from Service ports, in kube-proxy's shapes.

Pure rendering is checked with golden snippets; where ``nft`` and root are available, the
rendered scripts are also validated by the kernel (``nft -c``: nothing is changed).
"""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from kubeproc.proxy.model import Endpoint, ServicePort, ServicePortMap, ServicePortName
from kubeproc.proxy.nftrules import (
    NftConfig,
    delete_script,
    full_script,
    render,
    update_script,
)
from kubeproc.util.nft import NftError, run_nft

CONFIG = NftConfig(
    table="kubeproc-test01",
    bridge="kptest01",
    pod_cidr="10.250.0.0/26",
    service_cidr="10.251.0.0/26",
    gateway="10.250.0.1",
    proxy_source="10.250.0.62",
)

WEB = ServicePortName("default", "web", "http")
DNS = ServicePortName("kube-system", "dns", "")


def port(name: ServicePortName = WEB, *eps: Endpoint, **kw: object) -> ServicePort:
    fields: dict[str, object] = {"protocol": "TCP", "cluster_ip": "10.251.0.10", "port": 80}
    fields.update(kw)
    return ServicePort(name=name, endpoints=eps, **fields)  # type: ignore[arg-type]


A = Endpoint("10.250.0.5", 8080)
B = Endpoint("10.250.0.6", 8080)
UNREADY = Endpoint("10.250.0.7", 8080, ready=False)
DRAINING = Endpoint("10.250.0.8", 8080, ready=False, serving=True, terminating=True)

CHAIN = "service-default/web/tcp/http"
EP_A = "endpoint-default/web/tcp/http__10.250.0.5/8080"
EP_B = "endpoint-default/web/tcp/http__10.250.0.6/8080"


def text(ports: ServicePortMap) -> str:
    return full_script(render(ports, CONFIG))


@pytest.mark.parametrize(
    ("eps", "expected_targets"),
    [
        ((A, B), [EP_A, EP_B]),
        ((A, UNREADY), [EP_A]),
        ((UNREADY, DRAINING), ["endpoint-default/web/tcp/http__10.250.0.8/8080"]),
    ],
)
def test_service_chain_picks_among_usable_endpoints(
    eps: tuple[Endpoint, ...], expected_targets: list[str]
) -> None:
    """numgen random mod N over the usable endpoints (ready, else serving terminating)."""
    rs = render({WEB: port(WEB, *eps)}, CONFIG)
    vmap = ", ".join(f"{i} : goto {t}" for i, t in enumerate(expected_targets))
    assert rs.chains[CHAIN] == (f"numgen random mod {len(expected_targets)} vmap {{ {vmap} }}",)
    for target in expected_targets:
        ip_port = target.split("__")[1].replace("/", ":")
        assert rs.chains[target] == (f"meta l4proto tcp dnat to {ip_port}",)
    assert "10.251.0.10 . tcp . 80 : goto service-default/web/tcp/http" in rs.maps["service-ips"][1]


def test_no_usable_endpoint_rejects_instead_of_dnat() -> None:
    """A port without usable endpoints is in the no-endpoint maps, pointing at the reject."""
    rs = render({WEB: port(WEB, UNREADY, node_port=30080)}, CONFIG)
    assert CHAIN not in rs.chains
    assert rs.maps["service-ips"][1] == ()
    assert rs.maps["no-endpoint-services"][1] == ("10.251.0.10 . tcp . 80 : goto reject-chain",)
    assert rs.maps["no-endpoint-nodeports"][1] == ("tcp . 30080 : goto reject-chain",)
    assert rs.chains["reject-chain"] == ("meta l4proto tcp reject with tcp reset", "reject")


def test_lb_and_external_ips_are_frontends_like_the_cluster_ip() -> None:
    """Ingress and external IPs map to the same chain; one equal to the cluster IP once."""
    p = port(WEB, A, load_balancer_ips=("10.251.0.10", "192.0.2.50"), external_ips=("192.0.2.60",))
    elements = render({WEB: p}, CONFIG).maps["service-ips"][1]
    assert elements == (
        f"10.251.0.10 . tcp . 80 : goto {CHAIN}",
        f"192.0.2.50 . tcp . 80 : goto {CHAIN}",
        f"192.0.2.60 . tcp . 80 : goto {CHAIN}",
    )


def test_node_port_on_this_nodes_addresses() -> None:
    """Node ports are looked up for local destinations that are this node's bridge addresses."""
    rs = render({WEB: port(WEB, A, node_port=30080)}, CONFIG)
    assert rs.maps["service-nodeports"][1] == (f"tcp . 30080 : goto {CHAIN}",)
    assert (
        "fib daddr type local ip daddr { 10.250.0.1, 10.250.0.62 }"
        " meta l4proto . th dport vmap @service-nodeports"
    ) in rs.chains["services"]


def test_client_ip_affinity_uses_a_timed_set_per_endpoint() -> None:
    """ClientIP: remembered clients go back to their endpoint; each packet refreshes it."""
    rs = render({WEB: port(WEB, A, B, affinity_timeout=60)}, CONFIG)
    aff_a = "affinity-default/web/tcp/http__10.250.0.5/8080"
    assert rs.sets[aff_a] == ("type ipv4_addr", "flags dynamic,timeout", "timeout 60s")
    assert rs.chains[CHAIN][0] == f"ip saddr @{aff_a} goto {EP_A}"
    assert rs.chains[CHAIN][-1].startswith("numgen random mod 2 vmap")
    assert rs.chains[EP_A] == (
        f"update @{aff_a} {{ ip saddr }}",
        "meta l4proto tcp dnat to 10.250.0.5:8080",
    )


def test_hooks_masquerade_and_forward_policy() -> None:
    """Pods and host enter through nat hooks; only pod-CIDR DNAT'ed traffic is SNAT'ed;
    the bridge forwards only to itself."""
    chains = render({}, CONFIG).chains
    assert chains["nat-prerouting"][1] == 'iifname "kptest01" jump services'
    assert chains["nat-output"][1] == "jump services"
    assert chains["nat-postrouting"][1] == (
        'ct status dnat oifname "kptest01" ip saddr 10.250.0.0/26'
        " ip saddr != 10.250.0.62 snat to 10.250.0.62"
    )
    assert chains["filter-forward"][1:] == (
        "ct state new jump service-endpoints-check",
        'iifname "kptest01" oifname "kptest01" accept',
        'iifname "kptest01" drop',
    )
    assert "ip daddr 10.251.0.0/26 goto reject-chain" in chains["service-endpoints-check"]


def test_udp_port_and_unnamed_port() -> None:
    """An unnamed port is named by its number; the protocol is lowercase for nft."""
    p = port(DNS, Endpoint("10.250.0.9", 53), protocol="UDP", cluster_ip="10.251.0.2", port=53)
    rs = render({DNS: p}, CONFIG)
    assert rs.chains["endpoint-kube-system/dns/udp/53__10.250.0.9/53"] == (
        "meta l4proto udp dnat to 10.250.0.9:53",
    )


def test_full_script_replaces_the_table_in_one_transaction() -> None:
    """Create-if-missing, delete, then the whole table: atomic, and clears a stale table."""
    lines = text({}).splitlines()
    assert lines[:3] == [
        "table ip kubeproc-test01 {}",
        "delete table ip kubeproc-test01",
        "table ip kubeproc-test01 {",
    ]


def test_update_script_keeps_surviving_sets_and_deletes_stale_objects() -> None:
    """Flush rules and maps; delete what is gone; a set still wanted keeps its entries."""
    before = render({WEB: port(WEB, A, B, affinity_timeout=60)}, CONFIG)
    after = render({WEB: port(WEB, A, affinity_timeout=60)}, CONFIG)
    lines = update_script(before, after).splitlines()
    table = "ip kubeproc-test01"
    assert lines[0] == f"flush table {table}"
    assert f"flush map {table} service-ips" in lines
    assert f"delete chain {table} {EP_B}" in lines
    assert f"delete set {table} affinity-default/web/tcp/http__10.250.0.6/8080" in lines
    assert not any("delete set" in line and "10.250.0.5" in line for line in lines)
    assert f"delete chain {table} {EP_A}" not in lines


def test_render_is_deterministic() -> None:
    """The same map renders the same text whatever the dict order."""
    ports = {WEB: port(WEB, A, B), DNS: port(DNS, A, cluster_ip="10.251.0.2", port=53)}
    reordered = dict(reversed(list(ports.items())))
    assert text(ports) == text(reordered)


needs_nft = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="nft -c needs root and nft"
)

SAMPLE: ServicePortMap = {
    WEB: port(WEB, A, B, UNREADY, node_port=30080, affinity_timeout=30,
              load_balancer_ips=("10.251.0.10",), external_ips=("192.0.2.60",)),
    DNS: port(DNS, protocol="UDP", cluster_ip="10.251.0.2", port=53, node_port=30053),
}  # fmt: skip


@needs_nft
def test_kernel_accepts_full_and_update_scripts() -> None:
    """nft -c accepts the full script, and an update following it in the same batch."""
    first = render(SAMPLE, CONFIG)
    second = render({WEB: port(WEB, B, affinity_timeout=30)}, CONFIG)
    asyncio.run(run_nft(full_script(first), check=True))
    asyncio.run(run_nft(full_script(first) + update_script(first, second), check=True))
    asyncio.run(run_nft(full_script(second) + update_script(second, first), check=True))
    asyncio.run(run_nft(delete_script(CONFIG.table), check=True))


@needs_nft
def test_nft_errors_become_one_line_errors() -> None:
    """A script nft refuses raises NftError with nft's message on one line."""
    with pytest.raises(NftError) as info:
        asyncio.run(run_nft("table ip kubeproc-test01 { chain c { bogus } }\n", check=True))
    assert "nft failed" in str(info.value)
    assert "\n" not in str(info.value)
