"""An SPDY/3.1 connection taken over from an aiohttp request after ``101 Switching Protocols``.

Owns the hijack, in one place: aiohttp only hands over connections for WebSocket, so for
``Upgrade: SPDY/3.1`` the request's protocol is given a payload parser (the same hook
aiohttp's WebSocket support uses) *before* the 101 goes out, so not one byte the client
sends after it is read as HTTP. From then on the connection is a frame pipe: ``receive``
yields the client's frames in order, ``send`` writes frames (header compression is
stateful, so encoding and writing happen under one lock), ``close`` says GOAWAY and waits
briefly for the client to hang up, so closing never resets output still in flight.

Inbound DATA is counted while queued; past a high-water mark the socket stops being read
until the consumer catches up, so a fast client cannot grow the queue without bound.
What the streams mean is the caller's business (``remotecommand_spdy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from aiohttp import web

from kubeproc.apiserver.spdy import Data, Frame, FrameDecoder, FrameEncoder, GoAway, SpdyError

log = logging.getLogger(__name__)

HIGH_WATER = 1 << 20
LOW_WATER = 1 << 18
CLOSE_WAIT_SECONDS = 2.0


def is_spdy_upgrade(request: web.BaseRequest) -> bool:
    return request.headers.get("Upgrade", "").strip().lower().startswith("spdy/3.1")


class _Parser:
    """The payload parser aiohttp feeds every byte received after the upgrade."""

    def __init__(self, conn: SpdyConnection) -> None:
        self._conn = conn
        self._decoder = FrameDecoder()
        self._failed = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._failed:
            return False, b""
        try:
            frames = self._decoder.feed(data)
        except SpdyError as err:
            log.info("spdy framing error from client: %s", err)
            self._failed = True
            self._conn._deliver(None)
            return False, b""
        for frame in frames:
            self._conn._deliver(frame)
        return False, b""

    def feed_eof(self) -> None:
        self._conn._deliver(None)


class SpdyConnection:
    """The server side of one upgraded connection; create it with ``upgrade``."""

    def __init__(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        self._request = request
        self._response = response
        self._frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._encoder = FrameEncoder()
        self._write_lock = asyncio.Lock()
        self._queued = 0
        self._paused = False
        self._eof = False
        self._closed = False

    @classmethod
    async def upgrade(cls, request: web.BaseRequest, headers: Mapping[str, str]) -> SpdyConnection:
        """Answer 101 with ``headers`` (plus the upgrade headers) and take the connection."""
        response = web.StreamResponse(
            status=101, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1", **headers}
        )
        response.force_close()
        conn = cls(request, response)
        # The parser goes in before the 101 is written: the client may start sending
        # frames the moment it reads the 101, and those bytes must not reach the HTTP parser.
        # aiohttp types the hook for its WebSocket reader; any object with feed_data and
        # feed_eof is what it calls.
        request.protocol.set_parser(_Parser(conn))  # type: ignore[arg-type]
        request.protocol.keep_alive(False)
        await response.prepare(request)
        return conn

    @property
    def response(self) -> web.StreamResponse:
        """What the handler returns once the connection is done."""
        return self._response

    def _deliver(self, frame: Frame | None) -> None:
        if self._eof:
            return
        if frame is None:
            self._eof = True
        elif isinstance(frame, Data):
            self._queued += len(frame.data)
            if self._queued > HIGH_WATER and not self._paused:
                self._set_reading(paused=True)
        self._frames.put_nowait(frame)

    def _set_reading(self, *, paused: bool) -> None:
        transport = self._request.transport
        if transport is None:
            return
        self._paused = paused
        with contextlib.suppress(RuntimeError):
            if paused:
                transport.pause_reading()
            else:
                transport.resume_reading()

    async def receive(self) -> Frame | None:
        """The client's next frame; None once it hung up or broke the framing."""
        frame = await self._frames.get()
        if frame is None:
            self._frames.put_nowait(None)  # every later call sees the end too
            return None
        if isinstance(frame, Data):
            self._queued -= len(frame.data)
            if self._paused and self._queued < LOW_WATER:
                self._set_reading(paused=False)
        return frame

    async def send(self, *frames: Frame) -> None:
        """Write frames in order; raises ``ConnectionError`` once the client is gone."""
        if self._closed:
            raise ConnectionResetError("spdy connection closed")
        async with self._write_lock:
            data = b"".join(self._encoder.encode(f) for f in frames)
            await self._response.write(data)

    async def close(self, last_stream_id: int = 0) -> None:
        """GOAWAY, end our half, and give the client a moment to close its side.

        Closing a socket that still has unread input makes the kernel send a reset, which
        can destroy output the client has not read yet; waiting for its EOF avoids that.
        """
        if self._closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.send(GoAway(last_stream_id))
        self._closed = True
        transport = self._request.transport
        if transport is not None and transport.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                transport.write_eof()
        if self._paused:
            self._set_reading(paused=False)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                while await self.receive() is not None:
                    pass
