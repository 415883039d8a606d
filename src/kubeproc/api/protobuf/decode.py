"""Schema-driven decoding: one protobuf message into the dict its JSON encoding would be.

Owns the meaning of wire records: it walks `wire.iter_fields`, looks each field number up in
the `schema.Message`, converts values (int32 sign, base64 bytes, Time as RFC 3339,
IntOrString, Quantity) and then applies Go's ``encoding/json`` rules for absent and zero
fields (see `schema.Presence`). The target is the JSON body kubectl 1.31 would have sent for
the same object, so the apiserver handles both encodings with one code path.

Protobuf semantics kept on purpose: unknown field numbers are skipped; a repeated
occurrence of a non-repeated message merges with the earlier one (decoded here by
concatenating the chunks, which is what merging means on the wire); a repeated scalar is
accepted packed or unpacked; for a scalar, the last occurrence wins.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from kubeproc.api.protobuf.schema import SCALAR_TYPES, Field, Message, Presence, Shape
from kubeproc.api.protobuf.wire import ProtobufError, WireType, iter_fields, read_varint, signed

__all__ = ["Decoder"]

# Seconds from the Unix epoch back to Go's zero time (0001-01-01T00:00:00Z); a Time there
# is "unset" and Go's JSON encoding prints it as null.
_GO_ZERO_SECONDS: Final = -62_135_596_800
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_DEPTH: Final = 64
_VARINT_TYPES: Final = frozenset({"i", "l", "b"})


class Decoder:
    """Decodes messages of one schema (message name -> `Message`)."""

    def __init__(self, messages: Mapping[str, Message]) -> None:
        self._messages = messages

    def message(self, name: str, data: bytes, depth: int = 0) -> dict[str, Any]:
        """Decode ``data`` as message ``name`` into its JSON-shaped dict."""
        if depth > _MAX_DEPTH:
            raise ProtobufError("messages nested too deeply")
        schema = self._messages[name]
        values: dict[int, Any] = {}
        chunks: dict[int, list[bytes]] = {}
        lists: dict[int, list[Any]] = {}
        maps: dict[int, dict[str, Any]] = {}
        for number, wire_type, value in iter_fields(data):
            field = schema.fields.get(number)
            if field is None:
                continue
            if field.shape is Shape.MAP:
                key, entry = self._map_entry(field, _expect_bytes(field, wire_type, value), depth)
                maps.setdefault(number, {})[key] = entry
            elif field.shape is Shape.LIST:
                lists.setdefault(number, []).extend(
                    self._list_values(field, wire_type, value, depth)
                )
            elif field.type in SCALAR_TYPES:
                values[number] = _scalar(field, wire_type, value)
            else:
                chunks.setdefault(number, []).append(_expect_bytes(field, wire_type, value))
        for number, parts in chunks.items():
            values[number] = b"".join(parts)
        for number, entries in maps.items():
            values[number] = dict(sorted(entries.items()))
        values.update(lists)
        return self._emit(schema, values, depth)

    def _emit(self, schema: Message, values: dict[int, Any], depth: int) -> dict[str, Any]:
        """Apply ``encoding/json``'s rules for each field, in table order."""
        out: dict[str, Any] = {}
        for number, field in schema.fields.items():
            present = number in values
            if field.presence is Presence.INLINE:
                out.update(self.message(field.type, values.get(number, b""), depth + 1))
                continue
            if present:
                value = values[number]
                if field.shape is Shape.SINGLE and field.type not in SCALAR_TYPES:
                    value = self._single_message(field, value, depth)
                if field.presence is Presence.OMIT_EMPTY and _is_empty(value):
                    continue
                out[field.name] = value
            elif field.presence is Presence.ALWAYS:
                out[field.name] = self._zero(field, depth)
            elif field.presence is Presence.NULLABLE:
                out[field.name] = None
        return out

    def _single_message(self, field: Field, data: bytes, depth: int) -> Any:
        special = _SPECIAL.get(field.type)
        if special is not None:
            return special(data)
        return self.message(field.type, data, depth + 1)

    def _zero(self, field: Field, depth: int) -> Any:
        """The JSON form of a field Go holds at its zero value."""
        if field.shape is not Shape.SINGLE or field.type == "y":
            return None
        if field.type == "s":
            return ""
        if field.type in {"i", "l"}:
            return 0
        if field.type == "b":
            return False
        return self._single_message(field, b"", depth)

    def _list_values(
        self, field: Field, wire_type: WireType, value: int | bytes, depth: int
    ) -> list[Any]:
        if field.type in _VARINT_TYPES and wire_type is WireType.LEN:
            assert isinstance(value, bytes)
            return [_scalar(field, WireType.VARINT, item) for item in _unpack_varints(value)]
        if field.type in SCALAR_TYPES:
            return [_scalar(field, wire_type, value)]
        return [self._single_message(field, _expect_bytes(field, wire_type, value), depth)]

    def _map_entry(self, field: Field, data: bytes, depth: int) -> tuple[str, Any]:
        """A map entry is a message {1: key, 2: value}; a missing value is the zero value."""
        key = ""
        value: bytes | int | None = None
        value_wire = WireType.LEN
        for number, wire_type, item in iter_fields(data):
            if number == 1:
                key = _expect_bytes(field, wire_type, item).decode("utf-8", errors="replace")
            elif number == 2:
                value, value_wire = item, wire_type
        entry_field = Field(2, field.name, field.type, Shape.SINGLE, Presence.ALWAYS)
        if value is None:
            return key, self._zero_map_value(entry_field, depth)
        if field.type in SCALAR_TYPES:
            return key, _scalar(entry_field, value_wire, value)
        return key, self._single_message(
            entry_field, _expect_bytes(field, value_wire, value), depth
        )

    def _zero_map_value(self, field: Field, depth: int) -> Any:
        # Go allocates an empty value for a map entry without one: []byte{} is "" in JSON.
        return "" if field.type == "y" else self._zero(field, depth)


