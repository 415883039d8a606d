"""The userspace Service proxy with real sockets on loopback.

Endpoints are asyncio servers on their own 127.x.y.z addresses; the proxy's "cluster IP"
is another loopback address, so nothing here needs root or leaves the machine. Every
endpoint greets with its name, then echoes what it reads until EOF, then closes. Each
wait is a deadline around one operation; loops are bounded in count.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import pytest

from kubeproc.proxy.backend import BackendContext, ProxyError, ProxyMode, make_backend
from kubeproc.proxy.model import Endpoint, ServicePort, ServicePortMap, ServicePortName
from kubeproc.proxy.userspace import UserspaceBackend
from kubeproc.util.clock import FakeClock

NAME = ServicePortName("ns", "web", "http")
DEADLINE = 5.0


def loopback_ip() -> str:
    """A random 127.x.y.z of this test's own, so parallel tests never share a port space."""
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 250)}"


def free_port(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


class EndpointServer:
    """One pod: greets with its name, echoes until EOF, then closes; can stop and start."""

    def __init__(self, name: str, ip: str | None = None) -> None:
        self.name = name
        self.ip = ip or loopback_ip()
        self.port = 0
        self.accepted = 0
        self.peers: list[str] = []
        self._server: asyncio.Server | None = None
        self.gate = asyncio.Event()
        self.gate.set()

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.ip, self.port)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self.ip, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.peers.append(writer.get_extra_info("peername")[0])
        try:
            writer.write(self.name.encode() + b"\n")
            await self.gate.wait()
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.write(b"<eof>")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def port_map(
    ip: str,
    port: int,
    endpoints: Iterable[Endpoint],
    *,
    affinity: int | None = None,
    node_port: int | None = None,
    protocol: str = "TCP",
    external_ips: tuple[str, ...] = (),
    name: ServicePortName = NAME,
) -> ServicePortMap:
    return {
        name: ServicePort(
            name=name,
            protocol=protocol,
            cluster_ip=ip,
            port=port,
            node_port=node_port,
            external_ips=external_ips,
            affinity_timeout=affinity,
            endpoints=tuple(endpoints),
        )
    }


async def request(ip: str, port: int, *, source: str | None = None) -> str:
    """One short connection: the endpoint's name (and its echo of nothing)."""
    async with asyncio.timeout(DEADLINE):
        reader, writer = await asyncio.open_connection(
            ip, port, local_addr=(source, 0) if source else None
        )
        try:
            writer.write_eof()
            reply = await reader.read()
        finally:
            writer.close()
    name, _, rest = reply.decode().partition("\n")
    assert rest == "<eof>", reply
    return name


