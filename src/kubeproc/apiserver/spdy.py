"""SPDY/3.1 framing: frames to bytes and back, with zlib header-block compression.

Owns the byte layout of the SPDY/3 draft (control frames ``SYN_STREAM``, ``SYN_REPLY``,
``RST_STREAM``, ``SETTINGS``, ``PING``, ``GOAWAY``, ``HEADERS``, ``WINDOW_UPDATE``, and
``DATA`` frames) and nothing else: no sockets, no streams, no timing. kubectl up to 1.29
speaks exec over SPDY, and every version falls back to it, so the apiserver needs this;
``spdy_server`` puts it on a connection.

Header blocks are compressed with one zlib stream per direction for the whole connection,
primed with the standard SPDY/3 dictionary, each block ending in a sync flush. That state
is why ``FrameEncoder`` and ``FrameDecoder`` are objects: a block can only be decoded after
every block before it. ``FrameDecoder`` is incremental (feed it whatever the socket gave)
and bounded (a frame or a decompressed header block larger than the limits is a protocol
error, not a memory spike).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
MAX_FRAME_LENGTH = (1 << 24) - 1
MAX_HEADER_BLOCK = 256 * 1024
"""Largest decompressed header block accepted (kubectl's are a few dozen bytes)."""

Headers = tuple[tuple[str, str], ...]


class FrameType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9


class GoAwayStatus(IntEnum):
    OK = 0
    PROTOCOL_ERROR = 1
    INTERNAL_ERROR = 2


class SpdyError(Exception):
    """The peer broke the framing; the connection cannot continue."""


# The SPDY/3 draft's header dictionary: these words, each with a 4-byte length, then a tail.
_DICTIONARY_WORDS = (
    "options|head|post|put|delete|trace|accept|accept-charset|accept-encoding|"
    "accept-language|accept-ranges|age|allow|authorization|cache-control|connection|"
    "content-base|content-encoding|content-language|content-length|content-location|"
    "content-md5|content-range|content-type|date|etag|expect|expires|from|host|if-match|"
    "if-modified-since|if-none-match|if-range|if-unmodified-since|last-modified|location|"
    "max-forwards|pragma|proxy-authenticate|proxy-authorization|range|referer|retry-after|"
    "server|te|trailer|transfer-encoding|upgrade|user-agent|vary|via|warning|"
    "www-authenticate|method|get|status|200 OK|version|HTTP/1.1|url|public|set-cookie|"
    "keep-alive|origin"
)


def _dictionary() -> bytes:
    words = _DICTIONARY_WORDS.split("|")
    prefixed = b"".join(struct.pack(">I", len(w)) + w.encode() for w in words)
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417"
        "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
        "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
        "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
        "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
        "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
        "charset=iso-8859-1,utf-,*,enq=0."
    )
    return prefixed + tail.encode()


HEADER_DICTIONARY = _dictionary()


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers
    associated_to: int = 0
    priority: int = 0
    slot: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers = ()
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Settings:
    entries: tuple[tuple[int, int, int], ...]
    """(flags, id, value) per setting."""
    clear: bool = False


@dataclass(frozen=True)
class Ping:
    id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: int = GoAwayStatus.OK


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int
    delta: int


@dataclass(frozen=True)
class Data:
    stream_id: int
    data: bytes
    fin: bool = False


Frame = (
    SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate | Data
)


def header(headers: Headers, name: str) -> str | None:
    """The first value of a header (names compared case-insensitively)."""
    name = name.lower()
    return next((v for k, v in headers if k == name), None)


def _encode_block(headers: Headers) -> bytes:
    """The uncompressed name/value block; repeated names share one NUL-joined value."""
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        merged.setdefault(name.lower(), []).append(value)
    out = [struct.pack(">I", len(merged))]
    for name, values in merged.items():
        raw_name, raw_value = name.encode(), "\x00".join(values).encode()
        out += [struct.pack(">I", len(raw_name)), raw_name]
        out += [struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(out)


def _decode_block(block: bytes) -> Headers:
    def take(pos: int) -> tuple[bytes, int]:
        if pos + 4 > len(block):
            raise SpdyError("truncated header block")
        (n,) = struct.unpack_from(">I", block, pos)
        if pos + 4 + n > len(block):
            raise SpdyError("truncated header block")
        return block[pos + 4 : pos + 4 + n], pos + 4 + n

    if len(block) < 4:
        raise SpdyError("truncated header block")
    (count,) = struct.unpack_from(">I", block, 0)
    pos, pairs = 4, []
    for _ in range(count):
        name, pos = take(pos)
        value, pos = take(pos)
        if not name or name.lower() != name:
            raise SpdyError(f"invalid header name {name[:40]!r}")
        text = name.decode("latin-1")
        pairs += [(text, v) for v in value.decode("latin-1").split("\x00")]
    return tuple(pairs)


def _control(kind: FrameType, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_LENGTH:
        raise SpdyError("frame too large")
    head = struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload))
    return head + payload


