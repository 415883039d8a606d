"""The cluster zone: what each name answers, as CoreDNS's kubernetes plugin would."""

from __future__ import annotations

from typing import Any

import pytest

from kubeproc.dns.records import TTL, Answer, ClusterRecords
from kubeproc.dns.wire import SOA, SRV, A, Rcode, Record, RRType, Target

Json = dict[str, Any]
ZONE = "cluster.local"


def service(name: str, namespace: str = "default", **spec: Any) -> Json:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": "ClusterIP", **spec},
    }


def endpoint(ip: str, *, ready: bool | None = True, hostname: str | None = None) -> Json:
    found: Json = {"addresses": [ip], "conditions": {} if ready is None else {"ready": ready}}
    if hostname:
        found["hostname"] = hostname
    return found


def endpoint_slice(
    service_name: str,
    endpoints: list[Json],
    ports: list[Json] | None = None,
    *,
    namespace: str = "default",
    suffix: str = "1",
    address_type: str = "IPv4",
) -> Json:
    return {
        "metadata": {
            "name": f"{service_name}-{suffix}",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": address_type,
        "ports": ports if ports is not None else [{"name": "http", "port": 8080}],
        "endpoints": endpoints,
    }


HEADLESS_PORTS = [{"name": "http", "port": 8080, "protocol": "TCP"}]


@pytest.fixture
def zone() -> ClusterRecords:
    services = [
        service("kubernetes", clusterIP="10.96.0.1", ports=[{"name": "https", "port": 443}]),
        service(
            "web",
            clusterIP="10.96.0.10",
            clusterIPs=["10.96.0.10"],
            ports=[
                {"name": "http", "port": 80, "protocol": "TCP"},
                {"name": "dns", "port": 53, "protocol": "UDP"},
            ],
        ),
        service("db", "shop", clusterIP="None", ports=[{"name": "http", "port": 8080}]),
        service("late", "shop", clusterIP="None", publishNotReadyAddresses=True),
        service("empty", "shop", clusterIP="None"),
        service("ext", type="ExternalName", externalName="example.com."),
    ]
    slices = [
        endpoint_slice(
            "db",
            [
                endpoint("10.244.0.5", hostname="db-0"),
                endpoint("10.244.0.6"),
                endpoint("10.244.0.7", ready=False),
                endpoint("10.244.0.8", ready=None),
            ],
            HEADLESS_PORTS,
            namespace="shop",
        ),
        endpoint_slice("db", [], namespace="shop", suffix="v6", address_type="IPv6"),
        endpoint_slice("late", [endpoint("10.244.1.9", ready=False)], namespace="shop"),
        endpoint_slice("empty", [endpoint("10.244.1.10", ready=False)], namespace="shop"),
        endpoint_slice("web", [endpoint("10.244.2.2")], [{"name": "http", "port": 8080}]),
    ]
    return ClusterRecords.build(services, slices, namespaces=["default", "shop", "quiet"])


def ask(zone: ClusterRecords, name: str, qtype: int = RRType.A) -> Answer:
    answer = zone.lookup(name, qtype)
    assert answer is not None, f"{name} was not the cluster's"
    return answer


def addresses(answer: Answer) -> list[str]:
    assert answer.rcode == Rcode.NOERROR
    return [rr.data.address for rr in answer.answers if isinstance(rr.data, A)]


def srv(answer: Answer) -> list[tuple[int, int, str]]:
    return [
        (rr.data.weight, rr.data.port, rr.data.target)
        for rr in answer.answers
        if isinstance(rr.data, SRV)
    ]


def is_nodata(answer: Answer) -> bool:
    return (
        answer.rcode == Rcode.NOERROR
        and answer.answers == ()
        and [rr.rtype for rr in answer.authority] == [RRType.SOA]
    )


def is_nxdomain(answer: Answer) -> bool:
    return answer.rcode == Rcode.NXDOMAIN and [rr.rtype for rr in answer.authority] == [RRType.SOA]


def test_cluster_ip_service_answers_its_cluster_ip(zone: ClusterRecords) -> None:
    """A ClusterIP Service's name is one A record, the cluster IP, with a 5 s TTL."""
    answer = ask(zone, "web.default.svc.cluster.local")
    assert answer.answers == (
        Record("web.default.svc.cluster.local", RRType.A, TTL, A("10.96.0.10")),
    )
    assert TTL == 5


def test_names_are_case_insensitive_and_may_end_in_a_dot(zone: ClusterRecords) -> None:
    """Upper case and a trailing dot find the same Service."""
    assert addresses(ask(zone, "WEB.Default.SVC.Cluster.Local.")) == ["10.96.0.10"]


def test_headless_service_answers_ready_endpoints(zone: ClusterRecords) -> None:
    """One A per ready endpoint; ready unset counts as ready; not-ready ones are left out."""
    assert addresses(ask(zone, "db.shop.svc.cluster.local")) == [
        "10.244.0.5",
        "10.244.0.6",
        "10.244.0.8",
    ]


def test_publish_not_ready_addresses_answers_every_endpoint(zone: ClusterRecords) -> None:
    """publishNotReadyAddresses puts a not-ready endpoint in the answer."""
    assert addresses(ask(zone, "late.shop.svc.cluster.local")) == ["10.244.1.9"]


def test_headless_service_without_ready_endpoints_is_nxdomain(zone: ClusterRecords) -> None:
    """CoreDNS has no record for a headless Service with nothing ready: NXDOMAIN."""
    assert is_nxdomain(ask(zone, "empty.shop.svc.cluster.local"))


def test_endpoint_hostname_and_dashed_ip_names(zone: ClusterRecords) -> None:
    """An endpoint with a hostname is named by it; one without, by its dashed IP."""
    assert addresses(ask(zone, "db-0.db.shop.svc.cluster.local")) == ["10.244.0.5"]
    assert addresses(ask(zone, "10-244-0-6.db.shop.svc.cluster.local")) == ["10.244.0.6"]
    assert is_nxdomain(ask(zone, "10-244-0-5.db.shop.svc.cluster.local"))  # it has a hostname
    assert is_nxdomain(ask(zone, "10-244-0-7.db.shop.svc.cluster.local"))  # not ready


def test_named_port_srv_of_a_cluster_ip_service(zone: ClusterRecords) -> None:
    """One SRV to the Service name, the service port, the A in the additional section."""
    answer = ask(zone, "_http._tcp.web.default.svc.cluster.local", RRType.SRV)
    assert srv(answer) == [(100, 80, "web.default.svc.cluster.local")]
    assert [rr.data for rr in answer.additional] == [A("10.96.0.10")]
    assert srv(ask(zone, "_dns._udp.web.default.svc.cluster.local", RRType.SRV)) == [
        (100, 53, "web.default.svc.cluster.local")
    ]
    assert is_nxdomain(ask(zone, "_dns._tcp.web.default.svc.cluster.local", RRType.SRV))


def test_named_port_srv_of_a_headless_service(zone: ClusterRecords) -> None:
    """One SRV per ready endpoint to its own name, the endpoint port, A records added."""
    answer = ask(zone, "_http._tcp.db.shop.svc.cluster.local", RRType.SRV)
    assert srv(answer) == [
        (33, 8080, "db-0.db.shop.svc.cluster.local"),
        (33, 8080, "10-244-0-6.db.shop.svc.cluster.local"),
        (33, 8080, "10-244-0-8.db.shop.svc.cluster.local"),
    ]
    assert {(rr.name, rr.data) for rr in answer.additional} == {
        ("db-0.db.shop.svc.cluster.local", A("10.244.0.5")),
        ("10-244-0-6.db.shop.svc.cluster.local", A("10.244.0.6")),
        ("10-244-0-8.db.shop.svc.cluster.local", A("10.244.0.8")),
    }


def test_plain_srv_lists_every_port(zone: ClusterRecords) -> None:
    """SRV for the Service name itself answers all its ports, as CoreDNS does."""
    assert srv(ask(zone, "web.default.svc.cluster.local", RRType.SRV)) == [
        (50, 80, "web.default.svc.cluster.local"),
        (50, 53, "web.default.svc.cluster.local"),
    ]


def test_external_name_is_a_cname_for_any_type(zone: ClusterRecords) -> None:
    """ExternalName answers a CNAME to its target and does not chase it."""
    for qtype in (RRType.A, RRType.AAAA, RRType.CNAME):
        answer = ask(zone, "ext.default.svc.cluster.local", qtype)
        assert answer.answers == (
            Record("ext.default.svc.cluster.local", RRType.CNAME, TTL, Target("example.com")),
        )


def test_pod_names_in_existing_namespaces(zone: ClusterRecords) -> None:
    """a-b-c-d.<ns>.pod answers a.b.c.d in a namespace that exists, else NXDOMAIN."""
    assert addresses(ask(zone, "10-244-3-4.quiet.pod.cluster.local")) == ["10.244.3.4"]
    assert is_nxdomain(ask(zone, "10-244-3-4.nowhere.pod.cluster.local"))
    assert is_nxdomain(ask(zone, "10-244-3.quiet.pod.cluster.local"))
    assert is_nxdomain(ask(zone, "10-244-3-400.quiet.pod.cluster.local"))
    assert is_nodata(ask(zone, "10-244-3-4.quiet.pod.cluster.local", RRType.AAAA))


def test_existing_names_without_the_type_are_nodata(zone: ClusterRecords) -> None:
    """AAAA, MX or TXT for an existing name: NOERROR, no answers, the SOA."""
    for qtype in (RRType.AAAA, 15, 16, RRType.PTR):
        assert is_nodata(ask(zone, "web.default.svc.cluster.local", qtype))
    soa = ask(zone, "web.default.svc.cluster.local", RRType.AAAA).authority[0]
    assert soa.name == ZONE and isinstance(soa.data, SOA) and soa.data.minimum == TTL


@pytest.mark.parametrize(
    "name",
    [
        "cluster.local",
        "svc.cluster.local",
        "pod.cluster.local",
        "default.svc.cluster.local",
        "quiet.svc.cluster.local",
        "shop.pod.cluster.local",
    ],
)
def test_empty_non_terminals_are_nodata(zone: ClusterRecords, name: str) -> None:
    """The apex, svc, pod and an existing namespace under them exist without records."""
    assert is_nodata(ask(zone, name))


@pytest.mark.parametrize(
    "name",
    [
        "nowhere.svc.cluster.local",
        "missing.default.svc.cluster.local",
        "kubernetes.default.default.svc.cluster.local",
        "a.b.c.web.default.svc.cluster.local",
        "foo.cluster.local",
        "web.default.cluster.local",
    ],
)
def test_names_that_do_not_exist_are_nxdomain(zone: ClusterRecords, name: str) -> None:
    """Anything else in the zone is NXDOMAIN with the SOA."""
    assert is_nxdomain(ask(zone, name))


def test_apex_soa(zone: ClusterRecords) -> None:
    """SOA at the apex answers the zone's SOA."""
    answer = ask(zone, "cluster.local", RRType.SOA)
    assert [rr.rtype for rr in answer.answers] == [RRType.SOA]


def test_kubernetes_default_through_the_search_path(zone: ClusterRecords) -> None:
    """A pod in shop resolving kubernetes.default walks its search list to the answer.

    resolv.conf: search shop.svc.cluster.local svc.cluster.local cluster.local, ndots:5;
    the first candidate is NXDOMAIN, so the resolver moves on to the second."""
    search = ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    results = [ask(zone, f"kubernetes.default.{suffix}") for suffix in search]
    assert is_nxdomain(results[0])
    assert addresses(results[1]) == ["10.96.0.1"]


def test_names_outside_the_zone_are_not_mine(zone: ClusterRecords) -> None:
    """example.com, a look-alike suffix and unknown reverse names are forwarded."""
    for name in ("example.com", "evilcluster.local", "local", "1.1.1.1.in-addr.arpa"):
        assert zone.lookup(name, RRType.A) is None
    assert zone.lookup("1.1.1.1.in-addr.arpa", RRType.PTR) is None


def test_ptr_for_cluster_ips_and_endpoints(zone: ClusterRecords) -> None:
    """A cluster IP points back at its Service, an endpoint IP at its endpoint name."""
    answer = ask(zone, "10.0.96.10.in-addr.arpa", RRType.PTR)
    assert [rr.data for rr in answer.answers] == [Target("web.default.svc.cluster.local")]
    answer = ask(zone, "5.0.244.10.IN-ADDR.ARPA.", RRType.PTR)
    assert [rr.data for rr in answer.answers] == [Target("db-0.db.shop.svc.cluster.local")]
    assert is_nodata(ask(zone, "10.0.96.10.in-addr.arpa", RRType.A))


def test_namespaces_default_to_those_of_the_services() -> None:
    """Without a namespace list, a namespace exists when one of its Services does."""
    zone = ClusterRecords.build([service("a", "one", clusterIP="10.96.0.2")], [])
    assert is_nodata(ask(zone, "one.svc.cluster.local"))
    assert is_nxdomain(ask(zone, "two.svc.cluster.local"))


def test_another_domain() -> None:
    """The zone follows the configured cluster domain."""
    zone = ClusterRecords.build(
        [service("a", "one", clusterIP="10.96.0.2")], [], domain="Corp.Example."
    )
    assert addresses(ask(zone, "a.one.svc.corp.example")) == ["10.96.0.2"]
    assert zone.lookup("a.one.svc.cluster.local", RRType.A) is None


def test_endpoints_of_a_cluster_ip_service_have_names_too(zone: ClusterRecords) -> None:
    """As in CoreDNS, an endpoint name answers for a Service with a cluster IP as well."""
    assert addresses(ask(zone, "10-244-2-2.web.default.svc.cluster.local")) == ["10.244.2.2"]
    answer = ask(zone, "2.2.244.10.in-addr.arpa", RRType.PTR)
    assert [rr.data for rr in answer.answers] == [
        Target("10-244-2-2.web.default.svc.cluster.local")
    ]


def test_objects_missing_fields_are_skipped() -> None:
    """A Service without a name or spec, or a slice without ports, does not break the zone."""
    zone = ClusterRecords.build(
        [
            {"metadata": {"namespace": "default"}},
            {"metadata": {"name": "bare", "namespace": "default"}},
            service("ok", clusterIP="10.96.0.3"),
        ],
        [{"metadata": {"name": "x", "namespace": "default"}, "addressType": "IPv4"}],
    )
    assert addresses(ask(zone, "ok.default.svc.cluster.local")) == ["10.96.0.3"]
    assert is_nxdomain(ask(zone, "bare.default.svc.cluster.local"))


@pytest.mark.parametrize("target", ["192.0.2.7", "a..b", ""])
def test_external_name_that_is_no_host_name_is_nxdomain(target: str) -> None:
    """An ExternalName holding an IP (or nothing usable) has no record, as in CoreDNS."""
    zone = ClusterRecords.build([service("ext", type="ExternalName", externalName=target)], [])
    assert is_nxdomain(ask(zone, "ext.default.svc.cluster.local"))
