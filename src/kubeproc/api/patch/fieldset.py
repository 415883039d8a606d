"""Sets of field paths, the currency of server-side apply, and their FieldsV1 encoding.

Owns ``FieldSet`` (structured-merge-diff's ``fieldpath.Set``: a trie of path elements
whose nodes may themselves be members), its algebra, its wire form in
``metadata.managedFields[].fieldsV1`` and the ``.spec.containers[name="main"].image``
spelling used in conflict messages. ``typed`` builds sets from objects and ``apply``
keeps one set per manager.

A path element is kept in its serialized FieldsV1 form (``f:name``, ``k:{"name":"x"}``,
``v:"x"``, ``i:0``): that form is canonical (key fields sorted, compact JSON), hashable,
and is exactly what goes on the wire, so sets need no separate element type.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

Path = tuple[str, ...]

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def go_json(value: Any) -> str:
    """Compact JSON as Go's encoding/json writes it: sorted keys, HTML-safe escapes."""
    text = json.dumps(_go_numbers(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for raw, escaped in _GO_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def _go_numbers(value: Any) -> Any:
    # Go prints a whole float64 without a fraction (1.0 -> 1).
    if (
        isinstance(value, float)
        and math.isfinite(value)
        and value.is_integer()
        and abs(value) < 1e21
    ):
        return int(value)
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


def field_pe(name: str) -> str:
    return "f:" + name


def key_pe(fields: Mapping[str, Any]) -> str:
    return "k:" + go_json(dict(fields))


def value_pe(value: Any) -> str:
    return "v:" + go_json(value)


def index_pe(index: int) -> str:
    return f"i:{index}"


def _value_order(value: Any) -> tuple[Any, ...]:
    # structured-merge-diff's value.Compare: numbers < strings < bools < lists < maps < null.
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(_value_order(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _value_order(v)) for k, v in sorted(value.items())))
    return (5,)


@lru_cache(maxsize=4096)
def pe_order(pe: str) -> tuple[Any, ...]:
    """Sort key of a path element: fields < keys < values < indexes, as SMD orders them."""
    kind, body = pe[0], pe[2:]
    if kind == "f":
        return (0, body)
    if kind == "k":
        parsed = json.loads(body)
        return (1, tuple((k, _value_order(v)) for k, v in sorted(parsed.items())))
    if kind == "v":
        return (2, _value_order(json.loads(body)))
    return (3, int(body))


def _go_string(value: Any) -> str:
    # structured-merge-diff's value.ToString.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_go_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "".join(f"{k}={_go_string(v)}" for k, v in value.items())
    return go_json(value)


def pe_string(pe: str) -> str:
    """One element as conflict messages spell it: ``.name``, ``[name="x"]``, ``[=v]``."""
    kind, body = pe[0], pe[2:]
    if kind == "f":
        return "." + body
    if kind == "k":
        parsed = json.loads(body)
        return "[" + ",".join(f"{k}={_go_string(v)}" for k, v in parsed.items()) + "]"
    if kind == "v":
        return f"[={_go_string(json.loads(body))}]"
    return f"[{body}]"


def path_string(path: Path) -> str:
    return "".join(pe_string(pe) for pe in path)


class FieldsV1Error(ValueError):
    """A ``fieldsV1`` tree that does not parse."""


class FieldSet:
    """A set of paths; a node can be a member (owned itself) and have children."""

    __slots__ = ("children", "members")

    def __init__(self) -> None:
        self.members: set[str] = set()
        self.children: dict[str, FieldSet] = {}

    @classmethod
    def of(cls, *paths: Path) -> FieldSet:
        result = cls()
        for path in paths:
            result.insert(path)
        return result

    def insert(self, path: Path) -> None:
        if not path:
            return
        node = self
        for pe in path[:-1]:
            node = node.children.setdefault(pe, FieldSet())
        node.members.add(path[-1])

    def has(self, path: Path) -> bool:
        node: FieldSet | None = self
        for pe in path[:-1]:
            node = node.children.get(pe) if node is not None else None
        return node is not None and bool(path) and path[-1] in node.members

    def empty(self) -> bool:
        return not self.members and all(child.empty() for child in self.children.values())

    def with_prefix(self, pe: str) -> FieldSet:
        return self.children.get(pe) or FieldSet()

    def copy(self) -> FieldSet:
        result = FieldSet()
        result.members = set(self.members)
        result.children = {pe: child.copy() for pe, child in self.children.items()}
        return result

    def union(self, other: FieldSet) -> FieldSet:
        result = FieldSet()
        result.members = self.members | other.members
        for pe in self.children.keys() | other.children.keys():
            mine, theirs = self.children.get(pe), other.children.get(pe)
            if mine is not None and theirs is not None:
                result.children[pe] = mine.union(theirs)
            else:
                result.children[pe] = (mine or theirs or FieldSet()).copy()
        return result

    def difference(self, other: FieldSet) -> FieldSet:
        result = FieldSet()
        result.members = self.members - other.members
        for pe, child in self.children.items():
            theirs = other.children.get(pe)
            kept = child.difference(theirs) if theirs is not None else child.copy()
            if not kept.empty():
                result.children[pe] = kept
        return result

    def recursive_difference(self, other: FieldSet) -> FieldSet:
        """Like ``difference``, also dropping everything below a member of ``other``."""
        result = FieldSet()
        result.members = self.members - other.members
        for pe, child in self.children.items():
            if pe in other.members:
                continue
            theirs = other.children.get(pe)
            kept = child.recursive_difference(theirs) if theirs is not None else child.copy()
            if not kept.empty():
                result.children[pe] = kept
        return result

    def intersection(self, other: FieldSet) -> FieldSet:
        result = FieldSet()
        result.members = self.members & other.members
        for pe, child in self.children.items():
            theirs = other.children.get(pe)
            if theirs is None:
                continue
            kept = child.intersection(theirs)
            if not kept.empty():
                result.children[pe] = kept
        return result

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Every member path, members of a node before its subtrees, each level sorted."""
        for pe in sorted(self.members, key=pe_order):
            yield (*prefix, pe)
        for pe in sorted(self.children, key=pe_order):
            yield from self.children[pe].paths((*prefix, pe))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSet):
            return NotImplemented
        return set(self.paths()) == set(other.paths())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "FieldSet(" + ", ".join(path_string(p) for p in self.paths()) + ")"

    def to_fields_v1(self) -> dict[str, Any]:
        """The FieldsV1 JSON tree (``.`` marks a node that is also a member)."""
        return self._emit(include_self=False)

    def _emit(self, *, include_self: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if include_self and (self.members or self.children):
            out["."] = {}
        for pe in sorted(self.members | self.children.keys(), key=pe_order):
            child = self.children.get(pe)
            if child is None:
                out[pe] = {}
            else:
                out[pe] = child._emit(include_self=pe in self.members)
        return out

    @classmethod
    def from_fields_v1(cls, tree: Any) -> FieldSet:
        """Parse a FieldsV1 tree; ``FieldsV1Error`` if it is not one."""
        if not isinstance(tree, dict):
            raise FieldsV1Error("FieldsV1 must be a JSON object")
        result = cls()
        for raw, sub in tree.items():
            if raw == ".":
                continue
            pe = _canonical_pe(raw)
            if not isinstance(sub, dict):
                raise FieldsV1Error(f"FieldsV1 entry {raw!r} must be a JSON object")
            if not sub or "." in sub:
                result.members.add(pe)
            child = cls.from_fields_v1(sub)
            if not child.empty():
                result.children[pe] = child
        return result


def _canonical_pe(raw: str) -> str:
    if len(raw) < 2 or raw[1] != ":":
        raise FieldsV1Error(f"invalid path element {raw!r}")
    kind, body = raw[0], raw[2:]
    if kind == "f":
        return raw
    try:
        if kind == "k":
            parsed = json.loads(body)
            if not isinstance(parsed, dict):
                raise FieldsV1Error(f"invalid key path element {raw!r}")
            return key_pe(parsed)
        if kind == "v":
            return value_pe(json.loads(body))
        if kind == "i":
            return index_pe(int(body))
    except json.JSONDecodeError as err:
        raise FieldsV1Error(f"invalid path element {raw!r}: {err}") from err
    raise FieldsV1Error("unknown path element type")
