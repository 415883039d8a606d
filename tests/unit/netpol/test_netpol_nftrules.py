"""nftrules: the policy table rendered from evaluated rules.

Pure rendering is checked line by line; where ``nft`` and root are available, the scripts
are also validated by the kernel (``nft -c``: nothing is changed).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from typing import Any

import pytest

from kubeproc.netpol.model import Allow, IpBlock, PodRules, PortRange, evaluate
from kubeproc.netpol.nftrules import PolicyNftConfig, delete_script, render
from kubeproc.netpol.pods import PodInfo
from kubeproc.util.nft import run_nft

CONFIG = PolicyNftConfig(table="kubeproc-test-np1", bridge="kptest01")
WEB = PodInfo("shop", "web", "10.250.0.10", {"app": "web"})
DB = PodInfo("shop", "db", "10.250.0.12", {"app": "db"})
TCP_80 = PortRange("TCP", 80, 80)


def chain(script: str, name: str) -> list[str]:
    """The body lines of chain ``name`` in ``script``."""
    lines = script.splitlines()
    start = lines.index(f"\tchain {name} {{") + 1
    end = lines.index("\t}", start)
    return [line.strip() for line in lines[start:end]]


def map_elements(script: str, name: str) -> list[str]:
    lines = script.splitlines()
    start = lines.index(f"\tmap {name} {{") + 1
    end = lines.index("\t}", start)
    return [
        line.strip().rstrip(",") for line in lines[start:end] if ":" in line and "type" not in line
    ]


def test_ingress_chain_lists_each_peer_set_per_protocol_then_drops() -> None:
    """One rule per address match and protocol, each returning; ``drop`` closes the chain."""
    ingress = (
        Allow(frozenset({"10.250.0.11", "10.250.0.9"}), ports=(TCP_80, PortRange("TCP", 8000, 8100), PortRange("UDP", 53, 53))),
        Allow(cidrs=(IpBlock("10.0.0.0/8", ("10.1.0.0/16", "10.2.0.0/16")),), ports=(PortRange("SCTP", 0, 65535),)),
    )  # fmt: skip
    script = render({WEB.ip: PodRules(WEB, ingress, None)}, CONFIG)
    assert chain(script, "ingress-10.250.0.10") == [
        "ip saddr { 10.250.0.9, 10.250.0.11 } meta l4proto tcp th dport { 80, 8000-8100 } return",
        "ip saddr { 10.250.0.9, 10.250.0.11 } meta l4proto udp th dport 53 return",
        "ip saddr 10.0.0.0/8 ip saddr != { 10.1.0.0/16, 10.2.0.0/16 } meta l4proto sctp return",
        "drop",
    ]
    assert map_elements(script, "ingress-pods") == ["10.250.0.10 : jump ingress-10.250.0.10"]
    assert map_elements(script, "egress-pods") == []
    assert "chain egress-10.250.0.10" not in script


def test_egress_chain_matches_destinations_and_any_peer_has_no_address() -> None:
    """Egress matches ``ip daddr``; an allow for any peer on any port is a bare ``return``."""
    egress = (Allow(any_peer=True, ports=(TCP_80,)), Allow(frozenset({DB.ip})))
    script = render({WEB.ip: PodRules(WEB, None, egress)}, CONFIG)
    assert chain(script, "egress-10.250.0.10") == [
        "meta l4proto tcp th dport 80 return",
        "ip daddr 10.250.0.12 return",
        "drop",
    ]
    everything = render({WEB.ip: PodRules(WEB, None, (Allow(any_peer=True),))}, CONFIG)
    assert chain(everything, "egress-10.250.0.10") == ["return", "drop"]
    assert map_elements(everything, "egress-pods") == ["10.250.0.10 : jump egress-10.250.0.10"]


def test_isolated_without_rules_only_drops() -> None:
    """``()`` in a direction: the pod's chain is a lone drop."""
    script = render({DB.ip: PodRules(DB, (), ())}, CONFIG)
    assert chain(script, "ingress-10.250.0.12") == ["drop"]
    assert chain(script, "egress-10.250.0.12") == ["drop"]


