"""The cluster zone, as CoreDNS's kubernetes plugin answers it, built from API objects.

Pure: ``ClusterRecords.build`` takes Service and EndpointSlice dicts (and the namespace
names) and indexes every name the zone holds by its lower-cased form, so a lookup is a
dict probe plus a few label checks. The agent rebuilds it after a change; nothing here
is updated in place.

The names follow the Kubernetes DNS spec and CoreDNS's reading of it (``pods insecure``):

- ``<svc>.<ns>.svc.<zone>``: A = the cluster IP; headless: one A per ready endpoint;
  ExternalName: a CNAME (the target is not chased). SRV: every port of the Service.
- ``_<port>._<proto>.<svc>.<ns>.svc.<zone>``: SRV for that named port, A as above.
- ``<hostname or a-b-c-d>.<svc>.<ns>.svc.<zone>``: the endpoint's A (and SRV per port).
  CoreDNS answers endpoint names for every Service with endpoints, not only headless.
- ``<a-b-c-d>.<ns>.pod.<zone>``: A a.b.c.d, for any namespace that exists.
- ``d.c.b.a.in-addr.arpa``: PTR to the Service name for a cluster IP, else to the
  endpoint name; a reverse name of an address not in the cluster is not ours.

A name that exists without the asked type gets NODATA (NOERROR, no answers, the SOA in
authority); the apex, ``svc``/``pod`` and an existing namespace under them are such empty
non-terminals. Any other name in the zone is NXDOMAIN, as is a headless Service with no
ready endpoint (CoreDNS has nothing to return and says so). Everything outside the zone
and the known reverse names is ``None``: the server forwards it.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kubeproc.dns.names import WireError, labels_of
from kubeproc.dns.wire import SOA, SRV, A, Rcode, Record, RRType, Target

Json = dict[str, Any]
TTL = 5
"""Seconds. CoreDNS's kubeadm default is 30; endpoints here change within milliseconds of
a readiness flip, so a resolver should not keep an old headless answer for long."""
LABEL_SERVICE_NAME = "kubernetes.io/service-name"
REVERSE_SUFFIX = ".in-addr.arpa"


@dataclass(frozen=True)
class Answer:
    rcode: Rcode
    answers: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()


@dataclass
class _Node:
    """What one name holds; built up while indexing, read-only afterwards."""

    addresses: list[str] = field(default_factory=list)
    srv: list[tuple[int, str]] = field(default_factory=list)
    """(port, target name) pairs, in the order the API objects list them."""
    cname: str | None = None

    def add_address(self, ip: str) -> None:
        if ip not in self.addresses:
            self.addresses.append(ip)

    def add_srv(self, port: int, target: str) -> None:
        if (port, target) not in self.srv:
            self.srv.append((port, target))


@dataclass(frozen=True)
class _Endpoint:
    ip: str
    host: str
    ports: tuple[tuple[str, str, int], ...]
    """(name, protocol lower-cased, port) from the endpoint's slice."""


def _ipv4(value: object) -> str | None:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        return None


def _encodable(name: str) -> bool:
    try:
        labels_of(name)
    except WireError:
        return False
    return True


def _cluster_ipv4(spec: Json) -> str | None:
    ips = spec.get("clusterIPs") or [spec.get("clusterIP")]
    for ip in ips:
        found = _ipv4(ip)
        if found is not None:
            return found
    return None


