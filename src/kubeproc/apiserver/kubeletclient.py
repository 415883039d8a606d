"""How the apiserver reaches a node's kubelet: where it listens, how to ask, what errors mean.

Owns the apiserver's half of the kubelet protocol. Like kube-apiserver's node connection
info, the address comes from the Node: ``status.daemonEndpoints.kubeletEndpoint.Port``,
on 127.0.0.1 (the one node is this machine, and the kubelet listens on loopback only).
Every request carries ``Authorization: Bearer <kubelet token>``, a secret the node process
generates and gives to both sides; the transport is plain HTTP, which never leaves
loopback. The requests:

* ``GET /containerLogs/{ns}/{pod}/{container}?<PodLogOptions>``: the log, ``text/plain``
  (chunked while following); errors are plain text with the kubelet's status code.
* ``POST /exec/{ns}/{pod}/{container}?command=..&stdin=1&stdout=1&stderr=1&tty=1`` (and
  ``/attach/...`` without a command): the kubelet checks the container and answers
  ``{"url": "/streams/<token>"}``, or a plain-text error (500 ``container not found
  ("c")``), readable before any upgrade. Then ``GET /streams/<token>`` as a WebSocket with
  subprotocol ``v5.channel.k8s.io`` carries the session (single use, short-lived). This
  is the CRI's own shape (``Exec`` returns a streaming URL); it exists because an aiohttp
  WebSocket client cannot read the body of a refused upgrade.
* ``GET /metrics`` (the kubelet's Prometheus text) and ``GET /probeHistory/{ns}/{pod}?uid=
  &container=`` (probe attempts, JSON): small reads, ``fetch``.

Failures become what kube-apiserver's ``GenericHttpResponseChecker`` and upgrade proxy
make of them, since kubectl prints those texts.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from kubeproc.api.errors import (
    BadRequest,
    Forbidden,
    InternalError,
    NotFound,
    StatusError,
    Unauthorized,
)
from kubeproc.api.remotecommand import PROTOCOL_V5, StreamOptions

log = logging.getLogger(__name__)

KUBELET_HOST = "127.0.0.1"
CONNECT_TIMEOUT = 5.0
PREPARE_TIMEOUT = 30.0


class KubeletUnavailable(Exception):
    """The kubelet could not be reached; the message reads like Go's dial error."""


class KubeletRefused(Exception):
    """The kubelet answered a request with an error before any upgrade."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status}: {text}")
        self.status = status
        self.text = text


@dataclass(frozen=True)
class KubeletEndpoint:
    node: str
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def endpoint(node_name: str, node: dict[str, Any] | None) -> KubeletEndpoint:
    """The kubelet of ``node_name``, from its Node object (NotFound if there is none)."""
    if node is None:
        raise NotFound(
            f'nodes "{node_name}" not found', details={"name": node_name, "kind": "nodes"}
        )
    status = node.get("status") or {}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not isinstance(port, int) or port <= 0:
        raise KubeletUnavailable(f'the kubelet of node "{node_name}" is not serving yet')
    return KubeletEndpoint(node_name, KUBELET_HOST, port)


def log_error(refused: KubeletRefused, pod_name: str) -> StatusError:
    """A refused log request as kube-apiserver's ``GenericHttpResponseChecker`` reports it."""
    text = refused.text
    if refused.status == 400:
        return BadRequest(text)
    if refused.status == 500:
        return InternalError(
            f"Internal error occurred: {text}", details={"causes": [{"message": text}]}
        )
    details = {
        "name": pod_name,
        "kind": "pods/log",
        "causes": [{"reason": "UnexpectedServerResponse", "message": text}],
    }
    suffix = f" ( pods/log {pod_name})"
    if refused.status == 404:
        return NotFound(
            f"the server could not find the requested resource{suffix}", details=details
        )
    if refused.status == 401:
        return Unauthorized(
            f"the server has asked for the client to provide credentials{suffix}", details=details
        )
    if refused.status == 403:
        return Forbidden(text, details=details)
    return StatusError(
        f"the server responded with the status code {refused.status} but did not return more "
        f"information{suffix}",
        details=details,
    )