def test_base_chains_skip_other_interfaces_and_replies() -> None:
    """forward checks egress then ingress; input only egress; both after the conntrack accept."""
    script = render({}, CONFIG)
    common = [
        'iifname != "kptest01" return',
        "ct state established,related accept",
        "ip saddr vmap @egress-pods",
    ]
    assert chain(script, "filter-forward") == [
        "type filter hook forward priority 0; policy accept;",
        *common,
        "ip daddr vmap @ingress-pods",
    ]
    assert chain(script, "filter-input") == [
        "type filter hook input priority 0; policy accept;",
        *common,
    ]
    assert script.splitlines()[:3] == [
        "table ip kubeproc-test-np1 {}",
        "delete table ip kubeproc-test-np1",
        "table ip kubeproc-test-np1 {",
    ]
    assert map_elements(script, "ingress-pods") == [] and "elements" not in script


def big_cluster(
    seed: int = 7,
) -> tuple[list[dict[str, Any]], list[PodInfo], dict[str, dict[str, str]]]:
    """200 policies over 120 pods in 6 namespaces, with every kind of peer and port."""
    rnd = random.Random(seed)
    namespaces = {f"ns{i}": {"tier": str(i % 3)} for i in range(6)}
    pods = [
        PodInfo(f"ns{i % 6}", f"p{i}", f"10.250.{i // 200}.{i % 200 + 2}", {"app": f"a{i % 10}"})
        for i in range(120)
    ]
    peer_kinds = [
        lambda: {"podSelector": {"matchLabels": {"app": f"a{rnd.randrange(10)}"}}},
        lambda: {"namespaceSelector": {"matchLabels": {"tier": str(rnd.randrange(3))}}},
        lambda: {
            "namespaceSelector": {},
            "podSelector": {"matchLabels": {"app": f"a{rnd.randrange(10)}"}},
        },
        lambda: {
            "ipBlock": {
                "cidr": f"10.{rnd.randrange(256)}.0.0/16",
                "except": [f"10.{rnd.randrange(256)}.1.0/24"],
            }
        },
    ]
    port_kinds = [
        lambda: {"port": rnd.randrange(1, 65535)},
        lambda: {"protocol": "UDP", "port": rnd.randrange(1, 60000), "endPort": 60001},
        lambda: {"protocol": "SCTP"},
    ]
    policies = []
    for i in range(200):
        rules = [
            {"from" if d == "ingress" else "to": [rnd.choice(peer_kinds)() for _ in range(2)],
             "ports": [rnd.choice(port_kinds)() for _ in range(rnd.randrange(3))]}
            for d in ("ingress", "egress")
        ]  # fmt: skip
        policies.append({
            "metadata": {"namespace": f"ns{i % 6}", "name": f"np{i}"},
            "spec": {"podSelector": {"matchLabels": {"app": f"a{i % 10}"}},
                     "ingress": [rules[0]], "egress": [rules[1]] if i % 2 else []},
        })  # fmt: skip
    return policies, pods, namespaces


def test_output_is_stable_whatever_the_input_order() -> None:
    """The same cluster renders the same script, however policies and pods are ordered."""
    policies, pods, namespaces = big_cluster()
    first = render(evaluate(policies, pods, namespaces), CONFIG)
    second = render(
        evaluate(policies[::-1], pods[::-1], dict(reversed(namespaces.items()))), CONFIG
    )
    assert first == second


needs_nft = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="nft -c needs root and nft"
)


@needs_nft
def test_kernel_accepts_empty_and_sample_scripts() -> None:
    """nft -c accepts the empty table, a sample with every match kind, and the delete."""
    sample = {
        WEB.ip: PodRules(
            WEB,
            (Allow(frozenset({DB.ip}), (IpBlock("10.0.0.0/8", ("10.1.0.0/16",)),), ports=(TCP_80, PortRange("SCTP", 9, 9))),),
            (Allow(any_peer=True, ports=(PortRange("UDP", 53, 53), PortRange("TCP", 1000, 2000))),),
        ),
        DB.ip: PodRules(DB, (), None),
    }  # fmt: skip
    asyncio.run(run_nft(render({}, CONFIG), check=True))
    asyncio.run(run_nft(render(sample, CONFIG), check=True))
    asyncio.run(run_nft(delete_script(CONFIG.table), check=True))


@needs_nft
def test_kernel_accepts_a_large_script() -> None:
    """nft -c accepts the table for 200 policies over 120 pods."""
    policies, pods, namespaces = big_cluster()
    rules = evaluate(policies, pods, namespaces)
    assert len(rules) > 100
    asyncio.run(run_nft(render(rules, CONFIG), check=True))
