"""``pods/{name}/log``, ``pods/{name}/exec`` and ``pods/{name}/attach``: checked here, served
by the pod's kubelet.

Owns what kube-apiserver decides before it proxies to the node: the options (``PodLogOptions``
parse errors are 400, bad values 422), the pod (404), the container (defaulted when the pod
has one, otherwise ``a container name must be specified ...``; unknown ones ``container c
is not valid for pod p``), the node, and for logs the container's state as its status
reports it (``container "c" in pod "p" is waiting to start: ContainerCreating``, no
previous instance, and so on: the kubelet's own checks, made here from the stored status
because the kubelet serves only bytes). Then it hands over to the kubelet
(``kubeletclient``) and streams the answer back.

Exec and attach accept both client protocols: WebSocket (GET, ``v5.channel.k8s.io`` or
``v4``) and SPDY/3.1 (POST, ``X-Stream-Protocol-Version``, kubectl up to 1.29 and every
kubectl's fallback). What a client sees when the kubelet refuses follows kube-apiserver
1.33: a v5 WebSocket is upgraded first and gets the failure as a ``Status`` on channel 3
(its stream translator), anything else gets the kubelet's plain-text answer as is (its
upgrade proxy), which kubectl prints as ``unable to upgrade connection: ...``.

The apiserver's resource handler calls ``PodProxy.handle`` for these three subresources.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import aiohttp
from aiohttp import web

from kubeproc.api.errors import (
    BadRequest,
    InternalError,
    MethodNotAllowed,
    StatusError,
)
from kubeproc.api.podlogs import PodLogOptions
from kubeproc.api.remotecommand import (
    PROTOCOL_V5,
    SPDY_PROTOCOLS,
    STREAM_PROTOCOL_HEADER,
    WEBSOCKET_PROTOCOLS,
    Channel,
    StreamOptions,
    encode_status,
    failure_status,
    frame,
    negotiate,
    offered_protocols,
)
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.apiserver.kubeletclient import (
    KubeletClient,
    KubeletEndpoint,
    KubeletRefused,
    KubeletUnavailable,
    endpoint,
    log_error,
)
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.podcontainers import log_status_error, validate_container
from kubeproc.apiserver.remotecommand import WebSocketChannel, relay
from kubeproc.apiserver.remotecommand_spdy import SpdyChannels, StreamsNotCreated
from kubeproc.apiserver.requestinfo import RequestInfo, Verb
from kubeproc.apiserver.spdy_server import SpdyConnection, is_spdy_upgrade

log = logging.getLogger(__name__)

SUBRESOURCES = frozenset({"log", "exec", "attach"})


def _unreachable(err: KubeletUnavailable) -> StatusError:
    # No reason: kubectl prints "Error from server: <message>", as for kube-apiserver.
    return StatusError(str(err))


class PodProxy:
    """Serves the streaming pod subresources; one per API server."""

    def __init__(self, objects: ObjectStore, registry: Registry, *, kubelet_token: str) -> None:
        self.objects = objects
        self.registry = registry
        self._token = kubelet_token

    async def handle(
        self, request: web.Request, rt: ResourceType, info: RequestInfo, verb: Verb
    ) -> web.StreamResponse:
        if info.subresource == "log" and verb is Verb.GET:
            return await self._log(request, rt, info)
        if info.subresource in ("exec", "attach") and verb in (Verb.GET, Verb.CREATE):
            return await self._stream(request, rt, info)
        raise MethodNotAllowed(
            "the server does not allow this method on the requested resource", details={}
        )

    def _kubelet(self, pod: dict[str, Any]) -> KubeletEndpoint | None:
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if not node_name:
            return None
        node_type = self.registry.get("", "v1", "nodes")
        node = self.objects.try_get(node_type, None, node_name) if node_type else None
        return endpoint(node_name, node)

    # -- logs ----------------------------------------------------------------------------

    async def _log(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.StreamResponse:
        options = PodLogOptions.from_query(request.query)
        options.validate(info.name)
        pod = self.objects.get(rt, info.namespace, info.name)
        container = validate_container(pod, options.container)
        try:
            target = self._kubelet(pod)
        except KubeletUnavailable as err:
            raise _unreachable(err) from None
        if target is None:
            # Not scheduled yet: kube-apiserver answers with an empty log.
            return web.Response(body=b"", content_type="text/plain")
        refusal = log_status_error(pod, container, previous=options.previous)
        if refusal is not None:
            raise refusal
        async with KubeletClient(target, self._token) as kubelet:
            try:
                upstream = await kubelet.logs(
                    pod["metadata"].get("namespace", ""),
                    info.name,
                    container,
                    options.kubelet_query(),
                )
            except KubeletRefused as refused:
                raise log_error(refused, info.name) from None
            except KubeletUnavailable as err:
                raise _unreachable(err) from None
            async with upstream:
                response = web.StreamResponse(headers={"Content-Type": "text/plain"})
                response.enable_chunked_encoding()
                await response.prepare(request)
                try:
                    async for chunk in upstream.content.iter_any():
                        await response.write(chunk)
                except aiohttp.ClientError as err:
                    # The status line is long gone; all that is left is to end the body.
                    log.info("log stream from the kubelet broke pod=%s: %s", info.name, err)
                await response.write_eof()
                return response

    # -- exec and attach -----------------------------------------------------------------

    async def _stream(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.StreamResponse:
        kind = info.subresource
        pod = self.objects.get(rt, info.namespace, info.name)
        container = validate_container(pod, request.query.get("container", ""))
        try:
            target = self._kubelet(pod)
        except KubeletUnavailable as err:
            raise StatusError(f"error dialing backend: {err}") from None
        if target is None:
            raise BadRequest(f"pod {info.name} does not have a host assigned")
        options = StreamOptions.from_query(request.query)
        command = request.query.getall("command", []) if kind == "exec" else []
        try:
            protocol, websocket = _client_protocol(request)
        except HandshakeRefused as refused:
            return web.Response(status=refused.status, text=refused.text)
        namespace = pod["metadata"].get("namespace", "")
        async with KubeletClient(target, self._token) as kubelet:
            try:
                path = await kubelet.prepare(
                    kind,
                    namespace=namespace,
                    pod=info.name,
                    container=container,
                    options=options,
                    command=command,
                )
                kubelet_ws = await kubelet.connect(path)
            except (KubeletRefused, KubeletUnavailable) as err:
                return await _refuse(request, protocol, websocket=websocket, err=err)
            log.info(
                "%s session pod=%s/%s container=%s protocol=%s",
                kind, namespace, info.name, container, protocol,
            )  # fmt: skip
            kubelet_side = WebSocketChannel(kubelet_ws)
            return await _serve(request, protocol, options, kubelet_side, websocket=websocket)


async def _serve(
    request: web.Request,
    protocol: str,
    options: StreamOptions,
    kubelet: WebSocketChannel,
    *,
    websocket: bool,
) -> web.StreamResponse:
    """Upgrade the client's connection and relay the session until it ends."""
    if websocket:
        ws = await _accept_websocket(request, protocol)
        await relay(WebSocketChannel(ws), kubelet)
        return ws
    conn = await SpdyConnection.upgrade(request, {STREAM_PROTOCOL_HEADER: protocol})
    client = SpdyChannels(conn, protocol, options)
    try:
        await client.open()
    except StreamsNotCreated as err:
        log.info("spdy session abandoned path=%s: %s", request.path, err)
        await kubelet.close()
        await conn.close()
        return conn.response
    await relay(client, kubelet)
    return conn.response