def _ready_endpoints(svc: Json, slices: Iterable[Json]) -> list[_Endpoint]:
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    found: list[_Endpoint] = []
    for eps in slices:
        if eps.get("addressType") != "IPv4":
            continue
        ports = tuple(
            (str(p.get("name") or ""), str(p.get("protocol") or "TCP").lower(), int(p["port"]))
            for p in eps.get("ports") or []
            if isinstance(p.get("port"), int)
        )
        for endpoint in eps.get("endpoints") or []:
            if not publish and (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            for address in endpoint.get("addresses") or []:
                ip = _ipv4(address)
                if ip is None:
                    continue
                host = str(endpoint.get("hostname") or ip.replace(".", "-")).lower()
                found.append(_Endpoint(ip, host, ports))
    return found


class ClusterRecords:
    """The zone's names; ``lookup`` answers one question or says it is not ours."""

    def __init__(self, domain: str = "cluster.local", *, serial: int = 1) -> None:
        self.domain = domain.strip(".").lower()
        self.serial = serial & 0xFFFFFFFF
        self._nodes: dict[str, _Node] = defaultdict(_Node)
        self._reverse: dict[str, str] = {}
        self._namespaces: set[str] = set()

    @classmethod
    def build(
        cls,
        services: Iterable[Json],
        slices: Iterable[Json],
        *,
        namespaces: Iterable[str] | None = None,
        domain: str = "cluster.local",
        serial: int = 1,
    ) -> ClusterRecords:
        """The zone for these objects; ``namespaces`` None means those of the Services."""
        records = cls(domain, serial=serial)
        by_service: dict[tuple[str, str], list[Json]] = defaultdict(list)
        for eps in slices:
            meta = eps.get("metadata") or {}
            owner = (meta.get("labels") or {}).get(LABEL_SERVICE_NAME)
            if owner:
                by_service[(str(meta.get("namespace") or ""), str(owner))].append(eps)
        named: list[tuple[str, str, Json]] = []
        for svc in services:
            meta = svc.get("metadata") or {}
            if meta.get("name") and meta.get("namespace"):
                named.append((str(meta["namespace"]), str(meta["name"]), svc))
        named.sort(key=lambda entry: entry[:2])
        for namespace, name, svc in named:
            endpoints = _ready_endpoints(svc, by_service.get((namespace, name), []))
            records._add_service(namespace, name, svc.get("spec") or {}, endpoints)
            records._namespaces.add(namespace.lower())
        if namespaces is not None:
            records._namespaces = {ns.lower() for ns in namespaces}
        records._nodes = dict(records._nodes)  # lookups must not create names
        return records

    # -- building -----------------------------------------------------------------------

    def _add_service(
        self, namespace: str, name: str, spec: Json, endpoints: list[_Endpoint]
    ) -> None:
        base = f"{name}.{namespace}.svc.{self.domain}".lower()
        if spec.get("type") == "ExternalName":
            target = str(spec.get("externalName") or "").strip(".").lower()
            if target and _ipv4(target) is None and _encodable(target):
                self._nodes[base].cname = target
            return
        cluster_ip = _cluster_ipv4(spec)
        if cluster_ip is not None:
            self._add_cluster_ip(base, cluster_ip, spec.get("ports") or [])
        for endpoint in endpoints:
            self._add_endpoint(base, endpoint, headless=cluster_ip is None)

    def _add_cluster_ip(self, base: str, ip: str, ports: list[Json]) -> None:
        self._nodes[base].add_address(ip)
        self._reverse.setdefault(ip, base)
        for port in ports:
            number = port.get("port")
            if not isinstance(number, int):
                continue
            self._nodes[base].add_srv(number, base)
            if port.get("name"):
                proto = str(port.get("protocol") or "TCP").lower()
                named = self._nodes[f"_{port['name']}._{proto}.{base}".lower()]
                named.add_address(ip)
                named.add_srv(number, base)

    def _add_endpoint(self, base: str, endpoint: _Endpoint, *, headless: bool) -> None:
        name = f"{endpoint.host}.{base}"
        self._nodes[name].add_address(endpoint.ip)
        self._reverse.setdefault(endpoint.ip, name)
        for port_name, proto, number in endpoint.ports:
            self._nodes[name].add_srv(number, name)
            if not headless:
                continue  # a cluster-IP Service's own names carry its ports, not these
            self._nodes[base].add_srv(number, name)
            if port_name:
                named = self._nodes[f"_{port_name}._{proto}.{base}".lower()]
                named.add_address(endpoint.ip)
                named.add_srv(number, name)
        if headless:
            self._nodes[base].add_address(endpoint.ip)

    # -- answering ----------------------------------------------------------------------

    def soa(self) -> Record:
        data = SOA(
            f"ns.dns.{self.domain}",
            f"hostmaster.{self.domain}",
            self.serial,
            7200,
            1800,
            86400,
            TTL,
        )
        return Record(self.domain, RRType.SOA, TTL, data)

    def _nodata(self) -> Answer:
        return Answer(Rcode.NOERROR, authority=(self.soa(),))

    def _nxdomain(self) -> Answer:
        return Answer(Rcode.NXDOMAIN, authority=(self.soa(),))

    def lookup(self, qname: str, qtype: int) -> Answer | None:
        """The answer for one question, or None when the name is not the cluster's."""
        name = qname.rstrip(".").lower()
        if name.endswith(REVERSE_SUFFIX):
            return self._lookup_reverse(name, qtype)
        if name == self.domain:
            if qtype == RRType.SOA:
                return Answer(Rcode.NOERROR, (self.soa(),))
            return self._nodata()
        if not name.endswith("." + self.domain):
            return None
        node = self._nodes.get(name)
        if node is not None:
            return self._answer(name, node, qtype)
        return self._lookup_structural(name.removesuffix("." + self.domain).split("."), qtype)

    def _lookup_structural(self, labels: list[str], qtype: int) -> Answer:
        """Names no Service put in the index: the empty non-terminals and pod names."""
        if labels in (["svc"], ["pod"]):
            return self._nodata()
        if len(labels) < 2 or labels[-1] not in ("svc", "pod"):
            return self._nxdomain()
        if labels[-2] not in self._namespaces:
            return self._nxdomain()
        if len(labels) == 2:
            return self._nodata()
        if labels[-1] == "pod" and len(labels) == 3:
            dotted = labels[0].replace("-", ".")
            ip = _ipv4(dotted) if labels[0].count("-") == 3 else None
            if ip is not None and ip == dotted:
                return self._answer(".".join(labels) + "." + self.domain, _Node([ip]), qtype)
        return self._nxdomain()

    def _answer(self, name: str, node: _Node, qtype: int) -> Answer:
        if node.cname is not None:
            return Answer(Rcode.NOERROR, (Record(name, RRType.CNAME, TTL, Target(node.cname)),))
        if qtype in (RRType.A, RRType.ANY) and node.addresses:
            return Answer(
                Rcode.NOERROR, tuple(Record(name, RRType.A, TTL, A(ip)) for ip in node.addresses)
            )
        if qtype == RRType.SRV and node.srv:
            weight = max(1, 100 // len(node.srv))
            answers = tuple(
                Record(name, RRType.SRV, TTL, SRV(0, weight, port, target))
                for port, target in node.srv
            )
            targets = dict.fromkeys(target for _, target in node.srv)
            extra = tuple(
                Record(target, RRType.A, TTL, A(ip))
                for target in targets
                for ip in self._nodes.get(target, _Node()).addresses
            )
            return Answer(Rcode.NOERROR, answers, additional=extra)
        return self._nodata()

    def _lookup_reverse(self, name: str, qtype: int) -> Answer | None:
        octets = name.removesuffix(REVERSE_SUFFIX).split(".")
        if len(octets) != 4:
            return None
        target = self._reverse.get(".".join(reversed(octets)))
        if target is None:
            return None
        if qtype not in (RRType.PTR, RRType.ANY):
            return self._nodata()
        return Answer(Rcode.NOERROR, (Record(name, RRType.PTR, TTL, Target(target)),))