async def until(condition: Callable[[], bool], deadline: float = DEADLINE) -> None:
    """Poll ``condition`` every 10 ms until it holds; fail after ``deadline`` seconds."""
    for _ in range(int(deadline / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {deadline}s")


async def expect_reset(ip: str, port: int) -> float:
    """Connect and read; the proxy must reset the connection. Returns the seconds it took."""
    start = time.monotonic()
    async with asyncio.timeout(DEADLINE):
        reader, writer = await asyncio.open_connection(ip, port)
        try:
            with pytest.raises(ConnectionResetError):
                await reader.read()
        finally:
            writer.close()
    return time.monotonic() - start


@pytest.fixture
async def servers() -> AsyncIterator[list[EndpointServer]]:
    started = [EndpointServer(n) for n in ("a", "b", "c")]
    for s in started:
        await s.start()
    yield started
    for s in started:
        await s.stop()


@pytest.fixture
async def vip() -> tuple[str, int]:
    ip = loopback_ip()
    return ip, free_port(ip)


async def test_round_robin_spreads_connections_evenly(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """Without affinity, 30 connections reach each of 3 endpoints 10 times."""
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [s.endpoint for s in servers]))
        names = [await request(*vip) for _ in range(30)]
    assert Counter(names) == {"a": 10, "b": 10, "c": 10}


async def test_client_ip_affinity_sticks_per_client(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """With ClientIP affinity each client address keeps one endpoint until it idles out."""
    clock = FakeClock()
    clients = [loopback_ip() for _ in range(3)]
    async with UserspaceBackend(clock=clock) as backend:
        await backend.apply(port_map(*vip, [s.endpoint for s in servers], affinity=10))
        seen = {c: {await request(*vip, source=c) for _ in range(5)} for c in clients}
        assert all(len(names) == 1 for names in seen.values()), seen
        assert len({next(iter(n)) for n in seen.values()}) == 3
        # Idle longer than the timeout: the next connection is placed by round robin,
        # which a newcomer has just moved past the first client's old endpoint.
        first = clients[0]
        await clock.advance(11)
        assert await request(*vip, source=loopback_ip()) == next(iter(seen[first]))
        moved = {await request(*vip, source=first) for _ in range(3)}
        assert moved != seen[first] and len(moved) == 1


async def test_refused_endpoint_is_retried_without_client_failures(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """500 connections while one endpoint repeatedly stops and starts: none fails."""
    flapping = servers[0]
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [s.endpoint for s in servers]))
        names: Counter[str] = Counter()
        for i in range(500):
            if i % 50 == 10:
                await flapping.stop()
            elif i % 50 == 35:
                await flapping.start()
            names[await request(*vip)] += 1
    assert sum(names.values()) == 500
    assert names["a"] > 0 and names["b"] > names["a"] and names["c"] > names["a"]


async def test_connect_timeout_moves_on_to_the_next_endpoint(vip: tuple[str, int]) -> None:
    """An endpoint whose accept queue is full (SYNs dropped) costs one connect timeout."""
    live = EndpointServer("live")
    await live.start()
    stuck_ip = loopback_ip()
    stuck = socket.socket()
    filler = socket.socket()
    try:
        stuck.bind((stuck_ip, 0))
        stuck.listen(0)
        filler.connect(stuck.getsockname())  # the one slot of the queue, never accepted
        stuck_endpoint = Endpoint(stuck_ip, stuck.getsockname()[1])
        async with UserspaceBackend(connect_timeout=0.2) as backend:
            await backend.apply(port_map(*vip, [stuck_endpoint, live.endpoint]))
            start = time.monotonic()
            names = [await request(*vip) for _ in range(2)]
            elapsed = time.monotonic() - start
    finally:
        filler.close()
        stuck.close()
        await live.stop()
    assert names == ["live", "live"]
    assert 0.2 <= elapsed < 2.0


async def test_no_usable_endpoint_resets_at_once(vip: tuple[str, int]) -> None:
    """A Service port without usable endpoints resets each connection immediately."""
    not_ready = Endpoint("127.0.0.1", 9, ready=False, serving=False)
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [not_ready]))
        assert await expect_reset(*vip) < 0.5


async def test_every_endpoint_refusing_resets_the_client(vip: tuple[str, int]) -> None:
    """When no endpoint accepts, the client gets an RST, not a hang."""
    dead = [Endpoint(loopback_ip(), free_port("127.0.0.1")) for _ in range(3)]
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, dead))
        assert await expect_reset(*vip) < 1.0


async def test_listener_closes_when_the_port_leaves_the_map(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """Removing the Service port closes its listener; connections are then refused."""
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [servers[0].endpoint]))
        assert await request(*vip) == "a"
        await backend.apply({})
        assert vip not in backend.listening
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(*vip)


async def test_established_connection_survives_an_endpoint_change(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """A connection keeps flowing after its endpoint leaves; new ones go to the new set."""
    a, b, _ = servers
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [a.endpoint]))
        async with asyncio.timeout(DEADLINE):
            reader, writer = await asyncio.open_connection(*vip)
            assert await reader.readline() == b"a\n"
            await backend.apply(port_map(*vip, [b.endpoint]))
            assert await request(*vip) == "b"
            writer.write(b"still here")
            assert await reader.readexactly(10) == b"still here"
            writer.write_eof()
            assert await reader.read() == b"<eof>"
            writer.close()


async def test_established_connection_outlives_its_service_port(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """A Service port leaving the map closes its listener, not its open connections."""
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [servers[0].endpoint]))
        async with asyncio.timeout(DEADLINE):
            reader, writer = await asyncio.open_connection(*vip)
            assert await reader.readline() == b"a\n"
            await backend.apply({})
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection(*vip)
            writer.write(b"ping")
            writer.write_eof()
            assert await reader.read() == b"ping<eof>"
            writer.close()


