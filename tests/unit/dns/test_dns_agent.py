"""ClusterDns: the informers' objects answer on a real socket, and changes show at once.

The API is ``FakeApi`` over a dict and time is ``FakeClock``; the server listens on
127.0.0.1 on a port the kernel picks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.unit.kubelet.kubelet_fakes import FakeApi, settle

from kubeproc.api.resources import REGISTRY
from kubeproc.dns import wire
from kubeproc.dns.agent import ClusterDns
from kubeproc.dns.wire import A, Message, Rcode, RRType
from kubeproc.util.clock import FakeClock

LOCAL = "127.0.0.1"


async def ask(port: int, name: str, qtype: int = RRType.A) -> Message:
    loop = asyncio.get_running_loop()
    received: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if not received.done():
                received.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(LOCAL, port))
    try:
        transport.sendto(wire.query(name, qtype, ident=7))
        async with asyncio.timeout(3):
            return wire.decode(await received)
    finally:
        transport.close()


def addresses(message: Message) -> list[str]:
    return [rr.data.address for rr in message.answers if isinstance(rr.data, A)]


@pytest.fixture
async def running() -> AsyncIterator[tuple[ClusterDns, FakeApi]]:
    clock = FakeClock()
    api = FakeApi(clock)
    api.put("namespaces", {"metadata": {"name": "default"}})
    api.put(
        "services",
        {
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443}]},
        },
    )
    dns = ClusterDns(api, REGISTRY, clock, address=LOCAL, port=0, upstreams=[])
    task = asyncio.create_task(dns.run())
    await settle()
    try:
        yield dns, api
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_services_answer_and_changes_show_at_once(
    running: tuple[ClusterDns, FakeApi],
) -> None:
    """kubernetes.default answers; a new headless Service's endpoints answer next query."""
    dns, api = running
    assert dns.port != 0
    assert addresses(await ask(dns.port, "kubernetes.default.svc.cluster.local")) == ["10.96.0.1"]
    assert (await ask(dns.port, "db.default.svc.cluster.local")).rcode == Rcode.NXDOMAIN
    api.put("services", {"metadata": {"name": "db"}, "spec": {"clusterIP": "None"}})
    api.put(
        "endpointslices",
        {
            "metadata": {"name": "db-1", "labels": {"kubernetes.io/service-name": "db"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.9"], "conditions": {"ready": True}}],
        },
    )
    await settle()
    assert addresses(await ask(dns.port, "db.default.svc.cluster.local")) == ["10.244.0.9"]


async def test_namespaces_come_from_the_api(running: tuple[ClusterDns, FakeApi]) -> None:
    """A namespace with nothing in it is NODATA once it exists, NXDOMAIN before."""
    dns, api = running
    assert (await ask(dns.port, "quiet.svc.cluster.local")).rcode == Rcode.NXDOMAIN
    api.put("namespaces", {"metadata": {"name": "quiet"}})
    await settle()
    reply = await ask(dns.port, "quiet.svc.cluster.local")
    assert (reply.rcode, reply.answers) == (Rcode.NOERROR, ())


async def test_the_port_is_released_when_run_ends() -> None:
    """After cancellation the UDP and TCP ports can be bound again."""
    clock = FakeClock()
    dns = ClusterDns(FakeApi(clock), REGISTRY, clock, address=LOCAL, port=0, upstreams=[])
    task = asyncio.create_task(dns.run())
    await settle()
    port = dns.port
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=(LOCAL, port)
    )
    transport.close()
    server = await asyncio.start_server(lambda r, w: None, LOCAL, port)
    server.close()
    await server.wait_closed()
