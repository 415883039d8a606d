"""An API server with the pod proxy routed in, a kubelet server behind it, and an SPDY
client: the pieces the pod proxy tests (and the kubectl tests) drive.

Until the resource handler calls ``PodProxy.handle`` itself, ``with_pod_proxy`` routes
``pods/{name}/log|exec|attach`` to it with one extra middleware, the same call the
handler will make.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from aiohttp import web

from kubeproc.api.resources import REGISTRY
from kubeproc.apiserver.app import build_app
from kubeproc.apiserver.bootstrap import ensure_system_namespaces
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.podproxy import SUBRESOURCES, PodProxy
from kubeproc.apiserver.requestinfo import parse_resource_path, verb_for
from kubeproc.apiserver.spdy import (
    Data,
    Frame,
    FrameDecoder,
    FrameEncoder,
    SynReply,
    SynStream,
)
from kubeproc.kubelet.locator import PodContainers
from kubeproc.kubelet.runtime.types import Runtime
from kubeproc.kubelet.server import KubeletServer
from kubeproc.storage import SqliteStore
from kubeproc.util.clock import SystemClock

API_TOKEN = "api-token"
KUBELET_TOKEN = "kubelet-token"
Handler = Callable[[web.Request], Any]


def with_pod_proxy(app: web.Application, objects: ObjectStore) -> web.Application:
    proxy = PodProxy(objects, REGISTRY, kubelet_token=KUBELET_TOKEN)
    pods = REGISTRY.get("", "v1", "pods")
    assert pods is not None

    @web.middleware
    async def route(request: web.Request, handler: Handler) -> web.StreamResponse:
        info = parse_resource_path(request.path, REGISTRY)
        if info is not None and info.plural == "pods" and info.subresource in SUBRESOURCES:
            verb = verb_for(request.method, info, watch=False)
            assert verb is not None
            return await proxy.handle(request, pods, info, verb)
        return cast(web.StreamResponse, await handler(request))

    app.middlewares.append(route)
    return app


@contextlib.asynccontextmanager
async def api_objects(tmp_path: Path) -> AsyncIterator[ObjectStore]:
    store = SqliteStore.open(tmp_path / "state.db")
    try:
        objects = ObjectStore(store, REGISTRY, SystemClock())
        ensure_system_namespaces(objects, REGISTRY)
        yield objects
    finally:
        store.close()


def api_app(objects: ObjectStore) -> web.Application:
    return with_pod_proxy(build_app(objects, REGISTRY, SystemClock(), token=API_TOKEN), objects)


@contextlib.asynccontextmanager
async def running_kubelet(locator: PodContainers, runtime: Runtime) -> AsyncIterator[int]:
    """A kubelet server on a loopback port for the duration; yields the port."""
    server = KubeletServer(locator, runtime, token=KUBELET_TOKEN)
    task = asyncio.create_task(server.run())
    try:
        await asyncio.wait_for(server.started.wait(), 5)
        assert server.port is not None
        yield server.port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def node(name: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": port}}},
    }


def pod(name: str, containers: list[str], *, init: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": c, "image": "busybox", "command": ["sh"]} for c in containers]
    }
    if init:
        spec["initContainers"] = [{"name": c, "image": "busybox", "command": ["sh"]} for c in init]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def running(name: str) -> dict[str, Any]:
    return {"name": name, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}


def waiting(name: str, reason: str) -> dict[str, Any]:
    return {"name": name, "state": {"waiting": {"reason": reason}}}


@dataclass
class SpdyExchange:
    """What an SPDY client saw: the reply head, and bytes per stream type."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    streams: dict[str, bytes] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)


async def spdy_exec(
    host: str,
    port: int,
    path: str,
    streams: list[str],
    *,
    stdin: list[bytes] | None = None,
    protocols: str = "v4.channel.k8s.io",
    token: str = API_TOKEN,
) -> SpdyExchange:
    """Play kubectl's SPDY exec: POST with Upgrade, one stream per role, stdin, read all."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            f"X-Stream-Protocol-Version: {protocols}\r\nContent-Length: 0\r\n\r\n"
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
        }
        if status != 101:
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            return SpdyExchange(status, headers, body)
        return await _spdy_session(reader, writer, SpdyExchange(status, headers), streams, stdin)
    finally:
        writer.close()


async def _spdy_session(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    exchange: SpdyExchange,
    streams: list[str],
    stdin: list[bytes] | None,
) -> SpdyExchange:
    encoder, decoder = FrameEncoder(), FrameDecoder()
    ids = {kind: 1 + 2 * i for i, kind in enumerate(streams)}
    roles = {v: k for k, v in ids.items()}
    pending: list[Frame] = []
    for kind, sid in ids.items():
        # Like kubectl: create each stream and wait for its reply before the next.
        writer.write(encoder.encode(SynStream(sid, (("streamtype", kind),))))
        while not any(isinstance(f, SynReply) and f.stream_id == sid for f in pending):
            data = await asyncio.wait_for(reader.read(65536), 5)
            assert data, "connection closed while creating streams"
            pending += decoder.feed(data)
    for chunk in stdin or []:
        writer.write(encoder.encode(Data(ids["stdin"], chunk)))
    if stdin is not None:
        writer.write(encoder.encode(Data(ids["stdin"], b"", fin=True)))
    while True:
        for f in pending:
            if isinstance(f, Data) and f.stream_id in roles:
                role = roles[f.stream_id]
                exchange.streams[role] = exchange.streams.get(role, b"") + f.data
                if f.fin:
                    exchange.finished.add(role)
        pending = []
        data = await asyncio.wait_for(reader.read(65536), 10)
        if not data:
            return exchange
        pending = decoder.feed(data)
