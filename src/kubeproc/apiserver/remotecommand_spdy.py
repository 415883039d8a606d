"""kubectl's SPDY exec/attach streams, seen as the channel frames of the WebSocket protocol.

Owns the translation between the two shapes of the same remotecommand protocol. Over
SPDY the client opens one stream per role (``streamtype`` header: error, stdin, stdout,
stderr, resize) and waits for a SYN_REPLY to each; over WebSocket every message carries
its channel in its first byte. The apiserver talks to the kubelet in the WebSocket form
only, so this adapter makes an SPDY client look like one: stdin data becomes channel 0,
the end of stdin the v5 close signal ``[255, 0]``, resize events channel 4; the kubelet's
channel 1, 2 and 3 go out on the stdout, stderr and error streams. Protocols v2 and v3
carry an error as plain text on the error stream rather than a ``Status``, so channel 3 is
rewritten for them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging

from kubeproc.api.remotecommand import (
    PROTOCOL_V4,
    STREAM_TYPE_HEADER,
    Channel,
    StreamOptions,
    StreamType,
    close_signal,
    frame,
    split_json_stream,
    status_text,
)
from kubeproc.apiserver.spdy import (
    Data,
    Frame,
    GoAway,
    Ping,
    RstStatus,
    RstStream,
    SynReply,
    SynStream,
    header,
)
from kubeproc.apiserver.spdy_server import SpdyConnection

log = logging.getLogger(__name__)

STREAM_CREATION_TIMEOUT = 30.0
"""How long the client has to open its streams (the kubelet's streamCreationTimeout)."""
MAX_RESIZE_BUFFER = 4096

_OUTPUT = {
    Channel.STDOUT: StreamType.STDOUT,
    Channel.STDERR: StreamType.STDERR,
    Channel.ERROR: StreamType.ERROR,
}


class StreamsNotCreated(Exception):
    """The client did not open the streams its options call for in time."""


class SpdyChannels:
    """A ``FrameChannel`` over an upgraded SPDY connection."""

    def __init__(
        self,
        conn: SpdyConnection,
        protocol: str,
        options: StreamOptions,
        *,
        creation_timeout: float = STREAM_CREATION_TIMEOUT,
    ) -> None:
        self._conn = conn
        self._creation_timeout = creation_timeout
        self._protocol = protocol
        self._expected = options.expected_streams(protocol)
        self._streams: dict[StreamType, int] = {}
        self._roles: dict[int, StreamType] = {}
        self._pending: collections.deque[bytes] = collections.deque()
        self._resize_buffer = b""
        self._last_stream = 0
        self._gone = False

    async def open(self) -> None:
        """Accept streams until every expected role has one."""
        try:
            async with asyncio.timeout(self._creation_timeout):
                while not self._expected <= self._streams.keys():
                    received = await self._conn.receive()
                    if received is None:
                        raise StreamsNotCreated("client closed before creating its streams")
                    await self._handle(received)
        except TimeoutError:
            raise StreamsNotCreated("timed out waiting for client to create streams") from None

    async def recv(self) -> bytes | None:
        """The next client frame in WebSocket v5 form; None once the client is gone."""
        while not self._pending:
            if self._gone:
                return None
            received = await self._conn.receive()
            if received is None:
                self._gone = True
                return None
            await self._handle(received)
        return self._pending.popleft()

    async def _handle(self, received: Frame) -> None:
        if isinstance(received, SynStream):
            await self._accept(received)
        elif isinstance(received, Data):
            self._data(self._roles.get(received.stream_id), received.data, fin=received.fin)
        elif isinstance(received, RstStream):
            self._data(self._roles.get(received.stream_id), b"", fin=True)
        elif isinstance(received, Ping):
            await self._conn.send(received)
        elif isinstance(received, GoAway):
            self._gone = True
        # SETTINGS, WINDOW_UPDATE and HEADERS change nothing here: kubectl's SPDY library
        # does no flow control, and stream headers are only read from SYN_STREAM.

    async def _accept(self, syn: SynStream) -> None:
        self._last_stream = max(self._last_stream, syn.stream_id)
        raw = header(syn.headers, STREAM_TYPE_HEADER) or ""
        try:
            role = StreamType(raw)
        except ValueError:
            log.info("spdy stream with unknown type refused type=%r", raw)
            await self._conn.send(RstStream(syn.stream_id, RstStatus.REFUSED_STREAM))
            return
        if role in self._streams:
            await self._conn.send(RstStream(syn.stream_id, RstStatus.STREAM_IN_USE))
            return
        self._streams[role] = syn.stream_id
        self._roles[syn.stream_id] = role
        await self._conn.send(SynReply(syn.stream_id))
        if syn.fin:
            self._data(role, b"", fin=True)

    def _data(self, role: StreamType | None, data: bytes, *, fin: bool) -> None:
        if role is StreamType.STDIN:
            if data:
                self._pending.append(frame(Channel.STDIN, data))
            if fin:
                self._pending.append(close_signal(Channel.STDIN))
        elif role is StreamType.RESIZE and data:
            events, rest = split_json_stream(self._resize_buffer + data)
            self._pending.extend(frame(Channel.RESIZE, event) for event in events)
            self._resize_buffer = rest if len(rest) <= MAX_RESIZE_BUFFER else b""

    async def send(self, message: bytes) -> None:
        """One kubelet frame out on the stream of its channel."""
        if not message:
            return
        channel, payload = message[0], message[1:]
        role = _OUTPUT.get(Channel(channel)) if channel in _OUTPUT else None
        stream_id = self._streams.get(role) if role is not None else None
        if stream_id is None:
            return
        if channel == Channel.ERROR and self._protocol != PROTOCOL_V4:
            payload = status_text(payload).encode()
        if payload:
            await self._conn.send(Data(stream_id, payload))

    async def close(self) -> None:
        """End every stream we write, then the connection."""
        fins = [
            Data(self._streams[r], b"", fin=True) for r in _OUTPUT.values() if r in self._streams
        ]
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._conn.send(*fins)
        await self._conn.close(self._last_stream)
