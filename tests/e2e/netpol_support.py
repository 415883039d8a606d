"""Reachability matrices for the NetworkPolicy end-to-end tests: pods, probes, truth grids.

No tests here. ``SERVER`` is what every pod runs: a line of its hostname on TCP 80 and 81
to every connection, and as the reply to every datagram on UDP 82. ``Cluster`` knows each
pod's IP and host pid; ``Cluster.matrix`` probes every cell at once, from inside each
client pod's network namespace (``nsenter --net`` on the pid runc reports, one ``PROBE``
process per client, every target of that client concurrently): much faster than
``kubectl exec``, and the packets leave through the pod's own veth as the pod's would.

A grid is the expected matrix written out by hand, one line per client pod: its name,
then four cells per target pod in ``PODS`` order (TCP 80, TCP 81, UDP 82, TCP 8080 where
nothing listens), then the two Service cells (``web`` in namespace A, ports 80 and 81,
backed by a-web's 80 and 81) and the DNS cell (the Service's name resolved through the
nameserver of the client's resolv.conf). ``o`` ok (connected and got the answer), ``r``
refused, ``x`` dropped (no answer within the timeout), ``.`` not probed (a pod to itself,
and a-web to its own Service).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.harness import Kubectl, Node
from tests.e2e.test_kubelet_support import container_pid

Matrix = dict[tuple[str, str], str]
"""(client pod, cell) -> ok / refused / dropped (or what else the probe saw)."""
PODS = ("a-web", "a-db", "a-cli", "b-web", "b-cli")
"""Every pod, client and server alike: namespace (a or b) and short name."""
LABELS = {
    "a-web": {"app": "web", "tier": "front"},
    "a-db": {"app": "db"},
    "a-cli": {"app": "client"},
    "b-web": {"app": "web"},
    "b-cli": {"app": "client"},
}
POD_NAMES = {"web": "web", "db": "db", "cli": "client"}
COLUMNS = (("80", "tcp", 80), ("81", "tcp", 81), ("82/udp", "udp", 82), ("8080", "tcp", 8080))
SERVICE = "web"
"""The Service in namespace A: ports 80 and 81 to the named ports ``http`` and ``alt`` of
pods app=web (a-web)."""
SERVICE_PORTS = (80, 81)
CELLS = (
    *(f"{pod}:{column}" for pod in PODS for column, _, _ in COLUMNS),
    *(f"svc:{port}" for port in SERVICE_PORTS),
    "dns",
)
"""The cells of a grid row, in order."""
SYMBOLS = {"o": "ok", "r": "refused", "x": "dropped"}
CONNECT_TIMEOUT = 0.8
"""A blocked SYN is dropped, never answered: this long without an answer reads 'dropped'."""
UDP_TIMEOUT = 1.0
"""The datagram's round trip goes through the server's python thread, so a little longer."""

SERVER = r"""
import socket, socketserver, threading
NAME = socket.gethostname().encode() + b"\n"
class Line(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(NAME)
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        self.request[1].sendto(NAME, self.client_address)
class Tcp(socketserver.ThreadingTCPServer):
    allow_reuse_address, daemon_threads, request_queue_size = True, True, 256
for port in (80, 81):
    threading.Thread(target=Tcp(("0.0.0.0", port), Line).serve_forever, daemon=True).start()
socketserver.ThreadingUDPServer(("0.0.0.0", 82), Echo).serve_forever()
"""

PROBE = r"""
import asyncio, json, socket, struct, sys
ASK = json.loads(sys.argv[1])
CONNECT, UDP = ASK["connect"], ASK["udp"]

async def tcp(host, port):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT)
    except TimeoutError:
        return "dropped"
    except ConnectionRefusedError:
        return "refused"
    except OSError as err:
        return f"error {err.strerror}"
    try:
        line = await asyncio.wait_for(reader.readline(), 3.0)
        return "ok" if line.endswith(b"\n") else "no answer"
    except (TimeoutError, OSError) as err:
        return f"no answer ({type(err).__name__})"
    finally:
        writer.close()

async def datagram(host, port, payload, timeout):
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        s.connect((host, port))
        s.send(payload)
        try:
            return await asyncio.wait_for(loop.sock_recv(s, 4096), timeout)
        except TimeoutError:
            return "dropped"
        except ConnectionRefusedError:
            return "refused"
        except OSError as err:
            return f"error {err.strerror}"

