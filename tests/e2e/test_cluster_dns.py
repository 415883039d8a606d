"""Cluster DNS from inside pods, with the real kubectl: names Kubernetes users rely on.

One real node (oci runtime) for the module, two namespaces. In ``server``: two pods
answering their hostname on 8080, a ClusterIP Service ``web`` (80 -> 8080, port name
``http``) and a headless Service ``web-headless`` over the same pods, one of which has
``hostname: web-0`` and ``subdomain: web-headless``. A client pod in each namespace.
Everything is read from inside the client pods with ``kubectl exec``: their resolv.conf,
``getent`` (the C library's resolver, through the search path and ``ndots:5``), and curl
connecting by name.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.service_support import hostname_server
from tests.e2e.test_kubelet_support import kubectl_for, namespace, require_oci, wait_running

pytestmark = pytest.mark.e2e

DOMAIN = "cluster.local"


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


def server_pod(name: str, **spec: Any) -> dict[str, Any]:
    app = {
        "name": "app",
        "image": "python:3",
        "command": ["python3", "-c", hostname_server()],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [app], **spec},
    }


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            **spec,
        },
    }


def client_pod() -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "client"},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}],
            },
        }
    )


@pytest.fixture(scope="module")
def cluster(kubectl: Kubectl, node: Node) -> Iterator[tuple[str, str]]:
    """(server namespace, other namespace), both with a running client pod."""
    require_oci(node)
    with namespace(kubectl, "dns-srv") as srv, namespace(kubectl, "dns-cli") as cli:
        objects = [
            server_pod("web-0", hostname="web-0", subdomain="web-headless"),
            server_pod("web-1"),
            service("web"),
            service("web-headless", clusterIP="None"),
        ]
        kubectl.ok("apply", "-n", srv, "-f", "-", stdin=yaml.safe_dump_all(objects))
        for ns in (srv, cli):
            kubectl.ok("apply", "-n", ns, "-f", "-", stdin=client_pod())
        for ns, pod in ((srv, "web-0"), (srv, "web-1"), (srv, "client"), (cli, "client")):
            wait_running(kubectl, ns, pod, timeout=60)
        yield srv, cli


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl.ok("get", *args, "-o", "json").out)


def in_pod(kubectl: Kubectl, ns: str, *argv: str) -> tuple[int, str]:
    res = kubectl("exec", "client", "-n", ns, "--", *argv, timeout=30)
    return res.rc, res.out


def getent(kubectl: Kubectl, ns: str, name: str, db: str = "ahostsv4") -> set[str]:
    """The addresses the pod's resolver gives for ``name`` (empty when it finds none)."""
    rc, out = in_pod(kubectl, ns, "getent", db, name)
    return {line.split()[0] for line in out.splitlines() if line.strip()} if rc == 0 else set()


def ready_ips(kubectl: Kubectl, ns: str) -> set[str]:
    pods = get_json(kubectl, "pods", "-n", ns, "-l", "app=web")["items"]
    return {p["status"]["podIP"] for p in pods}


