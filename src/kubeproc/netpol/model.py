"""NetworkPolicy semantics (networking.k8s.io/v1) as pure functions: what each pod may do.

``evaluate`` takes every policy, pod and namespace and returns, per isolated pod, the
traffic it admits (``PodRules``): ``ingress``/``egress`` is ``None`` where no policy
isolates the pod in that direction (everything is allowed), else the union of the allow
rules of every policy selecting it (``()``: isolated, nothing allowed). ``nftrules``
renders the result; the agent feeds both. Nothing here does I/O.

Choices where the API leaves room (each follows what the API reference and upstream's
e2e suite require, and is conservative elsewhere):

- An ``ipBlock`` matches addresses, pods' included: a block covering a pod's IP admits it
  whatever its labels, as in upstream's CIDR e2e cases.
- A named port is only known on a pod. For ingress it is resolved on the selected pod
  itself. For egress it is resolved on each destination pod, so one rule can admit a
  different number per peer. With an ``ipBlock`` or "any peer" destination, a named port
  admits the known pods (and ``peers_only`` endpoints) the peer covers, each on its own
  resolved port, and never an address we know no pod for: there is nothing to resolve.
- A malformed piece (bad CIDR, unknown protocol, bad selector, a port out of range, an
  ``endPort`` without a numeric ``port``) matches nothing; it never raises. A rule whose
  ``ports`` were listed but none is usable admits nothing, not everything.
- Only IPv4 is enforced: pods and blocks with IPv6 addresses take no part.
- Two pods with one address (a stale record) are resolved by name order: the first wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kubeproc.api.errors import BadRequest
from kubeproc.api.selectors import LabelSelector
from kubeproc.netpol.pods import PodInfo, ipv4

PROTOCOLS = ("TCP", "UDP", "SCTP")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
ALL_PORTS = (0, 65535)
"""The range a port entry without a port stands for (every port of its protocol)."""


@dataclass(frozen=True, order=True)
class PortRange:
    """``first``..``last`` of one protocol; ``ALL_PORTS`` is the whole protocol."""

    protocol: str
    first: int
    last: int


@dataclass(frozen=True, order=True)
class IpBlock:
    """A normalized IPv4 ``cidr`` minus the ``excepts`` (collapsed, sorted)."""

    cidr: str
    excepts: tuple[str, ...] = ()

    def contains(self, ip: str) -> bool:
        addr = ipaddress.IPv4Address(ip)
        if addr not in ipaddress.IPv4Network(self.cidr):
            return False
        return not any(addr in ipaddress.IPv4Network(e) for e in self.excepts)


@dataclass(frozen=True)
class Allow:
    """Traffic from (ingress) or to (egress) these peers on these ports.

    The peers are the union of ``peer_ips``, ``cidrs`` and, with ``any_peer``, every
    address; empty ``ports`` means every port and protocol.
    """

    peer_ips: frozenset[str] = frozenset()
    cidrs: tuple[IpBlock, ...] = ()
    any_peer: bool = False
    ports: tuple[PortRange, ...] = ()


@dataclass(frozen=True)
class PodRules:
    """One pod's verdicts: ``None`` is not isolated; ``()`` is isolated, nothing allowed."""

    pod: PodInfo
    ingress: tuple[Allow, ...] | None
    egress: tuple[Allow, ...] | None


# -- the pieces of a policy ----------------------------------------------------------------


def _selector(obj: object) -> LabelSelector | None:
    """A ``metav1.LabelSelector``; ``None`` when it is malformed (it then selects nothing)."""
    if not isinstance(obj, dict):
        return None
    try:
        return LabelSelector.from_label_selector_object(obj)
    except (BadRequest, ValueError, TypeError, AttributeError):
        return None


def _ip_block(obj: object) -> IpBlock | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("except") or [], list):
        return None
    try:
        cidr = ipaddress.IPv4Network(str(obj.get("cidr")), strict=False)
        excepts = [ipaddress.IPv4Network(str(e), strict=False) for e in obj.get("except") or []]
    except ValueError:
        return None
    collapsed = sorted(ipaddress.collapse_addresses(excepts))
    return IpBlock(str(cidr), tuple(str(e) for e in collapsed))