async def udp(host, port):
    got = await datagram(host, port, b"ping", UDP)
    return got if isinstance(got, str) else "ok"

def query(name):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack(">6H", 0x5EED, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">2H", 1, 1)

def addresses(reply):
    rcode, count = reply[3] & 0xF, struct.unpack_from(">H", reply, 6)[0]
    at = 12
    while reply[at]:
        at += reply[at] + 1
    at += 5
    found = []
    for _ in range(count):
        if reply[at] & 0xC0 == 0xC0:
            at += 2
        else:
            while reply[at]:
                at += reply[at] + 1
            at += 1
        rtype, _, _, size = struct.unpack_from(">HHIH", reply, at)
        at += 10
        if rtype == 1 and size == 4:
            found.append(socket.inet_ntoa(reply[at : at + 4]))
        at += size
    return rcode, found

async def dns(server, name, want):
    got = await datagram(server, 53, query(name), UDP)
    if isinstance(got, str):
        return got
    rcode, found = addresses(got)
    return "ok" if want in found else f"answer rcode={rcode} {found}"

async def main():
    jobs = []
    for kind, host, port, extra in ASK["cells"]:
        if kind == "tcp":
            jobs.append(tcp(host, port))
        elif kind == "udp":
            jobs.append(udp(host, port))
        else:
            jobs.append(dns(host, extra[0], extra[1]))
    print(json.dumps(await asyncio.gather(*jobs)))

asyncio.run(main())
"""


@dataclass(frozen=True)
class Pod:
    key: str  # "a-web"
    namespace: str
    name: str
    ip: str
    pid: int  # the container's init on the host: its /proc/<pid>/ns/net is the pod's
    nameserver: str


@dataclass(frozen=True)
class Cluster:
    """The module's pods, namespaces and Service, and how to probe between them."""

    namespaces: dict[str, str]  # "a" -> the real namespace name
    pods: dict[str, Pod]
    service_ip: str
    node: Node

    def placeholders(self) -> dict[str, str]:
        """What a policy's YAML may name: NS_A, NS_B, POD_CIDR, IP_A_WEB... IP_B_CLI."""
        values = {f"NS_{k.upper()}": v for k, v in self.namespaces.items()}
        values["POD_CIDR"] = self.node.pod_cidr
        values |= {f"IP_{k.upper().replace('-', '_')}": p.ip for k, p in self.pods.items()}
        return values

    def render(self, text: str) -> str:
        for name, value in sorted(self.placeholders().items(), key=lambda kv: -len(kv[0])):
            text = text.replace(name, value)
        return text

    def cells(self, client: str) -> list[tuple[str, list[Any]]]:
        """(cell name, probe request) for every cell of ``client``'s row, in grid order."""
        found: list[tuple[str, list[Any]]] = []
        for target in PODS:
            if target == client:
                continue
            for column, kind, port in COLUMNS:
                found.append((f"{target}:{column}", [kind, self.pods[target].ip, port, None]))
        if client != "a-web":  # a-web through its own Service is a hairpin, not a policy case
            for port in SERVICE_PORTS:
                found.append((f"svc:{port}", ["tcp", self.service_ip, port, None]))
        fqdn = f"{SERVICE}.{self.namespaces['a']}.svc.cluster.local"
        nameserver = self.pods[client].nameserver
        found.append(("dns", ["dns", nameserver, 53, [fqdn, self.service_ip]]))
        return found

    def matrix(self) -> Matrix:
        """Every probed cell, (client, cell) -> ok/refused/dropped/..., all clients at once."""
        ask = {"connect": CONNECT_TIMEOUT, "udp": UDP_TIMEOUT}
        procs = {}
        for client in PODS:
            cells = self.cells(client)
            net = f"--net=/proc/{self.pods[client].pid}/ns/net"
            request = json.dumps({**ask, "cells": [c for _, c in cells]})
            proc = subprocess.Popen(
                ["nsenter", net, "python3", "-c", PROBE, request],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            procs[client] = (proc, cells)
        seen: Matrix = {}
        for client, (proc, cells) in procs.items():
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            assert proc.returncode == 0, f"probe from {client} failed: {err}"
            for (cell, _), result in zip(cells, json.loads(out), strict=True):
                seen[client, cell] = result
        return seen


def grid(text: str) -> Matrix:
    """A hand-written grid (see the module docstring) as (client, cell) -> expected result."""
    expected: Matrix = {}
    rows = [line.split() for line in text.strip().splitlines() if line.strip()]
    assert [r[0] for r in rows] == list(PODS), f"a grid has one row per pod: {PODS}"
    for client, *groups in rows:
        marks = "".join(groups)
        names = CELLS
        assert len(marks) == len(names), f"row {client}: {len(marks)} cells, not {len(names)}"
        for name, mark in zip(names, marks, strict=True):
            if mark != ".":
                expected[client, name] = SYMBOLS[mark]
    return expected


def differences(expected: Matrix, seen: Matrix) -> list[str]:
    keys = sorted(set(expected) | set(seen))
    return [
        f"{client} -> {cell}: expected {expected.get((client, cell), 'not probed')}, "
        f"seen {seen.get((client, cell), 'not probed')}"
        for client, cell in keys
        if expected.get((client, cell)) != seen.get((client, cell))
    ]


def policy_rules(node: Node) -> str:
    """The node's policy table (``kubeproc-pol-<tag>`` beside the proxy's ``kubeproc-<tag>``)."""
    for line in (node.data_dir / "kubeproc.log").read_text().splitlines():
        if "service proxy mode=nftables" in line:
            table = "kubeproc-pol-" + line.split("table=kubeproc-")[1].split()[0]
            cmd = ["nft", "list", "table", "ip", table]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            return f"nft list table ip {table}:\n{done.stdout}{done.stderr}"
    return "the node logged no nftables proxy table"


def converge(
    cluster: Cluster, expected: Matrix, what: str, timeout: float = 10.0
) -> tuple[float, int]:
    """Probe until the matrix equals ``expected``: (seconds it took, probes); fail at timeout."""
    started = time.monotonic()
    deadline, probes = started + timeout, 0
    while True:
        seen = cluster.matrix()
        probes += 1
        diff = differences(expected, seen)
        if not diff:
            return time.monotonic() - started, probes
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what}: after {timeout:g} s ({probes} probes) {len(diff)} cells differ:\n"
                + "\n".join(diff)
                + "\n\n"
                + policy_rules(cluster.node)[:8000]
            )


