"""Decoding rules: protobuf merge semantics, Go's JSON presence rules and special types.

Uses a small schema written for the test, so each rule is seen in isolation from the
Kubernetes tables.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubeproc.api.protobuf.decode import Decoder
from kubeproc.api.protobuf.schema import parse_schema
from kubeproc.api.protobuf.testing import entry, field, fixed32, fixed64, message, packed, varint
from kubeproc.api.protobuf.wire import ProtobufError

SCHEMA = parse_schema(
    """
    Thing:
        1 name s, 2 count i, 3 big l, 4 flag b, 5 blob y, 6 tags [s], 7 labels {s},
        8 child Child?, 9 kids [Child], 10 ints [i], 11 data {y}, 12 sizes {quantity}
    Presence:
        1 plain s, 2 pointer i?, 3 nullable s~, 4 always i!, 5 list [s]!, 6 map {s}!,
        7 blob y!, 8 struct Child!, 9 * Child, 10 flag b!, 11 text s!
    Child:
        1 a s, 2 b i?
    Special:
        1 created time!, 2 seen microtime!, 3 port intstr!, 4 size quantity!, 5 raw rawjson!
    """
)
DECODER = Decoder(SCHEMA)


def _thing(*fields: bytes) -> dict[str, Any]:
    return DECODER.message("Thing", message(*fields))


def _special(*fields: bytes) -> dict[str, Any]:
    return DECODER.message("Special", message(*fields))


def test_scalars_of_every_type() -> None:
    """Strings, int32, int64, bools and bytes (base64) decode to their JSON values."""
    assert _thing(
        field(1, "x"), field(2, -5), field(3, 2**40), field(4, True), field(5, b"\x00\xff")
    ) == {"name": "x", "count": -5, "big": 2**40, "flag": True, "blob": "AP8="}


def test_unknown_fields_of_any_wire_type_are_skipped() -> None:
    """Field numbers the schema lacks are skipped, whatever their wire type."""
    group = varint(99 << 3 | 3) + field(1, 1) + varint(99 << 3 | 4)
    data = (field(50, "new"), fixed32(51, 1), fixed64(52, 2), group, field(53, 7), field(1, "x"))

    assert _thing(*data) == {"name": "x"}


def test_last_scalar_wins_and_repeated_messages_merge() -> None:
    """A repeated scalar keeps the last value; a repeated message merges field by field."""
    assert _thing(
        field(1, "first"),
        field(1, "second"),
        field(8, message(field(1, "a"))),
        field(8, message(field(2, 3))),
    ) == {"name": "second", "child": {"a": "a", "b": 3}}


def test_repeated_fields_packed_and_unpacked() -> None:
    """Repeated ints are accepted packed and unpacked, in order; messages become a list."""
    assert _thing(
        packed(10, [1, 2**64 - 1]),
        field(10, 3),
        field(6, ["a", "b"]),
        field(9, [message(field(1, "x")), b""]),
    ) == {"ints": [1, -1, 3], "tags": ["a", "b"], "kids": [{"a": "x"}, {}]}


def test_maps_sort_keys_and_fill_missing_parts() -> None:
    """Map keys are sorted as Go prints them; the last duplicate wins; a missing value is zero."""
    assert _thing(
        entry(7, "z", "1"),
        entry(7, "a", "2"),
        entry(7, "z", "3"),
        field(7, message(field(1, "nokey-value-missing"))),
        field(11, message(field(1, "empty"))),
        field(12, message(field(1, "cpu"))),
        entry(12, "mem", message(field(1, "1Gi"))),
    ) == {
        "labels": {"a": "2", "nokey-value-missing": "", "z": "3"},
        "data": {"empty": ""},
        "sizes": {"cpu": "0", "mem": "1Gi"},
    }


def test_presence_when_nothing_is_sent() -> None:
    """Absent fields follow encoding/json: omitempty and pointers vanish, the rest print zero."""
    assert DECODER.message("Presence", b"") == {
        "nullable": None,
        "always": 0,
        "list": None,
        "map": None,
        "blob": None,
        "struct": {},
        "flag": False,
        "text": "",
    }


def test_presence_when_zero_values_are_sent() -> None:
    """Sent zeros drop only under omitempty; pointers keep them; bytes become ""."""
    decoded = DECODER.message(
        "Presence",
        message(
            field(1, ""),
            field(2, 0),
            field(3, ""),
            field(4, 0),
            field(7, b""),
            field(9, message(field(1, "inline"), field(2, 0))),
        ),
    )

    assert decoded == {
        "pointer": 0,
        "nullable": "",
        "always": 0,
        "list": None,
        "map": None,
        "blob": "",
        "struct": {},
        "a": "inline",
        "b": 0,
        "flag": False,
        "text": "",
    }


def test_special_types_when_not_sent() -> None:
    """Unset Time and MicroTime print null, IntOrString 0, Quantity "0", raw JSON null."""
    assert _special() == {"created": None, "seen": None, "port": 0, "size": "0", "raw": None}


@pytest.mark.parametrize(
    ("seconds", "nanos", "created", "seen"),
    [
        (1_700_000_000, 999_999_999, "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.999999Z"),
        (0, 0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
        (-1, 500_000, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000500Z"),
        (-62_135_596_800, 0, None, None),
        (-62_135_596_800, 1_000, None, "0001-01-01T00:00:00.000001Z"),
        (253_402_300_799, 0, "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.000000Z"),
    ],
)
def test_times(seconds: int, nanos: int, created: str | None, seen: str | None) -> None:
    """Time drops nanos; MicroTime truncates to microseconds; Go's zero time is null."""
    stamp = message(field(1, seconds), field(2, nanos))

    decoded = _special(field(1, stamp), field(2, stamp))

    assert (decoded["created"], decoded["seen"]) == (created, seen)


