"""A raw protobuf writer for tests: build bodies field number by field number.

Shipped beside the decoder (as httpx ships its mock transport) so tests anywhere in the
project can post a protobuf body without a protobuf library or a Go client. It knows no
schema on purpose: a test names the field numbers from ``generated.proto`` itself, which
keeps it an independent check on the tables in this package.

    pod = message(field(1, message(field(1, "web"))), field(2, spec_bytes))
    data = body("v1", "Pod", pod)
"""

from __future__ import annotations

from collections.abc import Iterable

from kubeproc.api.protobuf.body import MAGIC
from kubeproc.api.protobuf.wire import WireType

__all__ = ["body", "entry", "field", "fixed32", "fixed64", "message", "packed", "varint"]

Value = int | bool | str | bytes


def varint(value: int) -> bytes:
    """A base-128 varint; negative numbers as ten-byte two's complement, as Go writes them."""
    value &= 0xFFFF_FFFF_FFFF_FFFF
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire_type: WireType) -> bytes:
    return varint(number << 3 | wire_type)


def field(number: int, value: Value | Iterable[Value]) -> bytes:
    """One field: ints and bools as varints, str and bytes length-delimited.

    A list or tuple writes the field once per element (an unpacked repeated field).
    """
    if isinstance(value, bool | int):
        return _key(number, WireType.VARINT) + varint(int(value))
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return _key(number, WireType.LEN) + varint(len(value)) + value
    return b"".join(field(number, item) for item in value)


def packed(number: int, values: Iterable[int]) -> bytes:
    """A repeated integer field in packed form (one length-delimited run of varints)."""
    run = b"".join(varint(value) for value in values)
    return _key(number, WireType.LEN) + varint(len(run)) + run


def fixed32(number: int, value: int) -> bytes:
    """A 32-bit fixed field (no Kubernetes field uses one; decoders must skip it)."""
    return _key(number, WireType.FIXED32) + (value & 0xFFFF_FFFF).to_bytes(4, "little")


def fixed64(number: int, value: int) -> bytes:
    """A 64-bit fixed field (no Kubernetes field uses one; decoders must skip it)."""
    return _key(number, WireType.FIXED64) + (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little")


def message(*fields: bytes) -> bytes:
    """A message is its fields one after another."""
    return b"".join(fields)


def entry(number: int, key: str, value: Value) -> bytes:
    """One map entry {1: key, 2: value} of map field ``number``."""
    return field(number, message(field(1, key), field(2, value)))


def body(
    api_version: str,
    kind: str,
    raw: bytes,
    *,
    content_encoding: str = "",
    content_type: str = "",
) -> bytes:
    """A complete request body: ``k8s\\0`` then runtime.Unknown around ``raw``.

    The empty fields 3 and 4 are written as kubectl writes them.
    """
    type_meta = message(field(1, api_version), field(2, kind))
    unknown = message(
        field(1, type_meta), field(2, raw), field(3, content_encoding), field(4, content_type)
    )
    return MAGIC + unknown