# -- setting the cluster up -------------------------------------------------------------


def pod_manifest(key: str, namespace: str) -> dict[str, Any]:
    ctr = {
        "name": "app",
        "image": "python:3",
        "command": ["python3", "-c", SERVER],
        "ports": [
            {"name": "http", "containerPort": 80},
            {"name": "alt", "containerPort": 81},
            {"name": "udp", "containerPort": 82, "protocol": "UDP"},
        ],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": POD_NAMES[key.split("-")[1]],
            "namespace": namespace,
            "labels": LABELS[key],
        },
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [ctr]},
    }


def service_manifest(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": namespace},
        "spec": {
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "alt", "port": 81, "targetPort": "alt"},
            ],
        },
    }


def nameserver(pid: int) -> str:
    """The first nameserver of the pod's resolv.conf, read through its own root."""
    conf = Path(f"/proc/{pid}/root/etc/resolv.conf").read_text()
    for line in conf.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            return words[1]
    raise AssertionError(f"no nameserver in the pod's resolv.conf:\n{conf}")


def start_cluster(kubectl: Kubectl, node: Node, namespaces: dict[str, str]) -> Cluster:
    """Label the namespaces team=a / team=b, start the pods and the Service; wait for them."""
    objects: list[dict[str, Any]] = [service_manifest(namespaces["a"])]
    for key in PODS:
        objects.append(pod_manifest(key, namespaces[key[0]]))
    for short, ns in namespaces.items():
        kubectl.ok("label", "namespace", ns, f"team={short}")
    kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
    for ns in namespaces.values():
        kubectl.ok("wait", "--for=condition=Ready", "pod", "--all", "-n", ns, "--timeout=90s",
                   timeout=120)  # fmt: skip
    pods = {}
    for key in PODS:
        ns, name = namespaces[key[0]], POD_NAMES[key.split("-")[1]]
        got = json.loads(kubectl.ok("get", "pod", name, "-n", ns, "-o", "json").out)
        pid = container_pid(node, got)
        pods[key] = Pod(key, ns, name, got["status"]["podIP"], pid, nameserver(pid))
    svc = json.loads(kubectl.ok("get", "service", SERVICE, "-n", namespaces["a"], "-o", "json").out)
    return Cluster(namespaces, pods, svc["spec"]["clusterIP"], node)
