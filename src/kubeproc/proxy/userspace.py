"""The userspace Service proxy: listeners on the Service addresses, one per Service port.

``UserspaceBackend`` is the proxy core's ``ProxyBackend`` for ``--proxy-mode userspace``
(the process runtime, or by choice). ``apply`` takes the whole current ``ServicePortMap``
and diffs it against what is open: each TCP Service port gets a listener on its cluster
IP, its load-balancer ingress and external IPs at ``port``, and, for a node port, on
127.0.0.1 and the node's gateway address. Each accepted connection is forwarded to one
usable endpoint picked by the port's ``EndpointChooser``; a connect that is refused or
does not complete within ``connect_timeout`` is retried at once on the next endpoint, so a
crashed pod costs no failed request (kube-proxy's userspace mode retried the same way).
With no usable endpoint, or when every one fails, the client gets an RST at once.

Endpoint changes touch only the chooser: connections already spliced keep flowing, even
to an endpoint that left (as conntrack keeps a DNAT'd flow). A Service port that leaves
the map loses its listeners; its established connections run on until they end or the
backend exits. Exit closes every listener and connection.

Binding a virtual IP needs it to be local: entering the backend installs ``routes``'
local route for the whole Service CIDR (on the bridge with the oci runtime, on ``lo``
with the process runtime), and leaving removes it. Without root (the process runtime)
that fails: the backend carries on, and an address that cannot be bound is logged once
and skipped; node ports on 127.0.0.1 and VIPs inside 127.0.0.0/8 still work. The byte
shuffling lives in ``userspacerelay``, the endpoint policy in ``userspace_chooser``.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from kubeproc.proxy.backend import BackendContext, ProxyError, ProxyMode
from kubeproc.proxy.model import ServicePort, ServicePortMap, ServicePortName
from kubeproc.proxy.routes import HostRoutes
from kubeproc.proxy.userspace_chooser import Address, EndpointChooser
from kubeproc.proxy.userspacerelay import (
    ClientPipe,
    ConnectionTable,
    SourceAddressError,
    dial,
    reset,
    splice,
)
from kubeproc.util.clock import Clock, SystemClock

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 1.0
LISTEN_BACKLOG = 1024
# A connection tries each usable endpoint at most once, and never more than this many.
MAX_ATTEMPTS = 16
LOOPBACK = "127.0.0.1"


class Routes(Protocol):
    """What makes Service addresses local to the host (``routes.HostRoutes``)."""

    async def install(self) -> None: ...

    async def remove(self) -> None: ...


class _PortProxy:
    """One Service port: its chooser, and the forwarding of each accepted connection."""

    def __init__(self, name: ServicePortName, backend: UserspaceBackend) -> None:
        self.name = name
        self.chooser = EndpointChooser()
        self._backend = backend

    def update(self, port: ServicePort) -> None:
        self.chooser.update([(e.ip, e.port) for e in port.usable], port.affinity_timeout)

    def protocol(self) -> ClientPipe:
        return ClientPipe(self._backend.table, self._accepted)

    def _accepted(self, client: ClientPipe) -> None:
        transport = client.transport
        if transport is None:
            return
        if not self.chooser.endpoints:
            log.debug("no usable endpoint, resetting service=%s", self.name)
            reset(transport)
            return
        self._backend.table.spawn(self._forward(client, transport))

    async def _forward(self, client: ClientPipe, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        client_ip = str(peer[0]) if peer else ""
        backend = self._backend
        tried: list[Address] = []
        while len(tried) < MAX_ATTEMPTS:
            address = self.chooser.choose(client_ip, backend.clock.monotonic(), tried)
            if address is None:
                break
            tried.append(address)
            try:
                sock = await backend.dial(address)
            except OSError as err:  # refused, unreachable, or TimeoutError
                log.debug(
                    "endpoint connect failed, trying the next service=%s endpoint=%s:%d reason=%r",
                    self.name,
                    *address,
                    err,
                )
                continue
            if client.lost:
                sock.close()
                return
            try:
                await splice(backend.table, client, sock)
            except OSError as err:
                log.debug("splice failed service=%s reason=%r", self.name, err)
                break
            return
        log.debug("no endpoint took the connection service=%s tried=%d", self.name, len(tried))
        if not client.lost:
            reset(transport)


@dataclass
class _Listener:
    proxy: _PortProxy
    server: asyncio.Server


class UserspaceBackend:
    """Listeners for every TCP Service port, forwarding to its endpoints (a ProxyBackend)."""

    protocols = frozenset({"TCP"})

    def __init__(
        self,
        *,
        gateway: str | None = None,
        proxy_source: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        clock: Clock | None = None,
        routes: Routes | None = None,
        routes_required: bool = True,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._routes = routes
        self.routes_required = routes_required
        self._routes_installed = False
        self.table = ConnectionTable()
        self._gateway = gateway
        self._source = proxy_source
        self._connect_timeout = connect_timeout
        self._proxies: dict[ServicePortName, _PortProxy] = {}
        self._listeners: dict[Address, _Listener] = {}
        self._unbindable: set[Address] = set()
        self._not_proxied: set[ServicePortName] = set()

    @property
    def listening(self) -> frozenset[Address]:
        """The addresses with an open listener."""
        return frozenset(self._listeners)

    async def __aenter__(self) -> UserspaceBackend:
        if self._routes is not None:
            try:
                await self._routes.install()
                self._routes_installed = True
            except ProxyError as err:
                if self.routes_required:
                    raise
                log.warning(
                    "service CIDR not routed locally, only loopback VIPs and node ports can "
                    "be served reason=%s",
                    err,
                )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for address in list(self._listeners):
            self._close_listener(address)
        self._proxies.clear()
        try:
            await self.table.close()
        finally:
            if self._routes is not None and self._routes_installed:
                self._routes_installed = False
                await self._routes.remove()

    async def apply(self, ports: ServicePortMap) -> None:
        wanted: dict[Address, _PortProxy] = {}
        for name, port in sorted(ports.items()):
            if port.protocol != "TCP":
                if name not in self._not_proxied:
                    self._not_proxied.add(name)
                    log.warning(
                        "userspace mode proxies TCP only, not proxying service=%s protocol=%s",
                        name,
                        port.protocol,
                    )
                continue
            proxy = self._proxies.get(name)
            if proxy is None:
                proxy = self._proxies[name] = _PortProxy(name, self)
            proxy.update(port)
            for address in self._addresses(port):
                wanted.setdefault(address, proxy)
        for name in [n for n in self._proxies if n not in ports or ports[n].protocol != "TCP"]:
            del self._proxies[name]
        self._not_proxied &= set(ports)
        for address, listener in list(self._listeners.items()):
            if wanted.get(address) is not listener.proxy:
                self._close_listener(address)
        for address, proxy in wanted.items():
            if address not in self._listeners:
                await self._open_listener(address, proxy)

    def _addresses(self, port: ServicePort) -> list[Address]:
        ips = [port.cluster_ip, *port.load_balancer_ips, *port.external_ips]
        found = [(ip, port.port) for ip in ips if ip and ip != "None"]
        if port.node_port:
            found.append((LOOPBACK, port.node_port))
            if self._gateway:
                found.append((self._gateway, port.node_port))
        return found

    async def _open_listener(self, address: Address, proxy: _PortProxy) -> None:
        try:
            sock = _listen_socket(address)
        except OSError as err:
            if address not in self._unbindable:
                self._unbindable.add(address)
                log.warning(
                    "cannot listen, service address not proxied service=%s address=%s:%d reason=%s",
                    proxy.name,
                    *address,
                    err.strerror or err,
                )
            return
        self._unbindable.discard(address)
        server = await asyncio.get_running_loop().create_server(
            proxy.protocol, sock=sock, backlog=LISTEN_BACKLOG
        )
        self._listeners[address] = _Listener(proxy, server)
        log.info("listening service=%s address=%s:%d", proxy.name, *address)

    def _close_listener(self, address: Address) -> None:
        listener = self._listeners.pop(address)
        listener.server.close()
        log.info("stopped listening service=%s address=%s:%d", listener.proxy.name, *address)

    async def dial(self, address: Address) -> socket.socket:
        """Connect to an endpoint from the proxy source address, when there is one."""
        try:
            return await dial(address, source=self._source, within=self._connect_timeout)
        except SourceAddressError as err:
            log.warning(
                "cannot use the proxy source address, dialling endpoints from the default "
                "source source=%s reason=%s",
                self._source,
                err.strerror or err,
            )
            self._source = None
            return await dial(address, source=None, within=self._connect_timeout)


def _listen_socket(address: Address) -> socket.socket:
    ip, port = address
    try:
        version = ipaddress.ip_address(ip).version
    except ValueError:
        raise OSError(errno.EINVAL, f"not an IP address: {ip!r}") from None
    if version != 4:
        raise OSError(errno.EAFNOSUPPORT, "only IPv4 service addresses are proxied")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setblocking(False)
        sock.bind((ip, port))
    except BaseException:
        sock.close()
        raise
    return sock


def userspace_backend(ctx: BackendContext) -> UserspaceBackend:
    """The userspace proxy for a node, from the proxy core's context.

    With the oci runtime the local service route is required (clients reach VIPs only
    through it); with the process runtime it is tried, and without root the proxy serves
    what loopback allows.
    """
    return UserspaceBackend(
        gateway=ctx.gateway or None,
        proxy_source=ctx.proxy_source or None,
        routes=HostRoutes(ctx, ProxyMode.USERSPACE),
        routes_required=ctx.runtime == "oci",
    )
