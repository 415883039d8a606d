"""The schema notation: what a field number means, and how its JSON form treats absence.

Owns the records the decoder walks (`Field`, `Message`) and the compact notation the
table modules (`meta`, `core`, `core_pod`, `core_volume`, `apps`, `groups`) are written in.
A table reads like the ``generated.proto`` it comes from, so a reader can hold both side
by side::

    DeploymentSpec:
        1 replicas i?, 2 selector LabelSelector~, 3 template PodTemplateSpec!

Each field is ``<number> <json name> <type><presence>``; a line starting with ``#`` is a
comment.

Types: ``s`` string, ``i`` int32, ``l`` int64, ``b`` bool, ``y`` bytes (base64 in JSON),
``time`` and ``microtime`` (meta/v1 Time and MicroTime), ``intstr`` (IntOrString),
``quantity`` (resource.Quantity), ``rawjson`` (bytes holding JSON: FieldsV1,
RawExtension), or a message name. ``[T]`` is a repeated field, ``{T}`` a map from string.

Presence says what Go's ``encoding/json`` does with the field, because the decoded dict
must be the object exactly as its JSON encoding would be (protobuf cannot tell a zero
value from an absent one, but the Go struct behind it can):

* (nothing) a value with ``omitempty``: dropped when zero or empty.
* ``?`` a pointer with ``omitempty``: present exactly when it was sent, even if zero.
* ``~`` a pointer without ``omitempty``: ``null`` when not sent.
* ``!`` no ``omitempty``, or a struct (``encoding/json`` never omits structs): always
  present; the zero value when not sent, and ``null`` for a list, map or bytes not sent.
* a json name of ``*`` marks an embedded struct (``json:",inline"``): its fields are
  the parent's (``Volume.volumeSource``, ``Probe.handler``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Final

__all__ = [
    "SCALAR_TYPES",
    "SPECIAL_TYPES",
    "Field",
    "Message",
    "Presence",
    "Shape",
    "parse_schema",
]

SCALAR_TYPES: Final = frozenset({"s", "i", "l", "b", "y"})
SPECIAL_TYPES: Final = frozenset({"time", "microtime", "intstr", "quantity", "rawjson"})
INLINE: Final = "*"

_FIELD = re.compile(
    r"^(?P<number>\d+) (?P<name>\*|[A-Za-z]\w*) "
    r"(?:\[(?P<list>[\w.]+)\]|\{(?P<map>[\w.]+)\}|(?P<single>[\w.]+))(?P<presence>[?~!]?)$"
)
_MESSAGE = re.compile(r"^(?P<name>[A-Za-z][\w.]*):$")


class Presence(StrEnum):
    """How the JSON encoding treats a field that was not sent or is zero."""

    OMIT_EMPTY = ""
    POINTER = "?"
    NULLABLE = "~"
    ALWAYS = "!"
    INLINE = "*"


class Shape(Enum):
    """One value, a repeated field (JSON list), or a map (JSON object)."""

    SINGLE = "single"
    LIST = "list"
    MAP = "map"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message: its number on the wire and its place in the JSON object."""

    number: int
    name: str
    type: str
    shape: Shape
    presence: Presence

    @property
    def is_message(self) -> bool:
        """Whether values are nested messages of the schema (not scalars or special types)."""
        return self.type not in SCALAR_TYPES and self.type not in SPECIAL_TYPES


@dataclass(frozen=True, slots=True)
class Message:
    """A message type: its name in the tables and its fields by number."""

    name: str
    fields: Mapping[int, Field]


def parse_schema(text: str) -> dict[str, Message]:
    """Parse a table written in the notation above; a mistake is a programming error."""
    messages: dict[str, Message] = {}
    name = ""
    fields: dict[int, Field] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        header = _MESSAGE.match(line)
        if header:
            if name:
                messages[name] = Message(name, fields)
            name, fields = header["name"], {}
            if name in messages:
                raise ValueError(f"message {name} defined twice")
            continue
        if not name:
            raise ValueError(f"field outside a message: {line!r}")
        for spec in line.rstrip(",").split(","):
            field = _parse_field(spec.strip(), name)
            if field.number in fields:
                raise ValueError(f"{name}: field {field.number} defined twice")
            fields[field.number] = field
    if name:
        messages[name] = Message(name, fields)
    return messages


def _parse_field(spec: str, message: str) -> Field:
    match = _FIELD.match(spec)
    if match is None:
        raise ValueError(f"{message}: cannot parse field {spec!r}")
    if match["list"]:
        type_, shape = match["list"], Shape.LIST
    elif match["map"]:
        type_, shape = match["map"], Shape.MAP
    else:
        type_, shape = match["single"], Shape.SINGLE
    presence = Presence(match["presence"])
    if match["name"] == INLINE:
        if shape is not Shape.SINGLE or presence is not Presence.OMIT_EMPTY:
            raise ValueError(f"{message}: inline field {spec!r} must be a plain message")
        presence = Presence.INLINE
    return Field(int(match["number"]), match["name"], type_, shape, presence)
