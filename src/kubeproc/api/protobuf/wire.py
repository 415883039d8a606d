"""The protobuf wire format, read by hand: fields out of a byte string, nothing more.

Owns the lowest layer of the protobuf decoder: splitting a message into
``(field number, wire type, value)`` records and the one error every layer above raises.
It knows nothing of Kubernetes; `decode` gives the records meaning from the schema tables.

Kubernetes marshals with gogo-protobuf in proto2 syntax, so only four wire types carry
data (varint, 64-bit, length-delimited, 32-bit). Groups are long deprecated and never
produced by Kubernetes, but they are skipped rather than refused, as any protobuf reader
must skip what it does not know. No protobuf library is used: the format is small, and
owning it keeps malformed input a clear `ProtobufError` instead of a library's exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum
from typing import Final

__all__ = ["ProtobufError", "WireType", "iter_fields", "read_varint", "signed"]

_MAX_VARINT_BYTES: Final = 10
_MAX_GROUP_DEPTH: Final = 64


class ProtobufError(ValueError):
    """A protobuf request body that cannot be decoded; the apiserver answers 400 BadRequest."""


class WireType(IntEnum):
    """The wire type in the low three bits of every field key."""

    VARINT = 0
    FIXED64 = 1
    LEN = 2
    START_GROUP = 3
    END_GROUP = 4
    FIXED32 = 5


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read one base-128 varint at ``pos``; return ``(value, next position)``.

    The value is unsigned (up to 64 bits); `signed` reinterprets it for int32/int64 fields.
    """
    result = 0
    shift = 0
    for index in range(_MAX_VARINT_BYTES):
        if pos + index >= len(data):
            raise ProtobufError(f"truncated varint at byte {pos}")
        byte = data[pos + index]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos + index + 1
        shift += 7
    raise ProtobufError(f"varint longer than {_MAX_VARINT_BYTES} bytes at byte {pos}")


def signed(value: int, bits: int) -> int:
    """Reinterpret an unsigned varint as a two's-complement integer of ``bits`` bits.

    Negative int32 values travel as ten-byte varints; Go's decoder keeps the low 32 bits.
    """
    mask = (1 << bits) - 1
    value &= mask
    return value - (1 << bits) if value >> (bits - 1) else value


def iter_fields(data: bytes) -> Iterator[tuple[int, WireType, int | bytes]]:
    """Yield every field of one message as ``(number, wire type, value)``.

    Varints come as ``int``; length-delimited, 64-bit and 32-bit values as ``bytes``.
    Groups are skipped whole. Truncation, bad wire types and field number 0 raise.
    """
    pos = 0
    end = len(data)
    while pos < end:
        number, wire_type, pos = _read_key(data, pos)
        if wire_type is WireType.VARINT:
            value, pos = read_varint(data, pos)
            yield number, wire_type, value
        elif wire_type is WireType.LEN:
            length, pos = read_varint(data, pos)
            yield number, wire_type, _take(data, pos, length, number)
            pos += length
        elif wire_type is WireType.FIXED64:
            yield number, wire_type, _take(data, pos, 8, number)
            pos += 8
        elif wire_type is WireType.FIXED32:
            yield number, wire_type, _take(data, pos, 4, number)
            pos += 4
        elif wire_type is WireType.START_GROUP:
            pos = _skip_group(data, pos, number, depth=1)
        else:
            raise ProtobufError(f"unexpected end-group marker for field {number}")


def _read_key(data: bytes, pos: int) -> tuple[int, WireType, int]:
    key, pos = read_varint(data, pos)
    number = key >> 3
    if number == 0 or number > 0x1FFF_FFFF:
        raise ProtobufError(f"invalid field number {number}")
    try:
        wire_type = WireType(key & 0x7)
    except ValueError:
        raise ProtobufError(f"invalid wire type {key & 0x7} for field {number}") from None
    return number, wire_type, pos


def _take(data: bytes, pos: int, length: int, number: int) -> bytes:
    if length > len(data) - pos:
        raise ProtobufError(f"field {number} runs past the end of its message")
    return data[pos : pos + length]


def _skip_group(data: bytes, pos: int, number: int, depth: int) -> int:
    """Skip a deprecated group up to its matching end marker; return the position after it."""
    if depth > _MAX_GROUP_DEPTH:
        raise ProtobufError("groups nested too deeply")
    while pos < len(data):
        inner, wire_type, pos = _read_key(data, pos)
        if wire_type is WireType.END_GROUP:
            if inner != number:
                raise ProtobufError(f"group {number} closed by end-group {inner}")
            return pos
        if wire_type is WireType.VARINT:
            _, pos = read_varint(data, pos)
        elif wire_type is WireType.LEN:
            length, pos = read_varint(data, pos)
            pos += len(_take(data, pos, length, inner))
        elif wire_type is WireType.FIXED64:
            pos += len(_take(data, pos, 8, inner))
        elif wire_type is WireType.FIXED32:
            pos += len(_take(data, pos, 4, inner))
        else:
            pos = _skip_group(data, pos, inner, depth + 1)
    raise ProtobufError(f"group {number} is not closed")
