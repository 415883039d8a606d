"""The DNS server on real sockets: cluster answers, forwarding, truncation, bad input.

Everything listens on 127.0.0.1 on ports the kernel picks; the upstreams are fakes
started here. Each test's server is closed by its ``async with`` block.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from kubeproc.dns import wire
from kubeproc.dns.records import ClusterRecords
from kubeproc.dns.server import DnsError, DnsServer, upstreams
from kubeproc.dns.wire import A, Message, Rcode, Record, RRType
from kubeproc.util import resolvconf

LOCAL = "127.0.0.1"


def zone() -> ClusterRecords:
    services: list[dict[str, Any]] = [
        {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]},
        },
        {"metadata": {"name": "many", "namespace": "default"}, "spec": {"clusterIP": "None"}},
    ]
    slices = [
        {
            "metadata": {
                "name": "many-1",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "many"},
            },
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": [f"10.244.0.{i}"], "conditions": {"ready": True}}
                for i in range(1, 61)
            ],
        }
    ]
    return ClusterRecords.build(services, slices)


class FakeUpstream:
    """A resolver on 127.0.0.1 answering A 192.0.2.1 for anything, over UDP and TCP."""

    def __init__(self, *, silent: bool = False) -> None:
        self.silent = silent
        self.seen: list[tuple[str, Message]] = []
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    def answer(self, proto: str, data: bytes) -> bytes | None:
        query = wire.decode(data)
        self.seen.append((proto, query))
        if self.silent:
            return None
        record = Record(query.questions[0].name, RRType.A, 300, A("192.0.2.1"))
        return wire.response(query, Rcode.NOERROR, [record], authoritative=False)

    async def __aenter__(self) -> FakeUpstream:
        upstream = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                reply = upstream.answer("udp", data)
                if reply is not None:
                    self.transport.sendto(reply, addr)

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                length = int.from_bytes(await reader.readexactly(2))
                reply = upstream.answer("tcp", await reader.readexactly(length))
                if reply is not None:
                    writer.write(len(reply).to_bytes(2) + reply)
                    await writer.drain()
                else:
                    await asyncio.sleep(10)
            finally:
                writer.close()

        loop = asyncio.get_running_loop()
        for _ in range(20):  # the kernel's UDP pick may be taken for TCP: pick again
            self._udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=(LOCAL, 0))
            self.port = self._udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(tcp, LOCAL, self.port)
            except OSError as err:
                self._udp.close()
                if err.errno != errno.EADDRINUSE:
                    raise
                continue
            return self
        raise AssertionError("no port free for both udp and tcp")

    async def __aexit__(self, *exc: object) -> None:
        assert self._udp is not None and self._tcp is not None
        self._udp.close()
        self._tcp.close()


@asynccontextmanager
async def serving(
    records: Callable[[], ClusterRecords | None] = zone, **options: Any
) -> AsyncIterator[DnsServer]:
    fixed = zone() if records is zone else None
    async with DnsServer(
        (lambda: fixed) if fixed is not None else records, address=LOCAL, port=0, **options
    ) as server:
        yield server


async def udp_exchange(port: int, data: bytes, wait: float = 3.0) -> bytes:
    loop = asyncio.get_running_loop()
    received: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, reply: bytes, addr: tuple[str, int]) -> None:
            if not received.done():
                received.set_result(reply)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(LOCAL, port))
    try:
        transport.sendto(data)
        async with asyncio.timeout(wait):
            return await received
    finally:
        transport.close()


async def udp(port: int, name: str, qtype: int = RRType.A, **kw: Any) -> Message:
    return wire.decode(await udp_exchange(port, wire.query(name, qtype, ident=4242, **kw)))


async def tcp_queries(port: int, queries: list[bytes]) -> list[Message]:
    reader, writer = await asyncio.open_connection(LOCAL, port)
    try:
        replies = []
        for data in queries:
            writer.write(len(data).to_bytes(2) + data)
            await writer.drain()
            length = int.from_bytes(await reader.readexactly(2))
            replies.append(wire.decode(await reader.readexactly(length)))
        return replies
    finally:
        writer.close()


def a_records(message: Message) -> list[str]:
    return [rr.data.address for rr in message.answers if isinstance(rr.data, A)]


async def test_cluster_names_are_answered_over_udp_and_tcp() -> None:
    """The Service's A comes back over both transports with the client's ID and case."""
    async with serving() as server:
        reply = await udp(server.port, "WEB.default.svc.cluster.local")
        assert (reply.id, reply.rcode, a_records(reply)) == (4242, Rcode.NOERROR, ["10.96.0.10"])
        assert reply.answers[0].name == "WEB.default.svc.cluster.local"
        assert reply.flags & wire.AA
        [over_tcp] = await tcp_queries(
            server.port, [wire.query("web.default.svc.cluster.local", RRType.A)]
        )
        assert a_records(over_tcp) == ["10.96.0.10"]


async def test_nxdomain_and_nodata_over_the_wire() -> None:
    """A missing name is NXDOMAIN, AAAA of a Service NODATA, both with the SOA."""
    async with serving() as server:
        missing = await udp(server.port, "nope.default.svc.cluster.local")
        assert missing.rcode == Rcode.NXDOMAIN
        assert [rr.rtype for rr in missing.authority] == [RRType.SOA]
        nodata = await udp(server.port, "web.default.svc.cluster.local", RRType.AAAA)
        assert (nodata.rcode, nodata.answers) == (Rcode.NOERROR, ())
        assert [rr.rtype for rr in nodata.authority] == [RRType.SOA]


async def test_big_answers_are_truncated_over_udp_and_whole_over_tcp() -> None:
    """60 A records (about 1 KB): TC over plain UDP, whole with EDNS and over TCP."""
    async with serving() as server:
        cut = await udp(server.port, "many.default.svc.cluster.local")
        assert cut.flags & wire.TC and cut.answers == ()
        bigger = await udp(server.port, "many.default.svc.cluster.local", edns=4096)
        assert not bigger.flags & wire.TC and len(bigger.answers) == 60
        [whole] = await tcp_queries(
            server.port, [wire.query("many.default.svc.cluster.local", RRType.A)]
        )
        assert not whole.flags & wire.TC and len(a_records(whole)) == 60


async def test_several_queries_share_a_tcp_connection_until_idle() -> None:
    """Queries on one connection are answered in order; an idle one is closed."""
    async with serving(idle_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection(LOCAL, server.port)
        try:
            for ident in (1, 2, 3):
                data = wire.query("web.default.svc.cluster.local", RRType.A, ident=ident)
                writer.write(len(data).to_bytes(2) + data)
            await writer.drain()
            ids = []
            for _ in range(3):
                length = int.from_bytes(await reader.readexactly(2))
                ids.append(wire.decode(await reader.readexactly(length)).id)
            assert ids == [1, 2, 3]
            async with asyncio.timeout(3):
                assert await reader.read() == b""  # closed by the server when idle
        finally:
            writer.close()


async def test_other_names_are_forwarded_with_the_clients_id() -> None:
    """UDP goes upstream over UDP, TCP over TCP; the reply carries the client's ID."""
    async with FakeUpstream() as upstream, serving(upstreams=[(LOCAL, upstream.port)]) as server:
        reply = await udp(server.port, "example.com")
        assert (reply.id, reply.rcode, a_records(reply)) == (4242, Rcode.NOERROR, ["192.0.2.1"])
        [over_tcp] = await tcp_queries(server.port, [wire.query("example.org", RRType.A, ident=77)])
        assert (over_tcp.id, a_records(over_tcp)) == (77, ["192.0.2.1"])
        assert [(proto, q.questions[0].name) for proto, q in upstream.seen] == [
            ("udp", "example.com"),
            ("tcp", "example.org"),
        ]
        # A cluster name never reaches the upstream.
        await udp(server.port, "web.default.svc.cluster.local")
        assert len(upstream.seen) == 2


