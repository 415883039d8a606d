"""The kubelet's own HTTP server: container logs, exec and attach, for the apiserver only.

Owns the listener and the surface the apiserver proxies ``pods/{name}/log|exec|attach``
to (``kubeproc.apiserver.kubeletclient`` is the other side, and documents the protocol):

* ``GET /containerLogs/{ns}/{pod}/{container}?follow&previous&tailLines&sinceSeconds&
  sinceTime&timestamps&limitBytes``: ``text/plain``, chunked, flushed as read
  (``server_logs``);
* ``POST /exec/{ns}/{pod}/{container}?command=..&stdin&stdout&stderr&tty`` and
  ``POST /attach/...``: check the container, answer ``{"url": "/streams/<token>"}``;
  ``GET /streams/<token>``: the session as a WebSocket, ``v5.channel.k8s.io`` (or v4);
  ``GET /exec/...`` and ``GET /attach/...`` with a WebSocket upgrade do both at once, as
  a kubelet does for WebSocket clients (``server_exec``).
* ``GET /metrics`` (the prober's Prometheus families) and ``GET /probeHistory/{ns}/{pod}``
  (its probe history as JSON), from ``server_probes``.
* ``GET /stats/resource``: CPU and memory of the node and of each running container, as
  JSON (``server_stats``, which also samples them while the server runs).

Errors are plain text with the kubelet's status codes and words (a ``400`` ``previous
terminated container "c" in pod "p" not found``, a ``500`` ``container not found
("c")``); the apiserver turns them into what kube-apiserver would answer. Every request
needs ``Authorization: Bearer <token>``, the secret the node process shares with the
apiserver; the listener binds to loopback and speaks plain HTTP, which the token makes
private to the two of them. The server only reads: it finds containers through the
``PodContainers`` seam the kubelet's pod workers implement, and runs commands through
the runtime.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from kubeproc.kubelet.locator import PodContainers
from kubeproc.kubelet.runtime.types import Runtime
from kubeproc.kubelet.server_exec import ExecHandlers
from kubeproc.kubelet.server_logs import LogHandler
from kubeproc.kubelet.server_probes import ProbeHandlers
from kubeproc.kubelet.server_stats import StatsSampler
from kubeproc.util.clock import Clock, SystemClock

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


class KubeletServer:
    """Serves logs, exec and attach until cancelled; ``port`` is known once ``started``."""

    def __init__(
        self,
        locator: PodContainers,
        runtime: Runtime,
        *,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        if not token:
            raise ValueError("the kubelet server needs a token")
        self._host = host
        self._requested_port = port
        self._token = token
        self._logs = LogHandler(locator, clock or SystemClock())
        self._exec = ExecHandlers(locator, runtime, clock or SystemClock())
        self.stats = StatsSampler(runtime, clock or SystemClock())
        self.probes = ProbeHandlers()  # its history is attached once the kubelet exists
        self.port: int | None = None
        self.started = asyncio.Event()

    def app(self) -> web.Application:
        """The aiohttp application (``run`` serves it; tests may drive it directly)."""
        app = web.Application(middlewares=[self._authenticate])
        app.router.add_get("/healthz", _healthz)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._logs.handle)
        for kind in ("exec", "attach"):
            path = f"/{kind}/{{namespace}}/{{pod}}/{{container}}"
            app.router.add_post(path, self._exec.prepare)
            app.router.add_get(path, self._exec.upgrade)
        app.router.add_get("/streams/{token}", self._exec.stream)
        app.router.add_get("/stats/resource", self.stats.handle)
        app.router.add_get("/metrics", self.probes.metrics)
        app.router.add_get("/probeHistory/{namespace}/{pod}", self.probes.pod_history)
        return app

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), self._token.encode()
        ):
            return web.Response(status=401, text="Unauthorized")
        return await handler(request)

    async def run(self) -> None:
        runner = web.AppRunner(
            self.app(),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._requested_port, reuse_address=True)
            await site.start()
            self.port = _bound_port(runner)
            log.info("kubelet server listening address=%s:%s", self._host, self.port)
            self.started.set()
            await self.stats.run()  # samples resource usage until cancelled
        finally:
            await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("the kubelet server is not bound to a TCP port")