def test_resolv_conf_names_the_cluster_dns_and_search_path(
    kubectl: Kubectl, node: Node, cluster: tuple[str, str]
) -> None:
    srv, _ = cluster
    _, text = in_pod(kubectl, srv, "cat", "/etc/resolv.conf")
    lines = [line.split() for line in text.splitlines() if line.strip()]
    # The cluster's search path, then the node's own search domains, as the kubelet adds them.
    own = [f"{srv}.svc.{DOMAIN}", f"svc.{DOMAIN}", DOMAIN]
    host = [d.removesuffix(".") for d in host_search_domains() if d.removesuffix(".") not in own]
    assert lines[0] == ["search", *own, *host], text
    assert ["options", "ndots:5"] in lines, text
    nameservers = [words[1] for words in lines if words[0] == "nameserver"]
    # The kube-dns Service's cluster IP, the tenth of the service CIDR as kubeadm has it,
    # whose endpoint is the DNS server on the node's bridge gateway (the pod's default route).
    svc = get_json(kubectl, "service", "kube-dns", "-n", "kube-system")
    assert nameservers == [svc["spec"]["clusterIP"]], (text, svc["spec"])
    tenth = ipaddress.ip_network(node.service_cidr).network_address + 10
    assert svc["spec"]["clusterIP"] == str(tenth), (node.service_cidr, svc["spec"])
    assert {(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {
        ("dns", 53, "UDP"),
        ("dns-tcp", 53, "TCP"),
    }
    (slice_,) = get_json(
        kubectl, "endpointslices", "-n", "kube-system", "-l", "kubernetes.io/service-name=kube-dns"
    )["items"]
    (endpoint,) = slice_["endpoints"]
    _, routes = in_pod(kubectl, srv, "ip", "route")
    assert f"default via {endpoint['addresses'][0]}" in routes, (routes, slice_)


def host_search_domains() -> list[str]:
    """The last search line of the node's resolver file (this machine's: no stub resolver)."""
    found: list[str] = []
    for line in Path("/etc/resolv.conf").read_text().splitlines():
        if line.split()[:1] == ["search"]:
            found = line.split()[1:]
    return found


def test_dns_config_beyond_the_limits_is_cut_with_a_warning_event(
    kubectl: Kubectl, cluster: tuple[str, str]
) -> None:
    """ClusterFirst with three more nameservers in dnsConfig (the most the API takes): the
    pod gets the cluster's and the first two, and the kubelet's DNSConfigForming warning;
    searches and options are added as given, after the cluster's."""
    _, cli = cluster
    servers = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]  # never queried: TEST-NET-1
    manifest = yaml.safe_load(client_pod())
    manifest["metadata"]["name"] = "limits"
    manifest["spec"]["dnsConfig"] = {
        "nameservers": servers,
        "searches": ["a.example", "b.example."],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
    }
    kubectl.ok("apply", "-n", cli, "-f", "-", stdin=yaml.safe_dump(manifest))
    wait_running(kubectl, cli, "limits", timeout=60)
    _, plain = in_pod(kubectl, cli, "cat", "/etc/resolv.conf")
    (gateway,) = [line.split()[1] for line in plain.splitlines() if line.startswith("nameserver")]
    search = next(line for line in plain.splitlines() if line.startswith("search "))
    text = kubectl.ok("exec", "limits", "-n", cli, "--", "cat", "/etc/resolv.conf").out
    assert text.splitlines() == [
        f"{search} a.example b.example.",
        f"nameserver {gateway}",
        "nameserver 192.0.2.1",
        "nameserver 192.0.2.2",
        "options ndots:2 edns0",
    ], text
    selector = "involvedObject.name=limits,reason=DNSConfigForming"

    def warned() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = get_json(
            kubectl, "events", "-n", cli, "--field-selector", selector
        )["items"]
        return items

    (event,) = wait_for(warned, timeout=30, what="a DNSConfigForming event")
    assert event["type"] == "Warning"
    assert event["message"] == (
        "Nameserver limits were exceeded, some nameservers have been omitted, "
        f"the applied nameserver line is: {gateway} 192.0.2.1 192.0.2.2"
    )


def test_service_names_resolve_in_the_same_and_another_namespace(
    kubectl: Kubectl, cluster: tuple[str, str]
) -> None:
    srv, cli = cluster
    cluster_ip = get_json(kubectl, "service", "web", "-n", srv)["spec"]["clusterIP"]
    # Short name in its own namespace, <svc>.<ns> from another, and the full name.
    for ns, name in ((srv, "web"), (cli, f"web.{srv}"), (cli, f"web.{srv}.svc.{DOMAIN}")):
        assert getent(kubectl, ns, name) == {cluster_ip}, (ns, name)
    # The kubernetes Service, as every in-cluster client finds it.
    api_ip = get_json(kubectl, "service", "kubernetes", "-n", "default")["spec"]["clusterIP"]
    assert getent(kubectl, cli, "kubernetes.default") == {api_ip}
    # A name that does not exist is not found (and not forwarded into the host's answer).
    assert getent(kubectl, cli, f"nope.{srv}") == set()


def test_headless_service_names_its_ready_pods(kubectl: Kubectl, cluster: tuple[str, str]) -> None:
    srv, cli = cluster
    ips = ready_ips(kubectl, srv)
    wait_for(
        lambda: getent(kubectl, cli, f"web-headless.{srv}") == ips,
        timeout=20,
        what="the headless Service's A records = the ready pods",
    )
    assert getent(kubectl, srv, "web-headless") == ips  # the short name, in its namespace
    # `getent hosts` prints one of them with the full name the search path found.
    rc, out = in_pod(kubectl, srv, "getent", "hosts", "web-headless")
    assert rc == 0 and out.split()[0] in ips, out
    assert out.split()[1] == f"web-headless.{srv}.svc.{DOMAIN}", out
    web0 = get_json(kubectl, "pod", "web-0", "-n", srv)["status"]["podIP"]
    assert getent(kubectl, cli, f"web-0.web-headless.{srv}") == {web0}
    # The pod's own dashed name in its namespace.
    assert getent(kubectl, cli, f"{web0.replace('.', '-')}.{srv}.pod.{DOMAIN}") == {web0}


def test_connections_by_service_name(kubectl: Kubectl, cluster: tuple[str, str]) -> None:
    srv, cli = cluster
    pods = {
        p["metadata"]["name"]
        for p in get_json(kubectl, "pods", "-n", srv, "-l", "app=web")["items"]
    }
    for ns, url in (
        (srv, "http://web/"),
        (cli, f"http://web.{srv}/"),
        (srv, "http://web-headless:8080/"),
        (cli, f"http://web-headless.{srv}:8080/"),
    ):
        rc, body = in_pod(kubectl, ns, "curl", "-sS", "-m", "5", url)
        assert rc == 0 and body.strip() in pods, (ns, url, rc, body)


def host_addresses(name: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)}
    except OSError:
        return set()