async def test_a_silent_upstream_is_skipped_then_servfail() -> None:
    """A timed-out upstream moves to the next; when none answers, SERVFAIL."""
    async with (
        FakeUpstream(silent=True) as silent,
        FakeUpstream() as good,
        serving(upstreams=[(LOCAL, silent.port), (LOCAL, good.port)], timeout=0.2) as server,
    ):
        reply = await udp(server.port, "example.com")
        assert a_records(reply) == ["192.0.2.1"]
        assert len(silent.seen) == 1
    async with (
        FakeUpstream(silent=True) as silent,
        serving(upstreams=[(LOCAL, silent.port)], timeout=0.2) as server,
    ):
        reply = await udp(server.port, "example.com")
        assert (reply.id, reply.rcode) == (4242, Rcode.SERVFAIL)
        [over_tcp] = await tcp_queries(server.port, [wire.query("example.net", RRType.A)])
        assert over_tcp.rcode == Rcode.SERVFAIL


async def test_no_upstreams_is_servfail() -> None:
    """Without resolvers, a name outside the cluster fails at once."""
    async with serving(upstreams=[]) as server:
        assert (await udp(server.port, "example.com")).rcode == Rcode.SERVFAIL


async def test_forwards_beyond_the_bound_get_servfail_at_once() -> None:
    """With one forward in flight allowed, a second concurrent one is refused at once."""
    async with (
        FakeUpstream(silent=True) as silent,
        serving(upstreams=[(LOCAL, silent.port)], timeout=1.5, max_forwards=1) as server,
    ):
        first = asyncio.ensure_future(udp(server.port, "slow.example"))
        await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        second = await udp(server.port, "fast.example")
        assert second.rcode == Rcode.SERVFAIL
        assert loop.time() - started < 1.0
        assert not first.done()
        assert (await first).rcode == Rcode.SERVFAIL


