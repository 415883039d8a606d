"""Exec and attach on the kubelet: check the container, hand out a stream, run the session.

Owns the kubelet's half of ``kubectl exec`` and ``kubectl attach``, in the CRI's shape:
``prepare`` checks the request (a running instance of the container, sane stream
options) and registers a pending session under a single-use token, which the apiserver
redeems at ``/streams/<token>`` within ``TOKEN_TTL`` seconds; ``upgrade`` does both for a
WebSocket client that asks ``/exec/...`` directly. Checks fail with the kubelet's plain
texts (``container not found ("c")``) before any upgrade, so the caller can read them.

The session itself speaks the WebSocket channel protocol (``server_session``).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from aiohttp import web

from kubeproc.api.errors import BadRequest
from kubeproc.api.remotecommand import WEBSOCKET_PROTOCOLS, StreamOptions, negotiate
from kubeproc.kubelet.locator import PodContainers
from kubeproc.kubelet.runtime.types import Runtime
from kubeproc.kubelet.server_session import PendingSession, serve_attach, serve_exec
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

TOKEN_TTL = 60.0
"""How long a prepared session waits to be claimed (the CRI streaming cache's TTL)."""


class Refused(Exception):
    """A request the kubelet turns down with a plain-text answer."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True)
class _Entry:
    session: PendingSession
    deadline: float


class StreamTokens:
    """Prepared sessions by token: single use, forgotten after ``TOKEN_TTL``."""

    def __init__(self, clock: Clock, ttl: float = TOKEN_TTL) -> None:
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, _Entry] = {}

    def add(self, session: PendingSession) -> str:
        now = self._clock.monotonic()
        self._entries = {k: e for k, e in self._entries.items() if e.deadline > now}
        token = secrets.token_urlsafe(24)
        self._entries[token] = _Entry(session, now + self._ttl)
        return token

    def claim(self, token: str) -> PendingSession | None:
        entry = self._entries.pop(token, None)
        if entry is None or entry.deadline <= self._clock.monotonic():
            return None
        return entry.session


class ExecHandlers:
    def __init__(self, locator: PodContainers, runtime: Runtime, clock: Clock) -> None:
        self._locator = locator
        self._runtime = runtime
        self._tokens = StreamTokens(clock)

    def _check(self, request: web.Request) -> PendingSession:
        """The session a request asks for, if the container can serve it."""
        kind = "exec" if request.path.startswith("/exec/") else "attach"
        namespace = request.match_info["namespace"]
        pod = request.match_info["pod"]
        container = request.match_info["container"]
        options = StreamOptions.from_query(request.query)
        try:
            options.validate()
        except BadRequest as err:
            raise Refused(400, err.message) from None
        command = tuple(request.query.getall("command", [])) if kind == "exec" else ()
        if kind == "exec" and not command:
            raise Refused(400, "you must specify at least one command for the container")
        located = self._locator.locate(namespace, pod, container, previous=False)
        if (
            located is None
            or not located.running
            or not self._locator.is_running(located.container_id)
        ):
            if kind == "exec":
                raise Refused(500, f'container not found ("{container}")')
            raise Refused(500, f"container {container} not found in pod {pod}_{namespace}")
        return PendingSession(
            kind=kind,
            namespace=namespace,
            pod=pod,
            container=container,
            container_id=located.container_id,
            log_path=located.log_path,
            argv=command,
            options=options,
        )

    async def prepare(self, request: web.Request) -> web.Response:
        """``POST /exec|attach/...``: check, then hand out the session's stream URL."""
        try:
            session = self._check(request)
        except Refused as refused:
            return web.Response(status=refused.status, text=refused.text)
        token = self._tokens.add(session)
        return web.json_response({"url": f"/streams/{token}"})

    async def upgrade(self, request: web.Request) -> web.StreamResponse:
        """``GET /exec|attach/...`` with a WebSocket upgrade: check and serve at once."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text="Upgrade request required")
        try:
            session = self._check(request)
        except Refused as refused:
            return web.Response(status=refused.status, text=refused.text)
        return await self._serve(request, session)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """``GET /streams/<token>``: the prepared session, as a WebSocket."""
        session = self._tokens.claim(request.match_info["token"])
        if session is None:
            return web.Response(status=404, text="404 page not found")
        return await self._serve(request, session)

    async def _serve(self, request: web.Request, session: PendingSession) -> web.StreamResponse:
        offered = request.headers.getall("Sec-WebSocket-Protocol", [])
        protocol = negotiate(offered, WEBSOCKET_PROTOCOLS)
        if protocol is None:
            return web.Response(
                status=400,
                text=f"unable to upgrade: no supported protocol in {', '.join(offered) or '[]'}",
            )
        ws = web.WebSocketResponse(protocols=(protocol,), autoping=True)
        await ws.prepare(request)
        log.info(
            "%s session pod=%s/%s container=%s",
            session.kind, session.namespace, session.pod, session.container,
        )  # fmt: skip
        if session.kind == "exec":
            await serve_exec(ws, self._runtime, session)
        else:
            await serve_attach(ws, self._locator, session)
        return ws