def test_time_outside_json_range_is_refused() -> None:
    """A time Go's JSON encoder could not print either raises ProtobufError."""
    with pytest.raises(ProtobufError, match="outside years 1 to 9999"):
        _special(field(1, message(field(1, 10**12))))


def test_int_or_string_and_quantity() -> None:
    """IntOrString picks by its type field; Quantity is its string."""
    decoded = _special(
        field(3, message(field(1, 1), field(2, 9), field(3, "http"))),
        field(4, message(field(1, "500m"))),
    )

    assert (decoded["port"], decoded["size"]) == ("http", "500m")
    assert _special(field(3, message(field(2, -1))))["port"] == -1


def test_embedded_json_is_parsed() -> None:
    """FieldsV1 and RawExtension bytes are JSON and come out as the value they hold."""
    assert _special(field(5, message(field(1, b'{"f:metadata":{}}'))))["raw"] == {"f:metadata": {}}


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (field(3, message(field(1, 2))), "IntOrString has unknown type 2"),
        (field(4, message(field(1, ""))), "empty quantity"),
        (field(5, message(field(1, b"{not json"))), "embedded JSON is invalid"),
        (field(1, b"\x08"), "truncated varint"),
    ],
)
def test_malformed_special_values_raise(data: bytes, match: str) -> None:
    """Impossible IntOrString types, empty quantities and bad JSON raise ProtobufError."""
    with pytest.raises(ProtobufError, match=match):
        _special(data)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (field(1, 5), r"field 1 \(name\) has wire type VARINT, expected LEN"),
        (field(2, "x"), r"field 2 \(count\) has wire type LEN, expected VARINT"),
        (field(8, 1), r"field 8 \(child\) has wire type VARINT, expected LEN"),
        (field(7, 1), r"field 7 \(labels\) has wire type VARINT, expected LEN"),
        (fixed32(6, 1), r"field 6 \(tags\) has wire type FIXED32, expected LEN"),
        (field(8, b"\x12\x09"), "runs past the end"),
    ],
)
def test_wrong_wire_types_raise_naming_the_field(data: bytes, match: str) -> None:
    """A known field sent with the wrong wire type is refused with its number and name."""
    with pytest.raises(ProtobufError, match=match):
        _thing(data)


def test_invalid_utf8_is_replaced_as_go_json_does() -> None:
    """Bad UTF-8 in a string becomes U+FFFD, as Go's JSON encoder writes it."""
    assert _thing(field(1, b"a\xffb")) == {"name": "a\ufffdb"}