async def test_half_close_passes_eof_and_keeps_the_other_direction(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """The client's EOF reaches the endpoint, which can still answer after it."""
    servers[0].gate.clear()  # the endpoint reads nothing until the client has sent EOF
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [servers[0].endpoint]))
        async with asyncio.timeout(DEADLINE):
            reader, writer = await asyncio.open_connection(*vip)
            writer.write(b"request body")
            writer.write_eof()
            servers[0].gate.set()
            assert await reader.read() == b"a\nrequest body<eof>"
            writer.close()


async def test_endpoint_reset_reaches_the_client(vip: tuple[str, int]) -> None:
    """An endpoint that aborts its connection resets the client's too."""

    async def abort(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(1)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        writer.transport.abort()

    ip = loopback_ip()
    server = await asyncio.start_server(abort, ip, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with UserspaceBackend() as backend:
            await backend.apply(port_map(*vip, [Endpoint(ip, port)]))
            async with asyncio.timeout(DEADLINE):
                reader, writer = await asyncio.open_connection(*vip)
                writer.write(b"x")
                with pytest.raises(ConnectionResetError):
                    await reader.read()
                writer.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_large_transfer_keeps_back_pressure(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """32 MiB through a stalled endpoint: the proxy buffers little, and every byte arrives."""
    endpoint = servers[0]
    endpoint.gate.clear()  # the endpoint stops reading after its greeting
    payload = os.urandom(1 << 20) * 32
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [endpoint.endpoint]))
        async with asyncio.timeout(30):
            reader, writer = await asyncio.open_connection(*vip)
            assert await reader.readline() == b"a\n"
            writer.write(payload)
            # Wait until the client's own buffer is what grows (the path is full).
            await until(lambda: writer.transport.get_write_buffer_size() > len(payload) // 2)
            await asyncio.sleep(0.05)
            buffered = sum(
                p.transport.get_write_buffer_size()
                for p in backend.table.pipes
                if p.transport is not None
            )
            assert buffered < 2 << 20
            endpoint.gate.set()
            digest = hashlib.sha256()
            received = 0

            async def drain_writer() -> None:
                await writer.drain()
                writer.write_eof()

            drainer = asyncio.create_task(drain_writer())
            while chunk := await reader.read(1 << 20):
                digest.update(chunk)
                received += len(chunk)
            await drainer
            writer.close()
    assert received == len(payload) + len(b"<eof>")
    assert digest.hexdigest() == hashlib.sha256(payload + b"<eof>").hexdigest()


def open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


async def test_exit_closes_every_listener_and_connection(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """Leaving the backend closes listeners and live connections; no socket leaks."""
    node_port = free_port("127.0.0.1")
    before = open_fds()
    async with UserspaceBackend() as backend:
        await backend.apply(port_map(*vip, [s.endpoint for s in servers], node_port=node_port))
        assert backend.listening == {vip, ("127.0.0.1", node_port)}
        clients = [await asyncio.open_connection(*vip) for _ in range(5)]
        for reader, _ in clients:
            assert await reader.readline() in (b"a\n", b"b\n", b"c\n")
    async with asyncio.timeout(DEADLINE):
        for reader, writer in clients:
            with contextlib.suppress(ConnectionResetError):
                assert await reader.read() in (b"", b"<eof>")
            writer.close()
            await writer.wait_closed()
    for address in (vip, ("127.0.0.1", node_port)):
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(*address)
    # The endpoint servers' sides close once they read EOF.
    await until(lambda: open_fds() <= before)
    assert open_fds() == before


async def test_unbindable_address_is_warned_once_and_the_rest_served(
    servers: list[EndpointServer], caplog: pytest.LogCaptureFixture
) -> None:
    """A VIP not local to the host is skipped with one warning; the node port works."""
    node_port = free_port("127.0.0.1")
    ports = port_map("192.0.2.10", 80, [servers[0].endpoint], node_port=node_port)
    with caplog.at_level(logging.WARNING, logger="kubeproc.proxy.userspace"):
        async with UserspaceBackend() as backend:
            await backend.apply(ports)
            await backend.apply(ports)
            assert backend.listening == {("127.0.0.1", node_port)}
            assert await request("127.0.0.1", node_port) == "a"
    warnings = [r for r in caplog.records if "192.0.2.10" in r.getMessage()]
    assert len(warnings) == 1


async def test_udp_ports_are_not_proxied(
    servers: list[EndpointServer], vip: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """A UDP Service port gets no listener and one log line saying so."""
    ports = port_map(*vip, [servers[0].endpoint], protocol="UDP")
    with caplog.at_level(logging.WARNING, logger="kubeproc.proxy.userspace"):
        async with UserspaceBackend() as backend:
            await backend.apply(ports)
            await backend.apply(ports)
            assert backend.listening == frozenset()
    assert len([r for r in caplog.records if "TCP only" in r.getMessage()]) == 1


async def test_connections_leave_from_the_proxy_source_address(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """With a proxy source address, endpoints see connections from it."""
    source = loopback_ip()
    async with UserspaceBackend(proxy_source=source) as backend:
        await backend.apply(port_map(*vip, [servers[0].endpoint]))
        assert await request(*vip) == "a"
    assert servers[0].peers == [source]


async def test_external_ips_and_node_port_share_the_endpoints(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """Every address of a Service port leads to the same endpoints."""
    external = loopback_ip()
    node_port = free_port("127.0.0.1")
    gateway = loopback_ip()
    ports = port_map(*vip, [servers[0].endpoint], node_port=node_port, external_ips=(external,))
    async with UserspaceBackend(gateway=gateway) as backend:
        await backend.apply(ports)
        for address in (vip, (external, vip[1]), ("127.0.0.1", node_port), (gateway, node_port)):
            assert await request(*address) == "a"


class FakeRoutes:
    """Records install/remove; install fails when told to (no root)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[str] = []

    async def install(self) -> None:
        self.calls.append("install")
        if self.fail:
            raise ProxyError("ip route replace local ...: Operation not permitted")

    async def remove(self) -> None:
        self.calls.append("remove")


async def test_routes_are_installed_on_entry_and_removed_on_exit(
    servers: list[EndpointServer], vip: tuple[str, int]
) -> None:
    """The local service route is installed before serving and removed after closing."""
    routes = FakeRoutes()
    async with UserspaceBackend(routes=routes) as backend:
        assert routes.calls == ["install"]
        await backend.apply(port_map(*vip, [servers[0].endpoint]))
    assert routes.calls == ["install", "remove"]


async def test_required_routes_failing_stops_the_backend() -> None:
    """With the oci runtime the route is required: its failure is the backend's."""
    with pytest.raises(ProxyError):
        async with UserspaceBackend(routes=FakeRoutes(fail=True)):
            pass


async def test_optional_routes_failing_still_serves_loopback(
    servers: list[EndpointServer], caplog: pytest.LogCaptureFixture
) -> None:
    """With the process runtime and no root, node ports on 127.0.0.1 still work."""
    routes = FakeRoutes(fail=True)
    node_port = free_port("127.0.0.1")
    with caplog.at_level(logging.WARNING, logger="kubeproc.proxy.userspace"):
        async with UserspaceBackend(routes=routes, routes_required=False) as backend:
            await backend.apply(
                port_map("192.0.2.11", 80, [servers[0].endpoint], node_port=node_port)
            )
            assert await request("127.0.0.1", node_port) == "a"
    assert routes.calls == ["install"]
    assert any("not routed locally" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("runtime", ["oci", "process"])
def test_factory_takes_the_node_context(runtime: str) -> None:
    """``userspace_backend`` builds the backend from the core's context."""
    ctx = BackendContext(
        bridge="lo" if runtime == "process" else "kp123456",
        gateway="127.0.0.1" if runtime == "process" else "10.244.0.1",
        pod_cidr="10.244.0.0/24",
        service_cidr="10.96.0.0/24",
        proxy_source="127.0.0.1" if runtime == "process" else "10.244.0.254",
        table_name="kubeproc-123456",
        runtime=runtime,
    )
    backend = make_backend(ProxyMode.USERSPACE, ctx)
    assert isinstance(backend, UserspaceBackend)
    assert backend.routes_required == (runtime == "oci")