def _dial_error(exc: aiohttp.ClientConnectorError, target: KubeletEndpoint) -> str:
    reason = {
        errno.ECONNREFUSED: "connect: connection refused",
        errno.ETIMEDOUT: "i/o timeout",
    }.get(exc.os_error.errno or 0, exc.os_error.strerror or str(exc.os_error))
    return f"dial tcp {target.host}:{target.port}: {reason}"


class KubeletClient:
    """One conversation with a kubelet; use as ``async with``, which owns the HTTP session."""

    def __init__(self, target: KubeletEndpoint, token: str) -> None:
        self.target = target
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KubeletClient:
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT)
        self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use KubeletClient as a context manager"
        return self._session

    def url(self, path: str) -> str:
        return self.target.base_url + path

    async def logs(
        self, namespace: str, pod: str, container: str, query: Sequence[tuple[str, str]]
    ) -> aiohttp.ClientResponse:
        """The open log response (status 200); the caller reads and releases it."""
        url = self.url(f"/containerLogs/{namespace}/{pod}/{container}")
        try:
            resp = await self.session.get(url, params=list(query), headers=self._headers)
        except aiohttp.ClientConnectorError as exc:
            raise KubeletUnavailable(f'Get "{url}": {_dial_error(exc, self.target)}') from exc
        if resp.status != 200:
            text = (await resp.text(errors="replace")).strip()
            resp.release()
            raise KubeletRefused(resp.status, text)
        return resp

    async def fetch(self, path: str, query: Sequence[tuple[str, str]] = ()) -> bytes:
        """A small read (metrics, probe history): the body of a 200, else ``KubeletRefused``."""
        url = self.url(path)
        try:
            async with self.session.get(
                url,
                params=list(query),
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=PREPARE_TIMEOUT),
            ) as resp:
                body = await resp.read()
        except aiohttp.ClientConnectorError as exc:
            raise KubeletUnavailable(f'Get "{url}": {_dial_error(exc, self.target)}') from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeletUnavailable(f"error talking to the kubelet: {exc}") from exc
        if resp.status != 200:
            raise KubeletRefused(resp.status, body.decode(errors="replace").strip())
        return body

    async def prepare(
        self,
        kind: str,
        *,
        namespace: str,
        pod: str,
        container: str,
        options: StreamOptions,
        command: Sequence[str],
    ) -> str:
        """Ask for an exec or attach session; returns the URL path of its stream."""
        query = [("command", c) for c in command] + options.query()
        url = self.url(f"/{kind}/{namespace}/{pod}/{container}")
        try:
            async with self.session.post(
                url,
                params=query,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=PREPARE_TIMEOUT),
            ) as resp:
                if resp.status != 200:
                    text = (await resp.text(errors="replace")).strip()
                    raise KubeletRefused(resp.status, text)
                body = await resp.json()
        except aiohttp.ClientConnectorError as exc:
            raise KubeletUnavailable(_dial_error(exc, self.target)) from exc
        except (aiohttp.ClientError, ValueError, TimeoutError) as exc:
            raise KubeletUnavailable(f"error talking to the kubelet: {exc}") from exc
        stream = body.get("url") if isinstance(body, dict) else None
        if not isinstance(stream, str) or not stream.startswith("/"):
            raise KubeletUnavailable("the kubelet answered without a stream URL")
        return stream

    async def connect(self, path: str) -> aiohttp.ClientWebSocketResponse:
        """Open the session's stream (WebSocket, ``v5.channel.k8s.io``)."""
        try:
            ws = await self.session.ws_connect(
                self.url(path),
                protocols=(PROTOCOL_V5,),
                headers=self._headers,
                autoping=True,
            )
        except aiohttp.ClientConnectorError as exc:
            raise KubeletUnavailable(_dial_error(exc, self.target)) from exc
        except aiohttp.ClientError as exc:
            raise KubeletUnavailable(f"error connecting to the kubelet stream: {exc}") from exc
        if ws.protocol != PROTOCOL_V5:
            await ws.close()
            raise KubeletUnavailable("the kubelet did not accept v5.channel.k8s.io")
        return ws