async def _refuse(
    request: web.Request,
    protocol: str,
    *,
    websocket: bool,
    err: KubeletRefused | KubeletUnavailable,
) -> web.StreamResponse:
    """The kubelet said no (or could not be reached): answer as kube-apiserver 1.33 does.

    A v5 WebSocket goes through its stream translator, which upgrades first and reports
    the failure of its own SPDY dial as an internal error on channel 3. Anything else goes
    through its upgrade proxy, which hands the kubelet's refusal over unchanged.
    """
    if websocket and protocol == PROTOCOL_V5:
        text = (
            f"unable to upgrade connection: {err.text}"
            if isinstance(err, KubeletRefused)
            else str(err)
        )
        failure = InternalError(
            f"Internal error occurred: {text}", details={"causes": [{"message": text}]}
        )
        return await _refuse_websocket(request, protocol, failure)
    if isinstance(err, KubeletRefused):
        return web.Response(status=err.status, text=err.text)
    raise StatusError(f"error dialing backend: {err}")


def _client_protocol(request: web.Request) -> tuple[str, bool]:
    """The negotiated channel protocol, and whether the client speaks WebSocket."""
    upgrade = request.headers.get("Upgrade", "").strip().lower()
    if upgrade == "websocket" and request.method == "GET":
        offered = offered_protocols(request.headers.getall("Sec-WebSocket-Protocol", []))
        chosen = negotiate(offered, WEBSOCKET_PROTOCOLS)
        if chosen is None:
            raise BadRequest(
                f"unable to upgrade: unable to negotiate protocol: client supports "
                f"[{' '.join(offered)}], server supports [{' '.join(WEBSOCKET_PROTOCOLS)}]"
            )
        return chosen, True
    if is_spdy_upgrade(request):
        offered = offered_protocols(request.headers.getall(STREAM_PROTOCOL_HEADER, []))
        if not offered:
            raise HandshakeRefused(400, f"unable to upgrade: {STREAM_PROTOCOL_HEADER} is required")
        chosen = negotiate(offered, SPDY_PROTOCOLS)
        if chosen is None:
            raise HandshakeRefused(
                403,
                f"unable to upgrade: unable to negotiate protocol: client supports "
                f"[{' '.join(offered)}], server accepts [{' '.join(SPDY_PROTOCOLS)}]",
            )
        return chosen, False
    raise BadRequest("Upgrade request required")


class HandshakeRefused(Exception):
    """A protocol handshake failure: the streaming server's plain-text answer, not a Status."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


async def _accept_websocket(request: web.Request, protocol: str) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=(protocol,), autoping=True)
    await ws.prepare(request)
    return ws


async def _refuse_websocket(
    request: web.Request, protocol: str, failure: StatusError
) -> web.WebSocketResponse:
    """Upgrade, send the failure on the error channel, close: kube-apiserver's translator."""
    ws = await _accept_websocket(request, protocol)
    channel = WebSocketChannel(ws)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await channel.send(frame(Channel.ERROR, encode_status(failure_status(failure))))
    await channel.close()
    return ws
