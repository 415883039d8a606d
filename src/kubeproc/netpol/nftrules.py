"""The node's NetworkPolicy table, rendered from ``model.evaluate``'s rules (pure).

One ``ip`` table, replaced whole in one transaction, so a packet meets either the old
rules or the new ones:

- ``filter-forward`` (pod to pod, bridged or routed through a Service VIP after DNAT) and
  ``filter-input`` (pod to node, the cluster DNS server on the gateway among them) see
  only packets that came in on the pod bridge; anything else, the node's own traffic to
  its pods included, is not ours (Kubernetes always allows the pod's node).
- Replies and related packets (``ct state established,related``) of a connection that
  was allowed pass; a new packet first meets its source's egress chain (verdict map
  ``egress-pods``, keyed by source address), then, on ``forward`` only, its
  destination's ingress chain (``ingress-pods``). Only isolated pods are in the maps.
- A pod's chain has one rule per allowed peer set and protocol, each ending in
  ``return`` (allowed in this direction; the base chain goes on), and a final ``drop``:
  what no policy allows is dropped, never rejected, so the connection hangs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kubeproc.netpol.model import ALL_PORTS, Allow, PodRules, PortRange

PRIORITY_FILTER = 0
INGRESS_MAP = "ingress-pods"
EGRESS_MAP = "egress-pods"


@dataclass(frozen=True)
class PolicyNftConfig:
    table: str
    bridge: str


def ingress_chain(ip: str) -> str:
    return f"ingress-{ip}"


def egress_chain(ip: str) -> str:
    return f"egress-{ip}"


def _set_literal(items: list[str]) -> str:
    """A bare value for one item (easier to read in ``nft list``), else an anonymous set."""
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _addresses(allow: Allow, field: str) -> list[str]:
    """The address matches of ``allow``, one per rule; ``[""]`` when any peer will do."""
    if allow.any_peer:
        return [""]
    matches: list[str] = []
    if allow.peer_ips:
        ips = sorted(allow.peer_ips, key=ipaddress.IPv4Address)
        matches.append(f"ip {field} {_set_literal(ips)}")
    for block in allow.cidrs:
        match = f"ip {field} {block.cidr}"
        if block.excepts:
            match += f" ip {field} != {{ {', '.join(block.excepts)} }}"
        matches.append(match)
    return matches


def _port_text(r: PortRange) -> str:
    return str(r.first) if r.first == r.last else f"{r.first}-{r.last}"


def _l4(ports: tuple[PortRange, ...]) -> list[str]:
    """The protocol and port matches, one per protocol; ``[""]`` for all traffic."""
    if not ports:
        return [""]
    by_protocol: dict[str, list[PortRange]] = {}
    for r in ports:
        by_protocol.setdefault(r.protocol.lower(), []).append(r)
    matches: list[str] = []
    for protocol, ranges in sorted(by_protocol.items()):
        if any((r.first, r.last) == ALL_PORTS for r in ranges):
            matches.append(f"meta l4proto {protocol}")
        else:
            dports = _set_literal([_port_text(r) for r in ranges])
            matches.append(f"meta l4proto {protocol} th dport {dports}")
    return matches


def _pod_chain(allows: tuple[Allow, ...], field: str) -> list[str]:
    rules = [
        " ".join(part for part in (addr, l4, "return") if part)
        for allow in allows
        for addr in _addresses(allow, field)
        for l4 in _l4(allow.ports)
    ]
    return [*rules, "drop"]


def _block(kind: str, name: str, body: Iterable[str]) -> list[str]:
    return [f"\t{kind} {name} {{", *(f"\t\t{line}" for line in body), "\t}"]


def _hook(hook: str) -> str:
    return f"type filter hook {hook} priority {PRIORITY_FILTER}; policy accept;"


def _map(name: str, elements: list[str]) -> list[str]:
    body = ["type ipv4_addr : verdict"]
    if elements:
        body += ["elements = {", *(f"\t{e}," for e in elements), "}"]
    return _block("map", name, body)


def render(rules: Mapping[str, PodRules], config: PolicyNftConfig) -> str:
    """An ``nft -f`` script replacing the table with ``rules`` (stable for equal input)."""
    ips = sorted(rules, key=ipaddress.IPv4Address)
    ingress = [ip for ip in ips if rules[ip].ingress is not None]
    egress = [ip for ip in ips if rules[ip].egress is not None]
    bridge = f'"{config.bridge}"'
    head = [
        f"iifname != {bridge} return",
        "ct state established,related accept",
        f"ip saddr vmap @{EGRESS_MAP}",
    ]
    lines = [
        f"table ip {config.table} {{}}",
        f"delete table ip {config.table}",
        f"table ip {config.table} {{",
        *_map(INGRESS_MAP, [f"{ip} : jump {ingress_chain(ip)}" for ip in ingress]),
        *_map(EGRESS_MAP, [f"{ip} : jump {egress_chain(ip)}" for ip in egress]),
        *_block(
            "chain",
            "filter-forward",
            [_hook("forward"), *head, f"ip daddr vmap @{INGRESS_MAP}"],
        ),
        *_block("chain", "filter-input", [_hook("input"), *head]),
    ]
    for ip in ips:
        pod = rules[ip]
        if pod.ingress is not None:
            lines += _block("chain", ingress_chain(ip), _pod_chain(pod.ingress, "saddr"))
        if pod.egress is not None:
            lines += _block("chain", egress_chain(ip), _pod_chain(pod.egress, "daddr"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def delete_script(table: str) -> str:
    """Remove the table if it is there (creating it first makes the delete never fail)."""
    return f"table ip {table} {{}}\ndelete table ip {table}\n"
