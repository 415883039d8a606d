"""Relaying an exec or attach session between the client and the kubelet, frame by frame.

Owns the middle of the pipe. Both ends are seen as a ``FrameChannel`` of WebSocket-form
channel frames (first byte = channel): the kubelet always speaks ``v5.channel.k8s.io``
over WebSocket, a WebSocket client needs no translation, and an SPDY client is adapted by
``remotecommand_spdy``. ``relay`` copies both ways until one side ends: when the kubelet
ends (after its ``Status`` on channel 3) the client is closed properly; when the client
goes away the kubelet connection is closed, which ends the command there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from aiohttp import ClientWebSocketResponse, WSMsgType, web

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0


class FrameChannel(Protocol):
    async def recv(self) -> bytes | None:
        """The next frame; None once the peer has finished or gone."""

    async def send(self, message: bytes) -> None: ...

    async def close(self) -> None: ...


class WebSocketChannel:
    """A ``FrameChannel`` over an aiohttp WebSocket, server or client side."""

    def __init__(self, ws: web.WebSocketResponse | ClientWebSocketResponse) -> None:
        self._ws = ws

    async def recv(self) -> bytes | None:
        while True:
            msg = await self._ws.receive()
            if msg.type is WSMsgType.BINARY:
                data: bytes = msg.data
                return data
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return None
            if msg.type is WSMsgType.ERROR:
                log.info("websocket error: %s", msg.data)
                return None
            # Text frames belong to the base64 protocols, which are not offered.

    async def send(self, message: bytes) -> None:
        await self._ws.send_bytes(message)

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError, asyncio.TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._ws.close()


async def _copy(source: FrameChannel, target: FrameChannel) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        while (message := await source.recv()) is not None:
            await target.send(message)


async def relay(client: FrameChannel, kubelet: FrameChannel) -> None:
    """Copy frames both ways until one side ends, then close both."""
    async with asyncio.TaskGroup() as tasks:
        up = tasks.create_task(_copy(client, kubelet), name="exec-client-to-kubelet")
        down = tasks.create_task(_copy(kubelet, client), name="exec-kubelet-to-client")
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        # The other direction is reading; stop it before closing, since closing a
        # connection reads its peer's last frames itself.
        other = up if down.done() else down
        other.cancel()
        await asyncio.wait({other})
        await kubelet.close()
        await client.close()