def _normalize(ranges: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Sorted, with overlapping or adjacent ranges of one protocol merged."""
    merged: list[PortRange] = []
    for r in sorted(ranges):
        last = merged[-1] if merged else None
        if last is not None and last.protocol == r.protocol and r.first <= last.last + 1:
            merged[-1] = PortRange(r.protocol, last.first, max(last.last, r.last))
        else:
            merged.append(r)
    return tuple(merged)


@dataclass(frozen=True)
class _Ports:
    """A rule's ``ports``: numeric ranges, and names still to resolve on a pod."""

    every: bool = False
    """No ports listed: every port and protocol."""
    ranges: tuple[PortRange, ...] = ()
    named: frozenset[tuple[str, str]] = frozenset()
    """(protocol, name) pairs."""

    def on(self, pod: PodInfo) -> tuple[PortRange, ...]:
        """The numbers this spec means on ``pod`` (numeric ones plus names it resolves)."""
        return _normalize((*self.ranges, *self.named_on(pod)))

    def named_on(self, pod: PodInfo) -> tuple[PortRange, ...]:
        found = [p for p in pod.ports if (p.protocol, p.name) in self.named]
        return _normalize(PortRange(p.protocol, p.port, p.port) for p in found)


def _port_entry(entry: object) -> PortRange | tuple[str, str] | None:
    """One ``NetworkPolicyPort``: a range, a (protocol, name) pair, or None if unusable."""
    if not isinstance(entry, dict):
        return None
    protocol, port, end = entry.get("protocol") or "TCP", entry.get("port"), entry.get("endPort")
    if protocol not in PROTOCOLS:
        return None
    if port is None:
        return PortRange(protocol, *ALL_PORTS) if end is None else None
    if isinstance(port, str):
        return (protocol, port) if port and end is None else None
    last = port if end is None else end
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (port, last)):
        return None
    return PortRange(protocol, port, last) if 1 <= port <= last <= 65535 else None


def _ports(obj: object) -> _Ports:
    if not obj:
        return _Ports(every=True)
    if not isinstance(obj, list):
        return _Ports()
    ranges: list[PortRange] = []
    named: set[tuple[str, str]] = set()
    for entry in obj:
        parsed = _port_entry(entry)
        if isinstance(parsed, PortRange):
            ranges.append(parsed)
        elif parsed is not None:
            named.add(parsed)
    return _Ports(ranges=_normalize(ranges), named=frozenset(named))


# -- peers ---------------------------------------------------------------------------------