def test_other_names_are_forwarded_to_the_host_resolvers(
    kubectl: Kubectl, cluster: tuple[str, str]
) -> None:
    """A name outside the cluster resolves in the pod as it does on the host.

    The host's resolvers decide; on a machine whose resolvers cannot answer this name,
    the pod must not find it either (nothing is made up)."""
    _, cli = cluster
    name = "deb.debian.org"
    on_host = host_addresses(name)
    in_pod_addresses = getent(kubectl, cli, name)
    if on_host:
        # Relayed, not invented: the same upstream answers both, a moment apart.
        assert on_host & in_pod_addresses, (on_host, in_pod_addresses)
    else:
        assert not in_pod_addresses, in_pod_addresses


SRV_QUERY = r"""
import random, socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
qid = random.randrange(65536)
question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 33, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(packet, (server, 53))
data = s.recv(4096)
rid, flags, qd, an = struct.unpack(">HHHH", data[:8])
assert rid == qid, "wrong id"
pos = 12 + len(question) + 4
def skip_name(pos):
    while data[pos] != 0:
        if data[pos] >= 0xC0:
            return pos + 2
        pos += data[pos] + 1
    return pos + 1
print("rcode", flags & 0xF)
for _ in range(an):
    pos = skip_name(pos)
    rtype, _, _, length = struct.unpack(">HHIH", data[pos:pos + 10])
    pos += 10
    if rtype == 33:
        print("srv", *struct.unpack(">HHH", data[pos:pos + 6]))
    pos += length
"""


def test_srv_records_for_named_ports(kubectl: Kubectl, cluster: tuple[str, str]) -> None:
    """``_http._tcp.<svc>.<ns>.svc``: one SRV with the Service's port; per pod when headless."""
    srv, cli = cluster
    _, conf = in_pod(kubectl, cli, "cat", "/etc/resolv.conf")
    server = next(line.split()[1] for line in conf.splitlines() if line.startswith("nameserver"))

    def srv_records(service: str) -> tuple[str, list[list[str]]]:
        name = f"_http._tcp.{service}.{srv}.svc.{DOMAIN}"
        rc, out = in_pod(kubectl, cli, "python3", "-c", SRV_QUERY, name, server)
        assert rc == 0, out
        lines = [line.split() for line in out.splitlines()]
        return lines[0][1], [words[1:] for words in lines[1:] if words[0] == "srv"]

    assert srv_records("web") == ("0", [["0", "100", "80"]])
    rcode, records = srv_records("web-headless")
    assert rcode == "0" and sorted(r[2] for r in records) == ["8080", "8080"], records
