"""Schema-aware walks over JSON objects: the value half of server-side apply.

Owns what structured-merge-diff's ``typed`` package does for the apiserver: the set of
fields a value sets (``to_field_set``), what changed between two values (``compare``),
merging an applied configuration into a live object (``merge``), cutting owned fields
back out (``remove_items``) and checking a configuration is well formed (``validate``).
``apply`` composes these; positions are looked up in ``strategies``.

The walks follow structured-merge-diff step for step (list order when merging, which
nodes count as added, when an emptied map disappears) because those details show up in
objects and in ``managedFields`` that users read. Objects are plain JSON; ``MISSING``
stands for "no such key", distinct from a JSON ``null`` (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from kubeproc.api.patch.fieldset import (
    FieldSet,
    Path,
    field_pe,
    key_pe,
    path_string,
    pe_string,
    value_pe,
)
from kubeproc.api.patch.strategies import ListType, Schema


class ShapeError(ValueError):
    """An element a merging list cannot name (no key, wrong type)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()


def json_equal(a: Any, b: Any) -> bool:
    """Deep JSON equality that, like Go, never equates ``true`` with ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def list_item_pe(schema: Schema, item: Any) -> str:
    """The path element naming one element of a merging list; ``ShapeError`` if none."""
    if schema.list_type is ListType.MAP:
        if item is None:
            raise ShapeError("associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise ShapeError("associative list with keys may not have non-map elements")
        keys = {k: item[k] for k in schema.keys if k in item}
        for name in schema.keys:
            if name not in keys and name in schema.key_defaults:
                keys[name] = schema.key_defaults[name]
        if not keys:
            quoted = "[" + " ".join(f'"{k}"' for k in schema.keys) + "]"
            raise ShapeError(
                f"associative list with keys has an element that omits all key fields {quoted} "
                "(and doesn't have default values for any key fields)"
            )
        return key_pe(keys)
    if isinstance(item, dict):
        raise ShapeError("associative list without keys has an element that's a map type")
    if isinstance(item, list):
        raise ShapeError("not supported: associative list with lists as elements")
    if item is None:
        raise ShapeError("associative list without keys has an element that's an explicit null")
    return value_pe(item)


def _merging(schema: Schema, *values: Any) -> bool:
    return schema.list_type is not ListType.ATOMIC and any(
        isinstance(v, list) and v for v in values
    )


def _mapping(schema: Schema, *values: Any) -> bool:
    return not schema.atomic and any(isinstance(v, dict) and v for v in values)


def _as(kind: type, value: Any) -> Any:
    return value if isinstance(value, kind) else kind()


# --- validation ------------------------------------------------------------------------


def validate(
    value: Any, schema: Schema, path: str = "", *, allow_duplicates: bool = False
) -> list[tuple[str, str]]:
    """Errors that make ``value`` unusable as a typed object (path, message)."""
    errors: list[tuple[str, str]] = []
    if isinstance(value, dict) and not schema.atomic:
        for k, v in value.items():
            errors += validate(v, schema.child(k), f"{path}.{k}", allow_duplicates=allow_duplicates)
    elif isinstance(value, list) and schema.list_type is not ListType.ATOMIC:
        seen: set[str] = set()
        for i, item in enumerate(value):
            try:
                pe = list_item_pe(schema, item)
            except ShapeError as err:
                errors.append((path, f"element {i}: {err}"))
                continue
            if pe in seen:
                if not allow_duplicates:
                    errors.append((path, f"duplicate entries for key {pe_string(pe)}"))
                continue
            seen.add(pe)
            item_path = path + pe_string(pe)
            errors += validate(item, schema.item(), item_path, allow_duplicates=allow_duplicates)
    return errors


# --- field sets ------------------------------------------------------------------------


def to_field_set(value: Any, schema: Schema) -> FieldSet:
    """The fields ``value`` sets: what an applier owns after applying it."""
    out = FieldSet()
    _to_field_set(value, schema, (), out)
    return out


def _to_field_set(value: Any, schema: Schema, path: Path, out: FieldSet) -> None:
    if isinstance(value, dict):
        if schema.atomic:
            out.insert(path)
            return
        for k, v in value.items():
            child = (*path, field_pe(k))
            _to_field_set(v, schema.child(k), child, out)
            if v is None or v == {} or not schema.is_field(k):
                out.insert(child)
    elif isinstance(value, list):
        if schema.list_type is ListType.ATOMIC:
            out.insert(path)
            return
        pes = [_pe_or_none(schema, item) for item in value]
        counts: dict[str, int] = {}
        for pe in pes:
            if pe is not None:
                counts[pe] = counts.get(pe, 0) + 1
        for pe, item in zip(pes, value, strict=True):
            if pe is None:
                continue
            if counts[pe] == 1:
                _to_field_set(item, schema.item(), (*path, pe), out)
            out.insert((*path, pe))
    else:
        out.insert(path)


def _pe_or_none(schema: Schema, item: Any) -> str | None:
    try:
        return list_item_pe(schema, item)
    except ShapeError:
        return None


def ensure_named_fields(fields: FieldSet, schema: Schema) -> FieldSet:
    """``fields`` plus every struct field that is only a parent in it (SMD's rule)."""
    out = FieldSet()
    out.members = set(fields.members)
    for pe, child in fields.children.items():
        if pe.startswith("f:"):
            name = pe[2:]
            if schema.is_field(name):
                out.members.add(pe)
            out.children[pe] = ensure_named_fields(child, schema.child(name))
        else:
            out.children[pe] = ensure_named_fields(child, schema.item())
    return out


# --- comparison ------------------------------------------------------------------------


@dataclass
class Comparison:
    """Fields ``rhs`` added, changed and removed relative to ``lhs``."""

    added: FieldSet = field(default_factory=FieldSet)
    modified: FieldSet = field(default_factory=FieldSet)
    removed: FieldSet = field(default_factory=FieldSet)
    errors: list[str] = field(default_factory=list)

    def changed(self) -> FieldSet:
        return self.modified.union(self.added)

    def exclude(self, fields: FieldSet) -> None:
        self.added = self.added.recursive_difference(fields)
        self.modified = self.modified.recursive_difference(fields)
        self.removed = self.removed.recursive_difference(fields)


def compare(lhs: Any, rhs: Any, schema: Schema) -> Comparison:
    out = Comparison()
    _compare(lhs, rhs, schema, (), out)
    return out


def _compare(lhs: Any, rhs: Any, schema: Schema, path: Path, out: Comparison) -> None:
    if _mapping(schema, lhs, rhs) and all(
        v is MISSING or v is None or isinstance(v, dict) for v in (lhs, rhs)
    ):
        left, right = _as(dict, lhs), _as(dict, rhs)
        for k in {**left, **right}:
            _compare(
                left.get(k, MISSING),
                right.get(k, MISSING),
                schema.child(k),
                (*path, field_pe(k)),
                out,
            )
    elif _merging(schema, lhs, rhs) and all(
        v is MISSING or v is None or isinstance(v, list) for v in (lhs, rhs)
    ):
        _compare_items(_as(list, lhs), _as(list, rhs), schema, path, out)
    else:
        if lhs is MISSING:
            out.added.insert(path)
        elif rhs is MISSING:
            out.removed.insert(path)
        elif not json_equal(lhs, rhs):
            out.modified.insert(path)
        return
    if lhs is MISSING:
        out.added.insert(path)
    elif rhs is MISSING:
        out.removed.insert(path)


def _index(schema: Schema, items: list[Any], path: Path, out: Comparison) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for i, item in enumerate(items):
        try:
            pe = list_item_pe(schema, item)
        except ShapeError as err:
            out.errors.append(f"{path_string(path)}: element {i}: {err}")
            continue
        found.setdefault(pe, []).append(item)
    return found


def _compare_items(
    lhs: list[Any], rhs: list[Any], schema: Schema, path: Path, out: Comparison
) -> None:
    left, right = _index(schema, lhs, path, out), _index(schema, rhs, path, out)
    item_schema = schema.item()
    for pe in {**left, **right}:
        lv, rv = left.get(pe, []), right.get(pe, [])
        child = (*path, pe)
        if len(lv) <= 1 and len(rv) <= 1:
            _compare(lv[0] if lv else MISSING, rv[0] if rv else MISSING, item_schema, child, out)
        elif len(lv) >= 2 and len(rv) >= 2:
            if not json_equal(lv, rv):
                out.modified.insert(child)
        elif len(lv) >= 2:
            if rv:
                _compare(MISSING, rv[0], item_schema, child, out)
            out.removed.insert(child)
        else:
            if lv:
                _compare(lv[0], MISSING, item_schema, child, out)
            out.added.insert(child)


# --- merge -----------------------------------------------------------------------------


def merge(lhs: Any, rhs: Any, schema: Schema) -> Any:
    """Apply's merge: ``rhs`` wins at leaves; maps and merging lists combine."""
    if rhs is MISSING:
        return lhs
    if lhs is MISSING:
        return rhs
    if isinstance(lhs, dict) and isinstance(rhs, dict) and _mapping(schema, lhs, rhs):
        out = dict(lhs)
        for k, v in rhs.items():
            out[k] = merge(lhs.get(k, MISSING), v, schema.child(k))
        return out
    if isinstance(lhs, list) and isinstance(rhs, list) and _merging(schema, lhs, rhs):
        return _merge_items(lhs, rhs, schema)
    return rhs


def _merge_items(lhs: list[Any], rhs: list[Any], schema: Schema) -> list[Any]:
    item_schema = schema.item()
    right = [(pe, item) for pe, item in ((_pe_or_none(schema, i), i) for i in rhs) if pe]
    left = [(pe, item) for pe, item in ((_pe_or_none(schema, i), i) for i in lhs) if pe]
    rhs_pes = [pe for pe, _ in right]
    seen_r = dict(right)
    seen_l: dict[str, Any] = {}
    for pe, item in left:
        # A key the live list repeats merges as if absent (SMD keeps a null there).
        seen_l[pe] = None if pe in seen_l else item
    l_pes = [pe for pe, _ in left]
    l_items = [item for _, item in left]
    shared = [pe for pe in rhs_pes if pe in seen_l]
    next_shared = shared.pop(0) if shared else None
    merged_rhs: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(l_pes) or ri < len(rhs_pes):
        if li < len(l_pes) and ri < len(rhs_pes):
            pe = l_pes[li]
            if pe == rhs_pes[ri]:
                merged_rhs.add(pe)
                out.append(merge(seen_l[pe], seen_r[pe], item_schema))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in seen_r and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(l_pes):
            pe = l_pes[li]
            if pe not in seen_r:
                out.append(l_items[li])
                li += 1
                continue
            if pe in merged_rhs:
                li += 1
        if ri < len(rhs_pes):
            pe = rhs_pes[ri]
            merged_rhs.add(pe)
            out.append(merge(seen_l.get(pe, MISSING), seen_r[pe], item_schema))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out


# --- removal ---------------------------------------------------------------------------


def remove_items(value: Any, fields: FieldSet, schema: Schema) -> Any:
    """``value`` without the members of ``fields``; a map or list emptied by it vanishes."""
    if isinstance(value, list):
        if not value or schema.list_type is ListType.ATOMIC:
            return MISSING
        items: list[Any] = []
        for item in value:
            pe = _pe_or_none(schema, item)
            if pe is not None and pe in fields.members:
                continue
            sub = fields.with_prefix(pe) if pe is not None else FieldSet()
            kept = remove_items(item, sub, schema.item()) if not sub.empty() else item
            if kept is not MISSING:
                items.append(kept)
        return items or MISSING
    if isinstance(value, dict):
        if not value or schema.atomic:
            return MISSING
        out: dict[str, Any] = {}
        for k, v in value.items():
            pe = field_pe(k)
            if pe in fields.members:
                continue
            sub = fields.with_prefix(pe)
            kept = remove_items(v, sub, schema.child(k)) if not sub.empty() else v
            out[k] = None if kept is MISSING else kept
        return out or MISSING
    return value


def drop_nulls(value: Any) -> Any:
    """Drop ``null`` members, as decoding into Kubernetes' Go types does."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value
