"""The hand-written wire reader: varints, signs, field records, skipping and refusing."""

from __future__ import annotations

import pytest

from kubeproc.api.protobuf.testing import field, fixed32, fixed64, message, packed, varint
from kubeproc.api.protobuf.wire import (
    ProtobufError,
    WireType,
    iter_fields,
    read_varint,
    signed,
)


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        (b"\x00", 0),
        (b"\x01", 1),
        (b"\x7f", 127),
        (b"\x80\x01", 128),
        (b"\xac\x02", 300),
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 2**64 - 1),
    ],
)
def test_read_varint(encoded: bytes, value: int) -> None:
    """A varint reads to its unsigned value and the position after it."""
    assert read_varint(b"\xaa" + encoded, 1) == (value, 1 + len(encoded))


@pytest.mark.parametrize(
    ("value", "bits", "expected"),
    [
        (5, 32, 5),
        (2**64 - 1, 64, -1),
        (2**64 - 1, 32, -1),
        (2**31, 32, -(2**31)),
        (2**31 - 1, 32, 2**31 - 1),
        (2**63, 64, -(2**63)),
    ],
)
def test_signed(value: int, bits: int, expected: int) -> None:
    """An unsigned varint reads as two's complement of the field's width, as Go does."""
    assert signed(value, bits) == expected


def test_negative_numbers_round_trip_through_ten_byte_varints() -> None:
    """Go writes negative ints as ten-byte varints; they read back negative."""
    encoded = varint(-7)

    assert len(encoded) == 10
    value, _ = read_varint(encoded, 0)
    assert signed(value, 32) == -7
    assert signed(value, 64) == -7


def test_iter_fields_yields_every_wire_type() -> None:
    """Each record comes out with its number, wire type and raw value."""
    data = message(
        field(1, 150), field(2, "hi"), fixed64(3, 1), fixed32(4, 2), field(1, True), packed(5, [1])
    )

    assert list(iter_fields(data)) == [
        (1, WireType.VARINT, 150),
        (2, WireType.LEN, b"hi"),
        (3, WireType.FIXED64, b"\x01" + b"\x00" * 7),
        (4, WireType.FIXED32, b"\x02\x00\x00\x00"),
        (1, WireType.VARINT, 1),
        (5, WireType.LEN, b"\x01"),
    ]


def test_groups_are_skipped_whole() -> None:
    """A deprecated group, nested or not, is skipped up to its matching end marker."""
    inner_group = varint(7 << 3 | 3) + field(1, 1) + varint(7 << 3 | 4)
    group = varint(6 << 3 | 3) + field(1, "x") + inner_group + fixed32(2, 0) + varint(6 << 3 | 4)

    assert list(iter_fields(field(1, 1) + group + field(2, 2))) == [
        (1, WireType.VARINT, 1),
        (2, WireType.VARINT, 2),
    ]


def test_empty_message_has_no_fields() -> None:
    """Zero bytes is a valid, empty message."""
    assert list(iter_fields(b"")) == []


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        (b"\x08", "truncated varint"),
        (b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "varint longer than 10 bytes"),
        (b"\x12\x05abc", "runs past the end"),
        (b"\x19\x00\x00", "runs past the end"),
        (b"\x25\x00", "runs past the end"),
        (b"\x00\x00", "invalid field number 0"),
        (b"\x0e\x00", "invalid wire type 6"),
        (b"\x0f\x00", "invalid wire type 7"),
        (b"\x0c", "unexpected end-group"),
        (b"\x0b\x08\x01", "group 1 is not closed"),
        (b"\x0b\x14", "group 1 closed by end-group 2"),
    ],
)
def test_malformed_input_raises_a_clear_error(data: bytes, message_part: str) -> None:
    """Truncation and impossible keys raise ProtobufError saying what is wrong."""
    with pytest.raises(ProtobufError, match=message_part):
        list(iter_fields(data))


def test_protobuf_error_is_a_value_error() -> None:
    """Callers that catch ValueError (bad request input) also catch ProtobufError."""
    assert issubclass(ProtobufError, ValueError)


def test_deeply_nested_groups_are_refused() -> None:
    """Groups nested past a fixed depth raise instead of exhausting the stack."""
    depth = 100
    data = b"".join(varint(1 << 3 | 3) for _ in range(depth)) + b"".join(
        varint(1 << 3 | 4) for _ in range(depth)
    )

    with pytest.raises(ProtobufError, match="nested too deeply"):
        list(iter_fields(data))
