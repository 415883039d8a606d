"""The DNS listeners: UDP and TCP on one address and port, cluster answers or forwarding.

Each query is decoded once and put to the current ``ClusterRecords`` (from a callable, so
the agent can swap it after a change; None until it has one, and then every query gets
SERVFAIL). When the name is not the cluster's, the raw packet goes to the host's
resolvers: UDP over UDP, one upstream after another with a deadline each, TCP over TCP.
A forwarded packet carries a fresh random ID from a fresh socket and the reply goes back
with the client's. At most ``max_forwards`` forwards are in flight; beyond that the
client gets SERVFAIL at once rather than a queue.

Bad input never raises out of here: an undecodable query with a readable header gets
FORMERR, anything shorter (or a response sent to us) is dropped, each with one debug
line. The server owns every task it starts (forwards, TCP connections) and cancels and
awaits them when its ``async with`` block ends.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import secrets
import socket
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from kubeproc.dns import wire
from kubeproc.dns.names import WireError
from kubeproc.dns.records import ClusterRecords
from kubeproc.dns.wire import Message, Rcode
from kubeproc.util import resolvconf
from kubeproc.util.resolvconf import DnsConfig

log = logging.getLogger(__name__)

Upstream = tuple[str, int]
BIND_RETRIES = 8
"""Attempts at one ephemeral port free for both UDP and TCP (port 0 in tests)."""


class DnsError(Exception):
    """The server cannot run, e.g. its address cannot be bound."""


def upstreams(config: DnsConfig) -> list[Upstream]:
    """The usable nameservers: IP literals without a zone index, port 53, once each."""
    found: list[Upstream] = []
    for server in config.servers:
        if "%" in server:
            continue  # a scoped IPv6 address (fe80::1%eth0) needs its interface: skipped
        try:
            ip = ipaddress.ip_address(server)
        except ValueError:
            continue
        if (str(ip), 53) not in found:
            found.append((str(ip), 53))
    return found


def host_upstreams(path: Path = Path("/etc/resolv.conf")) -> list[Upstream]:
    return upstreams(resolvconf.read(path))


@dataclass(frozen=True)
class _Forward:
    """A decoded query no cluster name answers: it goes upstream as received."""

    query: Message
    data: bytes


class _UdpListener(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.closed = asyncio.Event()
        """Set once the socket is really closed (``close`` only schedules it)."""

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server._datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("dns udp error reason=%s", exc)


class _UdpReply(asyncio.DatagramProtocol):
    """One upstream exchange: the first reply carrying our ID settles ``future``."""

    def __init__(self, future: asyncio.Future[bytes], ident: int) -> None:
        self.future = future
        self.ident = ident

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if wire.read_id(data) == self.ident and not self.future.done():
            self.future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.future.done():
            self.future.set_exception(exc)  # ICMP unreachable: try the next upstream now


class DnsServer:
    """Serves while inside ``async with``; ``port`` is the bound port once entered."""

    def __init__(
        self,
        records: Callable[[], ClusterRecords | None],
        *,
        address: str,
        port: int = 53,
        upstreams: Sequence[Upstream] = (),
        timeout: float = 2.0,
        max_forwards: int = 256,
        idle_timeout: float = 10.0,
        max_connections: int = 128,
    ) -> None:
        self.records = records
        self.address = address
        self.port = port
        self.upstreams = [u for u in upstreams if u != (address, port)]
        self.timeout = timeout
        self.max_forwards = max_forwards
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_listener = _UdpListener(self)
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections = 0
        self._forwards = 0

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> DnsServer:
        for _ in range(BIND_RETRIES):
            if await self._bind():
                return self
        raise DnsError(f"cannot listen on {self.address}: no port free for both udp and tcp")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def _bind(self) -> bool:
        """Both listeners on one port; False when an ephemeral pick is taken for TCP."""
        loop = asyncio.get_running_loop()
        try:
            udp = _bound_socket(socket.SOCK_DGRAM, self.address, self.port)
            self._udp, self._udp_listener = await loop.create_datagram_endpoint(
                lambda: _UdpListener(self), sock=udp
            )
        except OSError as err:
            raise DnsError(_bind_message(self.address, self.port, "udp", err)) from err
        port = int(self._udp.get_extra_info("sockname")[1])
        try:
            tcp = _bound_socket(socket.SOCK_STREAM, self.address, port)
            self._tcp = await asyncio.start_server(self._connection, sock=tcp)
        except OSError as err:
            await self._close()
            if self.port == 0 and err.errno == errno.EADDRINUSE:
                return False
            raise DnsError(_bind_message(self.address, port, "tcp", err)) from err
        self.port = port
        return True

    async def _close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            await self._udp_listener.closed.wait()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()
            self._tcp = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- answering ----------------------------------------------------------------------

    def _decide(self, data: bytes, *, limit: Callable[[Message], int] | None) -> bytes | _Forward:
        """A reply to send (empty: nothing to send), or a query to forward."""
        try:
            query = wire.decode_query(data)
        except WireError as err:
            log.debug("dns malformed query reason=%s", err)
            return wire.header_error(data, Rcode.FORMERR) or b""
        try:
            if query.opcode != 0:
                return wire.response(query, Rcode.NOTIMP, authoritative=False)
            records = self.records()
            if records is None:  # the caches are not synced: no answer rather than a wrong one
                return wire.response(query, Rcode.SERVFAIL, authoritative=False)
            question = query.questions[0]
            answer = None
            if question.qclass == wire.CLASS_IN:
                answer = records.lookup(question.name, question.qtype)
            if answer is None:
                return _Forward(query, data)
            return wire.response(
                query,
                answer.rcode,
                answer.answers,
                answer.authority,
                answer.additional,
                limit=limit(query) if limit is not None else None,
            )
        except Exception:  # a bug answering one query must not stop the server
            log.exception("dns failed to answer query")
            return wire.header_error(data, Rcode.SERVFAIL) or b""

    def _datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        decided = self._decide(data, limit=_udp_limit)
        if isinstance(decided, _Forward):
            if self._forwards >= self.max_forwards:
                log.debug("dns forward refused in_flight=%d", self._forwards)
                self._send(wire.response(decided.query, Rcode.SERVFAIL, authoritative=False), addr)
                return
            self._spawn(self._forward_datagram(decided, addr))
        elif decided:
            self._send(decided, addr)

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._udp is not None:
            self._udp.sendto(data, addr)

    async def _forward_datagram(self, forward: _Forward, addr: tuple[str, int]) -> None:
        try:
            self._send(await self._forward(forward, tcp=False), addr)
        except Exception:  # a bug in one forward must not stop the server
            log.exception("dns failed to forward query")

    async def _forward(self, forward: _Forward, *, tcp: bool) -> bytes:
        """The first upstream's reply, with the client's ID; SERVFAIL when none answers."""
        self._forwards += 1
        try:
            for upstream in self.upstreams:
                try:
                    async with asyncio.timeout(self.timeout):
                        if tcp:
                            reply = await _tcp_exchange(upstream, forward.data)
                        else:
                            reply = await _udp_exchange(upstream, forward.data)
                    return wire.with_id(reply, forward.query.id)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as err:
                    log.debug(
                        "dns upstream failed upstream=%s:%d reason=%s",
                        *upstream,
                        type(err).__name__,
                    )
        finally:
            self._forwards -= 1
        return wire.response(forward.query, Rcode.SERVFAIL, authoritative=False)

    # -- tcp ----------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._connections += 1
        try:
            if self._connections <= self.max_connections:
                await self._serve_stream(reader, writer)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass  # idle, closed or reset by the client: the connection is over either way
        finally:
            self._connections -= 1
            self._tasks.discard(task)
            writer.close()

    async def _serve_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            async with asyncio.timeout(self.idle_timeout):
                length = int.from_bytes(await reader.readexactly(2))
                data = await reader.readexactly(length)
            decided = self._decide(data, limit=None)
            if isinstance(decided, _Forward):
                if self._forwards >= self.max_forwards:
                    decided = wire.response(decided.query, Rcode.SERVFAIL, authoritative=False)
                else:
                    decided = await self._forward(decided, tcp=True)
            if not decided:
                return
            writer.write(len(decided).to_bytes(2) + decided)
            async with asyncio.timeout(self.idle_timeout):  # a client that never reads
                await writer.drain()


def _udp_limit(query: Message) -> int:
    advertised = query.udp_size
    if advertised is None:
        return wire.UDP_LIMIT
    return max(wire.UDP_LIMIT, min(advertised, wire.EDNS_SIZE))


IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)  # Linux's value; the name is Python 3.12+


def _bound_socket(kind: int, address: str, port: int) -> socket.socket:
    """A socket bound to ``address`` even before that address exists (``IP_FREEBIND``).

    The node's bridge and its gateway address come up with the Service proxy or the
    first pod; the server may start first, and answers once the address is there.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _bind_message(address: str, port: int, proto: str, err: OSError) -> str:
    reason = os.strerror(err.errno).lower() if err.errno else str(err)
    if err.errno == errno.EADDRINUSE:
        reason = "address in use"
    return f"cannot listen on {address}:{port}/{proto}: {reason}"


async def _udp_exchange(upstream: Upstream, data: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    ident = secrets.randbits(16)
    future: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _UdpReply(future, ident), remote_addr=upstream
    )
    try:
        transport.sendto(wire.with_id(data, ident))
        return await future
    finally:
        transport.close()


async def _tcp_exchange(upstream: Upstream, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*upstream)
    try:
        writer.write(len(data).to_bytes(2) + data)
        await writer.drain()
        length = int.from_bytes(await reader.readexactly(2))
        return await reader.readexactly(length)
    finally:
        writer.close()