def _scalar(field: Field, wire_type: WireType, value: int | bytes) -> Any:
    if field.type in {"s", "y"}:
        raw = _expect_bytes(field, wire_type, value)
        if field.type == "s":
            # Go does not validate UTF-8 here; its JSON encoder replaces bad bytes with U+FFFD.
            return raw.decode("utf-8", errors="replace")
        return base64.b64encode(raw).decode("ascii")
    if wire_type is not WireType.VARINT or not isinstance(value, int):
        raise _wire_error(field, wire_type, WireType.VARINT)
    if field.type == "b":
        return value != 0
    return signed(value, 32 if field.type == "i" else 64)


def _expect_bytes(field: Field, wire_type: WireType, value: int | bytes) -> bytes:
    if wire_type is not WireType.LEN or not isinstance(value, bytes):
        raise _wire_error(field, wire_type, WireType.LEN)
    return value


def _wire_error(field: Field, got: WireType, expected: WireType) -> ProtobufError:
    return ProtobufError(
        f"field {field.number} ({field.name}) has wire type {got.name}, expected {expected.name}"
    )


def _unpack_varints(data: bytes) -> list[int]:
    values = []
    pos = 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        values.append(value)
    return values


def _is_empty(value: Any) -> bool:
    """Go's ``omitempty`` test for the values a decoded scalar, list or map can take."""
    return value is None or value in ("", 0, [], {})


# ---- types with their own JSON form --------------------------------------------------------


def _timestamp(data: bytes) -> tuple[int, int] | None:
    """meta/v1 Timestamp {1 seconds, 2 nanos}; ``None`` for Go's zero time (no bytes)."""
    if not data:
        return None
    seconds = nanos = 0
    for number, wire_type, value in iter_fields(data):
        if wire_type is WireType.VARINT and isinstance(value, int):
            if number == 1:
                seconds = signed(value, 64)
            elif number == 2:
                nanos = signed(value, 32)
    return seconds, nanos


def _datetime(seconds: int, microseconds: int) -> datetime:
    try:
        return _EPOCH + timedelta(seconds=seconds, microseconds=microseconds)
    except OverflowError:
        raise ProtobufError(f"time {seconds}s is outside years 1 to 9999") from None


def _time(data: bytes) -> str | None:
    """metav1.Time: whole seconds (Go drops the nanos) as RFC 3339 in UTC."""
    stamp = _timestamp(data)
    if stamp is None or stamp[0] == _GO_ZERO_SECONDS:
        return None
    return _datetime(stamp[0], 0).isoformat().replace("+00:00", "Z")


def _microtime(data: bytes) -> str | None:
    """metav1.MicroTime: nanos truncated to microseconds, RFC 3339 with six decimals."""
    stamp = _timestamp(data)
    if stamp is None:
        return None
    seconds, nanos = stamp
    micros = int(nanos / 1000)  # Go truncates toward zero
    if seconds == _GO_ZERO_SECONDS and micros == 0:
        return None
    moment = _datetime(seconds, micros)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _intstr(data: bytes) -> int | str:
    """intstr.IntOrString {1 type, 2 intVal, 3 strVal}: type 0 is an int, 1 a string."""
    kind, number, text = 0, 0, ""
    for field, wire_type, value in iter_fields(data):
        if field == 1 and isinstance(value, int):
            kind = signed(value, 64)
        elif field == 2 and isinstance(value, int):
            number = signed(value, 32)
        elif field == 3 and wire_type is WireType.LEN and isinstance(value, bytes):
            text = value.decode("utf-8", errors="replace")
    if kind == 0:
        return number
    if kind == 1:
        return text
    raise ProtobufError(f"IntOrString has unknown type {kind}")


def _quantity(data: bytes) -> str:
    """resource.Quantity {1 string}: the canonical string Go marshalled; unset is "0"."""
    text = "0"
    for field, wire_type, value in iter_fields(data):
        if field == 1 and wire_type is WireType.LEN and isinstance(value, bytes):
            text = value.decode("utf-8", errors="replace")
    if not text:
        raise ProtobufError("empty quantity")
    return text


def _rawjson(data: bytes) -> Any:
    """FieldsV1 / RawExtension {1 raw}: JSON bytes, embedded as-is; unset is null."""
    raw = b""
    for field, wire_type, value in iter_fields(data):
        if field == 1 and wire_type is WireType.LEN and isinstance(value, bytes):
            raw = value
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ProtobufError(f"embedded JSON is invalid: {error}") from None


_SPECIAL: Final = {
    "time": _time,
    "microtime": _microtime,
    "intstr": _intstr,
    "quantity": _quantity,
    "rawjson": _rawjson,
}
