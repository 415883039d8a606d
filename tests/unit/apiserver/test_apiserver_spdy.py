"""The SPDY/3.1 framer: every frame type survives a round trip, header blocks use the
standard dictionary and one compression context per direction, and broken input is a
protocol error rather than a crash or a memory spike."""

from __future__ import annotations

import struct
import zlib

import pytest

from kubeproc.apiserver.spdy import (
    HEADER_DICTIONARY,
    Data,
    Frame,
    FrameDecoder,
    FrameEncoder,
    GoAway,
    HeadersFrame,
    Ping,
    RstStatus,
    RstStream,
    Settings,
    SpdyError,
    SynReply,
    SynStream,
    WindowUpdate,
    header,
)

FRAMES: list[Frame] = [
    SynStream(1, (("streamtype", "error"),)),
    SynStream(
        3,
        (("streamtype", "stdin"), ("x", "a"), ("x", "b")),
        associated_to=1,
        priority=7,
        slot=2,
        fin=True,
        unidirectional=True,
    ),
    SynReply(1),
    SynReply(5, (("status", "200"),), fin=True),
    RstStream(3, RstStatus.CANCEL),
    Settings(((0, 4, 100), (1, 7, 65536)), clear=True),
    Ping(1),
    Ping(0xFFFFFFFF),
    GoAway(7, 2),
    HeadersFrame(9, (("a", "b"),), fin=True),
    WindowUpdate(0, 65536),
    Data(1, b"hello"),
    Data(3, b"", fin=True),
    Data(0x7FFFFFFF, bytes(range(256)) * 40),
]


def test_the_dictionary_is_the_spdy3_one() -> None:
    """The dictionary has the draft's length and checksum, which the zlib stream names."""
    assert len(HEADER_DICTIONARY) == 1423
    assert zlib.adler32(HEADER_DICTIONARY) == 0xE3C6A7C2
    assert HEADER_DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert HEADER_DICTIONARY.endswith(b",*,enq=0.")


def test_header_blocks_declare_the_dictionary() -> None:
    """A header block's zlib stream sets FDICT and carries the dictionary's Adler-32."""
    wire = FrameEncoder().encode(SynReply(1, (("a", "b"),)))
    block = wire[8 + 4 :]
    cmf, flg = block[0], block[1]
    assert cmf & 0x0F == 8  # deflate
    assert flg & 0x20  # FDICT
    assert struct.unpack(">I", block[2:6])[0] == 0xE3C6A7C2


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
def test_every_frame_round_trips(frame: Frame) -> None:
    """Encoding then decoding gives the same frame back."""
    assert FrameDecoder(max_frame=1 << 24).feed(FrameEncoder().encode(frame)) == [frame]


def test_compression_context_spans_the_connection() -> None:
    """Later header blocks only decode after the earlier ones, as one zlib stream."""
    encoder = FrameEncoder()
    first = encoder.encode(SynStream(1, (("streamtype", "error"),)))
    second = encoder.encode(SynStream(3, (("streamtype", "error"),)))
    assert len(second) < len(first)  # the repeat is a back-reference into the stream
    decoder = FrameDecoder()
    assert decoder.feed(first + second) == [
        SynStream(1, (("streamtype", "error"),)),
        SynStream(3, (("streamtype", "error"),)),
    ]
    with pytest.raises(SpdyError):
        FrameDecoder().feed(second)


def test_frames_decode_from_any_split_of_the_byte_stream() -> None:
    """Bytes fed one at a time give the same frames as one big read."""
    encoder = FrameEncoder()
    wire = b"".join(encoder.encode(f) for f in FRAMES[:12])
    decoder = FrameDecoder()
    got: list[Frame] = []
    for i in range(len(wire)):
        got += decoder.feed(wire[i : i + 1])
    assert got == FRAMES[:12]


def test_wire_layout_of_data_and_ping() -> None:
    """DATA: stream id with the control bit clear, flags, 24-bit length; PING: 4-byte id."""
    encoder = FrameEncoder()
    assert encoder.encode(Data(5, b"ab", fin=True)) == bytes.fromhex("00000005 01000002 6162")
    assert encoder.encode(Ping(3)) == bytes.fromhex("80030006 00000004 00000003")
    assert encoder.encode(GoAway(1)) == bytes.fromhex("80030007 00000008 00000001 00000000")


def test_repeated_header_names_share_one_nul_joined_value() -> None:
    """SPDY/3 sends a repeated header once, its values separated by NUL."""
    frame = SynStream(1, (("x", "a"), ("x", "b")))
    decoder = FrameDecoder()
    decoded = decoder.feed(FrameEncoder().encode(frame))[0]
    assert isinstance(decoded, SynStream)
    assert decoded.headers == (("x", "a"), ("x", "b"))
    assert header(decoded.headers, "X") == "a"


def test_unknown_control_frames_are_skipped() -> None:
    """A control frame of an unknown type is ignored, as the draft says."""
    unknown = struct.pack(">HHI", 0x8003, 0x00FF, 2) + b"zz"
    assert FrameDecoder().feed(unknown + FrameEncoder().encode(Ping(1))) == [Ping(1)]


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (struct.pack(">HHI", 0x8002, 6, 4) + b"\0\0\0\1", "version"),
        (struct.pack(">HHI", 0x8003, 6, 2) + b"\0\0", "truncated"),
        (struct.pack(">II", 1, (1 << 24) - 1), "too large"),
        (struct.pack(">HHI", 0x8003, 2, 6) + b"\0\0\0\1xx", "decompress"),
    ],
    ids=["version", "truncated", "too-large", "bad-zlib"],
)
def test_broken_input_is_a_protocol_error(wire: bytes, message: str) -> None:
    """Malformed frames raise ``SpdyError`` naming the problem."""
    with pytest.raises(SpdyError, match=message):
        FrameDecoder().feed(wire)


def test_upper_case_header_names_are_refused() -> None:
    """SPDY/3 header names are lower case; Go's framer refuses others, and so do we."""
    compressor = zlib.compressobj(zdict=HEADER_DICTIONARY)
    block = struct.pack(">I", 1) + struct.pack(">I", 1) + b"X" + struct.pack(">I", 1) + b"y"
    compressed = compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)
    payload = struct.pack(">I", 1) + compressed
    wire = struct.pack(">HHI", 0x8003, 2, len(payload)) + payload
    with pytest.raises(SpdyError, match="header name"):
        FrameDecoder().feed(wire)


def test_a_header_bomb_is_refused() -> None:
    """A header block that inflates past the limit is an error, not an allocation."""
    compressor = zlib.compressobj(zdict=HEADER_DICTIONARY)
    value = b"a" * (1 << 20)
    block = struct.pack(">I", 1) + struct.pack(">I", 1) + b"x" + struct.pack(">I", len(value))
    compressed = compressor.compress(block + value) + compressor.flush(zlib.Z_SYNC_FLUSH)
    payload = struct.pack(">I", 1) + compressed
    wire = struct.pack(">HHI", 0x8003, 2, len(payload)) + payload
    with pytest.raises(SpdyError, match="too large"):
        FrameDecoder().feed(wire)