class _Cluster:
    """The pods policies may select (targets) and match as peers (targets plus peers_only)."""

    def __init__(
        self,
        targets: list[PodInfo],
        peers_only: list[PodInfo],
        namespaces: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.targets = [(pod, dict(pod.labels)) for pod in targets]
        self.endpoints = [*self.targets, *((pod, dict(pod.labels)) for pod in peers_only)]
        self._namespaces = namespaces
        self._ns_labels: dict[str, dict[str, str]] = {}

    def namespace_labels(self, name: str) -> dict[str, str]:
        """A namespace's labels; the API server always sets the name label, so we do too."""
        labels = self._ns_labels.get(name)
        if labels is None:
            labels = {**self._namespaces.get(name, {}), NAMESPACE_NAME_LABEL: name}
            self._ns_labels[name] = labels
        return labels


@dataclass(frozen=True)
class _Peers:
    """A rule's ``from``/``to``: known pods, address blocks, or anyone."""

    pods: tuple[PodInfo, ...] = ()
    blocks: tuple[IpBlock, ...] = ()
    any_peer: bool = False

    @property
    def empty(self) -> bool:
        return not (self.pods or self.blocks or self.any_peer)

    @property
    def ips(self) -> frozenset[str]:
        return frozenset(pod.ip for pod in self.pods)


def _peer_pods(peer: dict[str, Any], namespace: str, cluster: _Cluster) -> Iterator[PodInfo]:
    """The pods one selector peer matches (``namespace``: the policy's own)."""
    raw_pods, raw_ns = peer.get("podSelector"), peer.get("namespaceSelector")
    if raw_pods is None and raw_ns is None:
        return  # a peer with nothing in it is invalid
    pod_sel = _selector({} if raw_pods is None else raw_pods)
    ns_sel = None if raw_ns is None else _selector(raw_ns)
    if pod_sel is None or (raw_ns is not None and ns_sel is None):
        return
    for pod, labels in cluster.endpoints:
        if ns_sel is None:
            in_scope = pod.namespace == namespace
        else:
            in_scope = ns_sel.matches(cluster.namespace_labels(pod.namespace))
        if in_scope and pod_sel.matches(labels):
            yield pod


def _peers(obj: object, namespace: str, cluster: _Cluster) -> _Peers:
    if not obj:
        return _Peers(any_peer=True)
    if not isinstance(obj, list):
        return _Peers()
    pods: dict[str, PodInfo] = {}
    blocks: set[IpBlock] = set()
    for peer in obj:
        if not isinstance(peer, dict):
            continue
        if peer.get("ipBlock") is not None:
            # ipBlock excludes the selectors; a peer with both is invalid.
            alone = peer.get("podSelector") is None and peer.get("namespaceSelector") is None
            if alone and (block := _ip_block(peer["ipBlock"])) is not None:
                blocks.add(block)
            continue
        pods.update((pod.ip, pod) for pod in _peer_pods(peer, namespace, cluster))
    return _Peers(tuple(pods.values()), tuple(sorted(blocks)))


# -- rules and policies --------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    peers: _Peers
    ports: _Ports


def _rules(obj: object, peer_key: str, namespace: str, cluster: _Cluster) -> list[_Rule]:
    if not isinstance(obj, list):
        return []
    return [
        _Rule(_peers(rule.get(peer_key), namespace, cluster), _ports(rule.get("ports")))
        for rule in obj
        if isinstance(rule, dict)
    ]


def _policy_types(spec: Mapping[str, Any]) -> set[str]:
    """``policyTypes``, or its default: Ingress, plus Egress when there is an egress rule."""
    types = spec.get("policyTypes")
    if isinstance(types, list) and types:
        return {t for t in types if isinstance(t, str)}
    egress = spec.get("egress")
    return {"Ingress", *(["Egress"] if isinstance(egress, list) and egress else [])}


def _ingress_allow(rule: _Rule, pod: PodInfo) -> Allow | None:
    """What ``rule`` admits into ``pod`` (its named ports are the pod's own)."""
    ports = () if rule.ports.every else rule.ports.on(pod)
    if rule.peers.empty or (not rule.ports.every and not ports):
        return None
    return Allow(rule.peers.ips, rule.peers.blocks, rule.peers.any_peer, ports)


def _egress_allows(rule: _Rule, cluster: _Cluster) -> Iterator[Allow]:
    """What ``rule`` lets a selected pod reach (named ports resolved on each destination)."""
    peers, ports = rule.peers, rule.ports
    if peers.empty:
        return
    if ports.every:
        yield Allow(peers.ips, peers.blocks, peers.any_peer)
        return
    for pod in peers.pods:
        if numbers := ports.on(pod):
            yield Allow(frozenset({pod.ip}), ports=numbers)
    if not (peers.blocks or peers.any_peer):
        return
    if ports.ranges:
        yield Allow(cidrs=peers.blocks, any_peer=peers.any_peer, ports=ports.ranges)
    if ports.named:
        for pod, _ in cluster.endpoints:
            covered = peers.any_peer or any(b.contains(pod.ip) for b in peers.blocks)
            if covered and (numbers := ports.named_on(pod)):
                yield Allow(frozenset({pod.ip}), ports=numbers)


def _apply(
    policy: object,
    cluster: _Cluster,
    ingress: dict[str, list[Allow]],
    egress: dict[str, list[Allow]],
) -> None:
    """Add what ``policy`` isolates and allows to ``ingress``/``egress`` (by pod IP)."""
    if not isinstance(policy, dict):
        return
    meta, spec = policy.get("metadata"), policy.get("spec")
    if not isinstance(meta, dict) or not isinstance(spec, dict):
        return
    namespace = meta.get("namespace")
    raw_selector = spec.get("podSelector")
    selector = _selector({} if raw_selector is None else raw_selector)
    if not isinstance(namespace, str) or selector is None:
        return
    selected = [
        pod
        for pod, labels in cluster.targets
        if pod.namespace == namespace and selector.matches(labels)
    ]
    if not selected:
        return
    types = _policy_types(spec)
    if "Ingress" in types:
        rules = _rules(spec.get("ingress"), "from", namespace, cluster)
        for pod in selected:
            allows = (_ingress_allow(rule, pod) for rule in rules)
            ingress.setdefault(pod.ip, []).extend(a for a in allows if a is not None)
    if "Egress" in types:
        rules = _rules(spec.get("egress"), "to", namespace, cluster)
        reach = [a for rule in rules for a in _egress_allows(rule, cluster)]
        for pod in selected:
            egress.setdefault(pod.ip, []).extend(reach)


def _merged(allows: list[Allow] | None) -> tuple[Allow, ...] | None:
    """One ``Allow`` per distinct port set, peers united, sorted by ports."""
    if allows is None:
        return None
    ips: dict[tuple[PortRange, ...], set[str]] = {}
    blocks: dict[tuple[PortRange, ...], set[IpBlock]] = {}
    anyone: set[tuple[PortRange, ...]] = set()
    for allow in allows:
        ips.setdefault(allow.ports, set()).update(allow.peer_ips)
        blocks.setdefault(allow.ports, set()).update(allow.cidrs)
        if allow.any_peer:
            anyone.add(allow.ports)
    if () in anyone:
        return (Allow(any_peer=True),)  # everything is allowed: the rest adds nothing
    return tuple(
        Allow(any_peer=True, ports=ports)
        if ports in anyone
        else Allow(frozenset(ips[ports]), tuple(sorted(blocks[ports])), ports=ports)
        for ports in sorted(ips)
    )


def _by_address(pods: Iterable[PodInfo], taken: Iterable[str] = ()) -> list[PodInfo]:
    """Pods with a usable IPv4 address, one per address (first by namespace/name)."""
    seen = set(taken)
    unique: list[PodInfo] = []
    for pod in sorted(pods, key=lambda p: (p.namespace, p.name, p.ip)):
        if ipv4(pod.ip) == pod.ip and pod.ip not in seen:
            seen.add(pod.ip)
            unique.append(pod)
    return unique


def evaluate(
    policies: Iterable[dict[str, Any]],
    pods: Iterable[PodInfo],
    namespaces: Mapping[str, Mapping[str, str]],
    *,
    peers_only: Iterable[PodInfo] = (),
) -> dict[str, PodRules]:
    """Every isolated pod's rules, by pod IP (pods no policy isolates are left out).

    ``namespaces`` maps names to labels; ``peers_only`` endpoints (the cluster DNS
    server) match as peers but are never selected as targets.
    """
    targets = _by_address(pods)
    extra = _by_address(peers_only, taken=(pod.ip for pod in targets))
    cluster = _Cluster(targets, extra, namespaces)
    ingress: dict[str, list[Allow]] = {}
    egress: dict[str, list[Allow]] = {}
    for policy in policies:
        _apply(policy, cluster, ingress, egress)
    return {
        pod.ip: PodRules(pod, _merged(ingress.get(pod.ip)), _merged(egress.get(pod.ip)))
        for pod in sorted(targets, key=lambda p: ipaddress.IPv4Address(p.ip))
        if pod.ip in ingress or pod.ip in egress
    }