class FrameEncoder:
    """Serializes frames; owns the outbound header compressor."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zdict=HEADER_DICTIONARY)

    def _compress(self, headers: Headers) -> bytes:
        block = _encode_block(headers)
        return self._zlib.compress(block) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, Data):
            if len(frame.data) > MAX_FRAME_LENGTH:
                raise SpdyError("frame too large")
            flags = FLAG_FIN if frame.fin else 0
            return struct.pack(
                ">II", frame.stream_id & 0x7FFFFFFF, flags << 24 | len(frame.data)
            ) + (frame.data)
        if isinstance(frame, SynStream):
            flags = (FLAG_FIN if frame.fin else 0) | (
                FLAG_UNIDIRECTIONAL if frame.unidirectional else 0
            )
            fixed = struct.pack(
                ">IIBB", frame.stream_id, frame.associated_to, (frame.priority & 7) << 5, frame.slot
            )
            return _control(FrameType.SYN_STREAM, flags, fixed + self._compress(frame.headers))
        if isinstance(frame, SynReply):
            payload = struct.pack(">I", frame.stream_id) + self._compress(frame.headers)
            return _control(FrameType.SYN_REPLY, FLAG_FIN if frame.fin else 0, payload)
        if isinstance(frame, HeadersFrame):
            payload = struct.pack(">I", frame.stream_id) + self._compress(frame.headers)
            return _control(FrameType.HEADERS, FLAG_FIN if frame.fin else 0, payload)
        if isinstance(frame, RstStream):
            return _control(
                FrameType.RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status)
            )
        if isinstance(frame, Settings):
            entries = b"".join(
                struct.pack(">II", (flags << 24) | ident, value)
                for flags, ident, value in frame.entries
            )
            payload = struct.pack(">I", len(frame.entries)) + entries
            return _control(FrameType.SETTINGS, 1 if frame.clear else 0, payload)
        if isinstance(frame, Ping):
            return _control(FrameType.PING, 0, struct.pack(">I", frame.id))
        if isinstance(frame, GoAway):
            payload = struct.pack(">II", frame.last_good_stream_id, frame.status)
            return _control(FrameType.GOAWAY, 0, payload)
        payload = struct.pack(">II", frame.stream_id, frame.delta)
        return _control(FrameType.WINDOW_UPDATE, 0, payload)


class FrameDecoder:
    """Parses a byte stream into frames; owns the inbound header decompressor."""

    def __init__(self, max_frame: int = 1 << 20) -> None:
        self._zlib = zlib.decompressobj(zdict=HEADER_DICTIONARY)
        self._buffer = bytearray()
        self._max_frame = max_frame

    def feed(self, data: bytes) -> list[Frame]:
        """Every complete frame in what has arrived so far (unknown control types are
        skipped, as the draft requires)."""
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, second = struct.unpack_from(">II", self._buffer, 0)
            length = second & 0xFFFFFF
            if length > self._max_frame:
                raise SpdyError(f"frame of {length} bytes is too large")
            if len(self._buffer) < 8 + length:
                break
            flags = second >> 24
            payload = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            if first & 0x80000000:
                decoded = self._control(first, flags, payload)
                if decoded is not None:
                    frames.append(decoded)
            else:
                frames.append(Data(first & 0x7FFFFFFF, payload, bool(flags & FLAG_FIN)))
        return frames

    def _headers(self, compressed: bytes) -> Headers:
        try:
            block = self._zlib.decompress(compressed, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise SpdyError(f"header block does not decompress: {exc}") from exc
        if self._zlib.unconsumed_tail:
            raise SpdyError("header block too large")
        return _decode_block(block)

    def _control(self, first: int, flags: int, payload: bytes) -> Frame | None:
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise SpdyError(f"unsupported SPDY version {version}")
        fin = bool(flags & FLAG_FIN)
        try:
            if kind == FrameType.SYN_STREAM:
                sid, assoc, pri, slot = struct.unpack_from(">IIBB", payload, 0)
                return SynStream(
                    sid & 0x7FFFFFFF,
                    self._headers(payload[10:]),
                    associated_to=assoc & 0x7FFFFFFF,
                    priority=pri >> 5,
                    slot=slot,
                    fin=fin,
                    unidirectional=bool(flags & FLAG_UNIDIRECTIONAL),
                )
            if kind in (FrameType.SYN_REPLY, FrameType.HEADERS):
                (sid,) = struct.unpack_from(">I", payload, 0)
                cls = SynReply if kind == FrameType.SYN_REPLY else HeadersFrame
                return cls(sid & 0x7FFFFFFF, self._headers(payload[4:]), fin=fin)
            if kind == FrameType.RST_STREAM:
                sid, status = struct.unpack_from(">II", payload, 0)
                return RstStream(sid & 0x7FFFFFFF, status)
            if kind == FrameType.SETTINGS:
                (count,) = struct.unpack_from(">I", payload, 0)
                entries = []
                for i in range(count):
                    head, value = struct.unpack_from(">II", payload, 4 + 8 * i)
                    entries.append((head >> 24, head & 0xFFFFFF, value))
                return Settings(tuple(entries), clear=bool(flags & 1))
            if kind == FrameType.PING:
                return Ping(struct.unpack_from(">I", payload, 0)[0])
            if kind == FrameType.GOAWAY:
                sid, status = struct.unpack_from(">II", payload, 0)
                return GoAway(sid & 0x7FFFFFFF, status)
            if kind == FrameType.WINDOW_UPDATE:
                sid, delta = struct.unpack_from(">II", payload, 0)
                return WindowUpdate(sid & 0x7FFFFFFF, delta & 0x7FFFFFFF)
        except struct.error as exc:
            raise SpdyError(f"truncated control frame of type {kind}") from exc
        return None
