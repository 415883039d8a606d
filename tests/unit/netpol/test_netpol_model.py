"""model: NetworkPolicy semantics, checked as "may this pod open that connection".

The cluster: namespace ``shop`` (team=shop) with web, api, db and agent, namespace
``ops`` (team=ops, and absent from the namespace map in some cases) with mon and probe,
and the cluster DNS server as a peers-only endpoint in ``kube-system``. ``can`` reads the
evaluated rules as the node does: the source's egress must admit the destination and the
destination's ingress must admit the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from kubeproc.netpol.model import Allow, IpBlock, PodRules, PortRange, evaluate
from kubeproc.netpol.pods import NamedPort, PodInfo, pod_info

WEB = PodInfo(
    "shop", "web", "10.250.0.10", {"app": "web"},
    (NamedPort("http", "TCP", 8080), NamedPort("metrics", "TCP", 9090)),
)  # fmt: skip
API = PodInfo("shop", "api", "10.250.0.11", {"app": "api"})
DB = PodInfo("shop", "db", "10.250.0.12", {"app": "db"}, (NamedPort("pg", "TCP", 5432),))
AGENT = PodInfo("shop", "agent", "10.250.0.13", {"app": "mon"})
MON = PodInfo("ops", "mon", "10.250.0.20", {"app": "mon"}, (NamedPort("metrics", "TCP", 9100),))
PROBE = PodInfo("ops", "probe", "10.250.0.21", {"app": "probe"})
DNS = PodInfo(
    "kube-system", "kube-dns", "10.250.0.1", {"k8s-app": "kube-dns"},
    (NamedPort("dns", "UDP", 53), NamedPort("dns-tcp", "TCP", 53)),
)  # fmt: skip
PODS = (WEB, API, DB, AGENT, MON, PROBE)
NAMESPACES = {"shop": {"team": "shop"}, "ops": {"team": "ops"}}
OUTSIDE = "192.0.2.7"


def policy(name: str, namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    spec.setdefault("podSelector", {})
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


def app(name: str) -> dict[str, Any]:
    return {"matchLabels": {"app": name}}


def admits(allows: tuple[Allow, ...] | None, peer: str, protocol: str, port: int) -> bool:
    if allows is None:
        return True
    return any(
        (a.any_peer or peer in a.peer_ips or any(b.contains(peer) for b in a.cidrs))
        and (
            not a.ports
            or any(r.protocol == protocol and r.first <= port <= r.last for r in a.ports)
        )
        for a in allows
    )


def can(
    rules: Mapping[str, PodRules], src: str, dst: str, protocol: str = "TCP", port: int = 80
) -> bool:
    out = rules[src].egress if src in rules else None
    into = rules[dst].ingress if dst in rules else None
    return admits(out, dst, protocol, port) and admits(into, src, protocol, port)


def run(
    *policies: dict[str, Any], namespaces: Mapping[str, Mapping[str, str]] = NAMESPACES
) -> dict[str, PodRules]:
    return evaluate(policies, PODS, namespaces, peers_only=[DNS])


DENY_INGRESS = policy("deny", policyTypes=["Ingress"])


def test_no_policy_isolates_nobody() -> None:
    """Without policies no pod is in the result: everything is allowed."""
    rules = run()
    assert rules == {}
    assert can(rules, API.ip, MON.ip) and can(rules, MON.ip, WEB.ip, "UDP", 53)


def test_deny_all_ingress_isolates_only_its_namespace_and_direction() -> None:
    """A deny-all in shop refuses everything into shop pods; ops and egress stay open."""
    rules = run(DENY_INGRESS)
    assert set(rules) == {WEB.ip, API.ip, DB.ip, AGENT.ip}
    assert rules[WEB.ip].ingress == () and rules[WEB.ip].egress is None
    assert not can(rules, MON.ip, WEB.ip) and not can(rules, API.ip, WEB.ip)
    assert can(rules, WEB.ip, MON.ip) and can(rules, MON.ip, PROBE.ip)


def test_policies_add_up() -> None:
    """Allowed traffic is the union over every policy selecting the pod."""
    allow_all = policy("all", podSelector=app("web"), ingress=[{}])
    rules = run(DENY_INGRESS, allow_all)
    assert can(rules, PROBE.ip, WEB.ip, "SCTP", 9)
    assert not can(rules, PROBE.ip, DB.ip)
    web_only = policy("web", ingress=[{"from": [{"podSelector": app("web")}]}])
    api_only = policy("api", ingress=[{"from": [{"podSelector": app("api")}]}])
    rules = run(web_only, api_only)
    assert can(rules, WEB.ip, DB.ip) and can(rules, API.ip, DB.ip)
    assert not can(rules, AGENT.ip, DB.ip)


MON_IN_OPS = {"namespaceSelector": {"matchLabels": {"team": "ops"}}, "podSelector": app("mon")}


@pytest.mark.parametrize(
    ("peers", "allowed"),
    [
        ([{"podSelector": app("mon")}], {AGENT}),
        ([{"namespaceSelector": {"matchLabels": {"team": "ops"}}}], {MON, PROBE}),
        ([MON_IN_OPS], {MON}),
        ([{"namespaceSelector": MON_IN_OPS["namespaceSelector"]}, {"podSelector": app("mon")}],
         {MON, PROBE, AGENT}),
        ([{"namespaceSelector": {}}], set(PODS)),
        ([{"namespaceSelector": {}, "podSelector": app("mon")}], {MON, AGENT}),
        ([{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}}],
         {WEB, API}),
        ([{"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web", "api"]}]}}],
         {DB, AGENT}),
        ([{"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}}], set()),
        ([{"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]},
           "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}], set(PODS)),
    ],
    ids=["pod-selector-own-namespace", "namespace-selector", "both-in-one-peer",
         "two-separate-peers", "all-namespaces", "any-namespace-by-label", "in", "notin",
         "does-not-exist", "exists"],
)  # fmt: skip
def test_peer_selectors(peers: list[dict[str, Any]], allowed: set[PodInfo]) -> None:
    """from: pod, namespace and combined selectors pick exactly their pods."""
    rules = run(policy("db", podSelector=app("db"), ingress=[{"from": peers}]))
    assert {pod for pod in PODS if pod != DB and can(rules, pod.ip, DB.ip)} == allowed - {DB}
    assert not can(rules, OUTSIDE, DB.ip)


def test_namespace_without_labels_still_has_its_name_label() -> None:
    """A namespace missing from the map matches kubernetes.io/metadata.name=<its name>."""
    by_name = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}}}
    rules = run(policy("db", podSelector=app("db"), ingress=[{"from": [by_name]}]), namespaces={})
    assert can(rules, PROBE.ip, DB.ip) and not can(rules, API.ip, DB.ip)


def test_ip_block_with_except_covers_pods_and_other_addresses() -> None:
    """ipBlock admits addresses in the cidr outside every except, pod addresses included."""
    block = {"ipBlock": {"cidr": "10.250.0.0/24", "except": ["10.250.0.20/31"]}}
    rules = run(policy("db", podSelector=app("db"), ingress=[{"from": [block]}]))
    assert can(rules, WEB.ip, DB.ip) and can(rules, "10.250.0.99", DB.ip)
    assert not can(rules, MON.ip, DB.ip) and not can(rules, PROBE.ip, DB.ip)
    assert not can(rules, OUTSIDE, DB.ip)
    assert rules[DB.ip].ingress == (Allow(cidrs=(IpBlock("10.250.0.0/24", ("10.250.0.20/31",)),)),)


@pytest.mark.parametrize(
    ("ports", "open_", "closed"),
    [
        ([{"port": 8080}], [("TCP", 8080)], [("TCP", 8081), ("UDP", 8080)]),
        ([{"port": 8000, "endPort": 8100}], [("TCP", 8000), ("TCP", 8100)], [("TCP", 7999), ("TCP", 8101)]),
        ([{"protocol": "UDP", "port": 53}], [("UDP", 53)], [("TCP", 53)]),
        ([{"protocol": "SCTP", "port": 9}], [("SCTP", 9)], [("TCP", 9), ("UDP", 9)]),
        ([{"protocol": "UDP"}], [("UDP", 1), ("UDP", 65535)], [("TCP", 80)]),
        ([{"port": "http"}], [("TCP", 8080)], [("TCP", 9090), ("TCP", 80)]),
        ([{"port": "http", "protocol": "UDP"}], [], [("UDP", 8080), ("TCP", 8080)]),
        ([], [("TCP", 1), ("UDP", 7), ("SCTP", 9)], []),
    ],
    ids=["number", "end-port", "udp", "sctp", "every-udp-port", "named", "named-wrong-protocol", "all"],
)  # fmt: skip
def test_ingress_ports(
    ports: list[dict[str, Any]], open_: list[tuple[str, int]], closed: list[tuple[str, int]]
) -> None:
    """Numbers, ranges, protocols, and names resolved on the selected pod itself."""
    rules = run(policy("web", podSelector=app("web"), ingress=[{"ports": ports}]))
    assert all(can(rules, API.ip, WEB.ip, proto, port) for proto, port in open_)
    assert not any(can(rules, API.ip, WEB.ip, proto, port) for proto, port in closed)


def test_ingress_named_port_resolves_per_selected_pod() -> None:
    """One rule, two pods: each admits its own "metrics" port; a pod without one admits none."""
    rules = run(policy("m", podSelector={}, ingress=[{"ports": [{"port": "metrics"}]}]))
    assert can(rules, MON.ip, WEB.ip, "TCP", 9090)
    assert rules[DB.ip].ingress == ()
    assert not can(rules, MON.ip, DB.ip, "TCP", 9090)


def test_egress_named_port_resolves_per_destination_pod() -> None:
    """to + "metrics": each peer pod on its own metrics port, nothing on a pod without one."""
    everywhere = [{"namespaceSelector": {}}]
    rules = run(
        policy(
            "out",
            podSelector=app("api"),
            egress=[{"to": everywhere, "ports": [{"port": "metrics"}]}],
        )
    )
    assert can(rules, API.ip, WEB.ip, "TCP", 9090) and can(rules, API.ip, MON.ip, "TCP", 9100)
    assert not can(rules, API.ip, WEB.ip, "TCP", 9100) and not can(
        rules, API.ip, MON.ip, "TCP", 9090
    )
    assert not can(rules, API.ip, DB.ip, "TCP", 9090)


def test_egress_named_port_on_blocks_and_any_peer_only_reaches_known_pods() -> None:
    """A named port with an ipBlock or no ``to`` reaches covered pods, never bare addresses."""
    in_block = {
        "to": [{"ipBlock": {"cidr": "10.250.0.16/28"}}],
        "ports": [{"port": "metrics"}, {"port": 443}],
    }
    rules = run(policy("out", podSelector=app("api"), egress=[in_block]))
    assert can(rules, API.ip, MON.ip, "TCP", 9100) and not can(rules, API.ip, WEB.ip, "TCP", 9090)
    assert can(rules, API.ip, "10.250.0.30", "TCP", 443) and not can(
        rules, API.ip, "10.250.0.30", "TCP", 9100
    )
    anyone = {"ports": [{"port": "dns", "protocol": "UDP"}]}
    rules = run(policy("out", podSelector=app("api"), egress=[anyone]))
    assert can(rules, API.ip, DNS.ip, "UDP", 53)
    assert not can(rules, API.ip, OUTSIDE, "UDP", 53) and not can(rules, API.ip, WEB.ip, "UDP", 53)


def test_egress_to_the_dns_server_a_peers_only_endpoint() -> None:
    """The DNS pseudo-pod matches as a peer but a policy in its namespace never isolates it."""
    to_dns = {
        "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"port": "dns-tcp"}],
    }
    rules = run(
        policy("dns", podSelector=app("web"), policyTypes=["Egress"], egress=[to_dns]),
        policy("lock", namespace="kube-system", policyTypes=["Ingress", "Egress"]),
    )
    assert set(rules) == {WEB.ip}
    assert can(rules, WEB.ip, DNS.ip, "UDP", 53) and can(rules, WEB.ip, DNS.ip, "TCP", 53)
    assert not can(rules, WEB.ip, DNS.ip, "TCP", 80) and not can(rules, WEB.ip, API.ip)
    assert rules[WEB.ip].ingress is None


@pytest.mark.parametrize(
    ("spec", "ingress_isolated", "egress_isolated"),
    [
        ({"ingress": [{}]}, True, False),
        ({"egress": [{"to": [{"podSelector": {}}]}]}, True, True),
        ({"egress": []}, True, False),
        ({"policyTypes": ["Egress"]}, False, True),
        ({"policyTypes": ["Egress"], "ingress": [{"from": [{"podSelector": app("db")}]}]}, False, True),
        ({"policyTypes": ["Ingress", "Egress"]}, True, True),
    ],
    ids=["ingress-only", "egress-rules-add-egress", "empty-egress-list", "egress-only",
         "ingress-rules-ignored", "both"],
)  # fmt: skip
def test_policy_types_and_their_default(
    spec: dict[str, Any], ingress_isolated: bool, egress_isolated: bool
) -> None:
    """policyTypes, or Ingress plus Egress when egress has at least one rule."""
    rules = run(policy("p", **{"podSelector": app("web"), **spec}))
    assert (rules[WEB.ip].ingress is not None) == ingress_isolated
    assert (rules[WEB.ip].egress is not None) == egress_isolated


def test_egress_only_policy_denies_what_its_rules_do_not_name() -> None:
    """Egress-isolated: only the named peers and ports are reachable; ingress stays open."""
    rules = run(
        policy("out", podSelector=app("api"), policyTypes=["Egress"],
               egress=[{"to": [{"podSelector": app("db")}], "ports": [{"port": "pg"}]}])
    )  # fmt: skip
    assert can(rules, API.ip, DB.ip, "TCP", 5432)
    assert not can(rules, API.ip, DB.ip, "TCP", 80) and not can(rules, API.ip, WEB.ip, "TCP", 5432)
    assert can(rules, MON.ip, API.ip, "TCP", 1234)


def test_label_changes_show_on_the_next_evaluation() -> None:
    """Relabel a pod: it leaves one policy's selection and its peers' allow lists."""
    allow_api = policy(
        "db", podSelector=app("db"), ingress=[{"from": [{"podSelector": app("api")}]}]
    )
    before = evaluate([allow_api], PODS, NAMESPACES)
    assert can(before, API.ip, DB.ip)
    api_renamed = PodInfo(API.namespace, API.name, API.ip, {"app": "batch"})
    db_renamed = PodInfo(DB.namespace, DB.name, DB.ip, {"app": "store"}, DB.ports)
    after = evaluate([allow_api], [WEB, api_renamed, DB], NAMESPACES)
    assert not can(after, API.ip, DB.ip)
    assert evaluate([allow_api], [api_renamed, db_renamed], NAMESPACES) == {}
    ops_renamed = evaluate(
        [policy("db", podSelector=app("db"), ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}]}])],
        PODS, {"ops": {"team": "retired"}},
    )  # fmt: skip
    assert not can(ops_renamed, MON.ip, DB.ip)


@pytest.mark.parametrize(
    "rule",
    [
        {"from": [{"ipBlock": {"cidr": "10.250.0.0/33"}}]},
        {"from": [{"ipBlock": {"cidr": "fd00::/64"}}]},
        {"from": [{"ipBlock": {"cidr": "10.250.0.0/24", "except": "10.250.0.8/29"}}]},
        {"from": [{"ipBlock": {"cidr": "10.250.0.0/24"}, "podSelector": {}}]},
        {"from": [{}]},
        {"from": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}}]},
        {"from": [{"podSelector": {"matchLabels": "app=api"}}]},
        {"from": "everyone"},
        {"ports": [{"protocol": "ICMP"}]},
        {"ports": [{"port": 0}, {"port": 70000}, {"port": 90, "endPort": 80}, {"port": True}]},
        {"ports": [{"port": "http", "endPort": 9000}, {"endPort": 80}]},
    ],
    ids=["bad-cidr", "ipv6", "except-not-a-list", "block-with-selector", "empty-peer",
         "bad-operator", "bad-match-labels", "peers-not-a-list", "unknown-protocol",
         "bad-numbers", "bad-ranges"],
)  # fmt: skip
def test_malformed_rule_parts_match_nothing(rule: dict[str, Any]) -> None:
    """A malformed rule never raises and admits nothing (the pod stays isolated)."""
    rules = run(policy("db", podSelector=app("db"), ingress=[rule]))
    assert rules[DB.ip].ingress == ()


def test_malformed_policies_are_skipped() -> None:
    """Policies without a namespace, with a bad podSelector or not even a dict select nothing."""
    broken: list[Any] = [
        {"metadata": {"name": "x"}, "spec": {"podSelector": {}}},
        policy("bad", podSelector={"matchExpressions": [{"key": "app"}]}),
        {"metadata": {"namespace": "shop"}, "spec": None},
        "not a policy",
    ]
    assert evaluate(broken, PODS, NAMESPACES) == {}


def test_rules_are_merged_by_port_set_and_sorted() -> None:
    """Rules with the same ports share one Allow, allow-all absorbs the rest; order-free."""
    policies = [
        policy("a", podSelector=app("db"), ingress=[{"from": [{"podSelector": app("api")}], "ports": [{"port": 5432}]}]),
        policy("b", podSelector=app("db"), ingress=[{"from": [{"podSelector": app("web")}], "ports": [{"port": 5432}]}]),
        policy("c", podSelector=app("db"), ingress=[{"from": [{"podSelector": app("web")}]}]),
    ]  # fmt: skip
    rules = evaluate(policies, PODS, NAMESPACES)
    assert rules[DB.ip].ingress == (
        Allow(frozenset({WEB.ip})),
        Allow(frozenset({WEB.ip, API.ip}), ports=(PortRange("TCP", 5432, 5432),)),
    )
    assert evaluate(policies[::-1], PODS[::-1], NAMESPACES) == rules
    assert list(run(DENY_INGRESS)) == [WEB.ip, API.ip, DB.ip, AGENT.ip]
    open_door = policy("open", podSelector=app("db"), ingress=[{}])
    assert evaluate([*policies, open_door], PODS, NAMESPACES)[DB.ip].ingress == (
        Allow(any_peer=True),
    )


def pod(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "metadata": {"namespace": "shop", "name": "web", "labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 81}]}],
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]},
                {"name": "init", "ports": [{"name": "setup", "containerPort": 9}]},
            ],
        },
        "status": {"phase": "Running", "podIP": "10.250.0.10"},
    }  # fmt: skip
    for key, value in over.items():
        base[key] = {**base[key], **value}
    return base


def test_pod_info_keeps_address_labels_and_named_ports() -> None:
    """Containers' and sidecars' named ports (TCP by default); init containers' are not."""
    assert pod_info(pod()) == PodInfo(
        "shop", "web", "10.250.0.10", {"app": "web"},
        (NamedPort("http", "TCP", 8080), NamedPort("dns", "UDP", 53)),
    )  # fmt: skip


@pytest.mark.parametrize(
    "over",
    [
        {"status": {"podIP": None}},
        {"status": {"phase": "Succeeded"}},
        {"status": {"phase": "Failed"}},
        {"spec": {"hostNetwork": True}},
        {"status": {"podIP": "fd00::5"}},
    ],
    ids=["no-ip", "succeeded", "failed", "host-network", "ipv6"],
)
def test_pod_info_skips_pods_outside_the_pod_network(over: dict[str, Any]) -> None:
    """No IPv4 pod address, host network, or finished: nothing to enforce."""
    assert pod_info(pod(**over)) is None


def test_pod_info_is_a_hashable_value() -> None:
    """Equal pods compare equal and hash alike (the agent compares old and new)."""
    assert pod_info(pod()) == pod_info(pod())
    assert len({pod_info(pod()), pod_info(pod())}) == 1
    assert pod_info(pod()) != pod_info(pod(metadata={"labels": {"app": "api"}}))