async def test_malformed_input_gets_formerr_or_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A readable header gets FORMERR; a fragment is dropped; nothing logs an error."""
    caplog.set_level(logging.DEBUG)
    async with serving() as server:
        header = (0x5151).to_bytes(2) + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        looped = header + b"\xc0\x0c\x00\x01\x00\x01"
        reply = wire.decode(await udp_exchange(server.port, looped))
        assert (reply.id, reply.rcode) == (0x5151, Rcode.FORMERR)
        with pytest.raises(TimeoutError):
            await udp_exchange(server.port, b"\x01\x02\x03", wait=0.3)
        [over_tcp] = await tcp_queries(server.port, [header])
        assert over_tcp.rcode == Rcode.FORMERR
        # Still serving after all that.
        assert a_records(await udp(server.port, "web.default.svc.cluster.local"))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_unsynced_records_get_servfail() -> None:
    """Before the caches sync, the server answers SERVFAIL rather than guessing."""
    async with serving(lambda: None) as server:
        reply = await udp(server.port, "web.default.svc.cluster.local")
        assert reply.rcode == Rcode.SERVFAIL


async def test_bind_failure_is_a_dns_error() -> None:
    """A port already taken is a DnsError naming the address, port and protocol."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOCAL, 0))
        port = taken.getsockname()[1]
        with pytest.raises(DnsError, match=rf"cannot listen on 127.0.0.1:{port}/udp: address"):
            async with DnsServer(zone, address=LOCAL, port=port):
                pass


async def test_tcp_bind_failure_is_a_dns_error_and_releases_udp() -> None:
    """TCP taken on the port: DnsError for tcp, and the UDP socket is not left bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOCAL, 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DnsError, match=rf"cannot listen on 127.0.0.1:{port}/tcp"):
            async with DnsServer(zone, address=LOCAL, port=port):
                pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind((LOCAL, port))


def test_resolv_conf_nameservers() -> None:
    """nameserver lines with IP literals are upstreams on port 53; the rest is skipped."""
    text = (
        "# comment\nsearch example.com\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n"
        "nameserver 2001:db8::53\nnameserver not-an-ip\nnameserver 192.0.2.53\n"
        "options ndots:2\n"
    )
    assert upstreams(resolvconf.parse(text)) == [("192.0.2.53", 53), ("2001:db8::53", 53)]
