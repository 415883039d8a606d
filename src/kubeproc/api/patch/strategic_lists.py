"""Strategic merge patch on lists: merge by key, sets of scalars, deletions, ordering.

Owns how apimachinery's ``strategicpatch`` merges a patch list into a live list: items
with a ``$patch`` directive first (``delete`` by merge key, ``replace`` the whole list),
then items matched by merge key are merged as maps and unknown ones appended, scalar
lists are unioned (or pruned by a ``$deleteFromPrimitiveList`` list), and finally the
result is ordered: patch items in patch order, interleaved with server-only items in
their live order. ``strategic`` calls in here for every list whose field merges, and for
``$setElementOrder`` reordering. Maps inside items go back to ``strategic.merge_map``,
passed in as ``merge_map`` to keep the two modules acyclic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubeproc.api.patch.goerrors import (
    NO_LIST_OF_LISTS,
    PatchError,
    bad_arg_type,
    bad_patch_type,
    go_equal,
    go_value,
    no_merge_key,
)
from kubeproc.api.patch.strategies import Schema

DIRECTIVE = "$patch"
DELETE = "delete"
REPLACE = "replace"
MERGE = "merge"

MAP = "map"

MergeMap = Callable[[dict[str, Any] | None, dict[str, Any], Schema], dict[str, Any]]


def element_kind(*lists: list[Any]) -> str:
    """The one element type all lists share (``map`` for objects), or a ``PatchError``."""
    found = ""
    for items in lists:
        for item in items:
            kind = MAP if isinstance(item, dict) else type(item).__name__
            if not found:
                if isinstance(item, list):
                    raise PatchError(NO_LIST_OF_LISTS)
                found = kind
            elif kind != found:
                rendered = "[" + " ".join(go_value(items) for items in lists) + "]"
                raise PatchError(f"list element types are not identical: {rendered}")
    if not found:
        raise PatchError("no elements in any of the given slices")
    return found


def merge_list(
    original: list[Any],
    patch: list[Any],
    schema: Schema,
    *,
    delete_list: bool,
    merge_map: MergeMap,
) -> list[Any]:
    """Merge ``patch`` into ``original`` for a field whose strategy is ``merge``."""
    return merge_list_shared(original, patch, schema, delete_list=delete_list, merge_map=merge_map)[
        0
    ]


def merge_list_shared(
    original: list[Any],
    patch: list[Any],
    schema: Schema,
    *,
    delete_list: bool,
    merge_map: MergeMap,
) -> tuple[list[Any], list[Any]]:
    """``merge_list``, plus what ``original`` reads afterwards in apimachinery.

    Go deletes and appends in place, so the caller's slice of the live list can end up
    holding other items; ``$setElementOrder`` then orders by that view, and the results
    kubectl users get depend on it.
    """
    if not original and not patch:
        return original, original
    kind = element_kind(original, patch)
    key = schema.merge_key
    if kind != MAP:
        if delete_list:
            return [v for v in original if not any(go_equal(v, d) for d in patch)], original
        merged = _deduplicate([*original, *patch])
        patch_items, server_only = partition(merged, patch, key)
        ordered = normalize_order(patch_items, server_only, patch, original, key=key, kind=kind)
        return ordered, original
    if not key:
        raise PatchError("cannot merge lists without merge key for struct")
    backing = _GoSlice(original)
    plain, replace = _apply_special_items(backing, patch, key)
    if replace:
        return normalize_order([], plain, [], plain, key=key, kind=kind), backing.shared
    server_order = backing.view()
    for item in plain:
        if key not in item:
            raise no_merge_key(item, key)
        at = find(backing.view(), key, item[key])
        if at >= 0:
            backing.array[at] = merge_map(backing.array[at], item, schema.item())
        else:
            backing.append(item)
    patch_items, server_only = partition(backing.view(), plain, key)
    ordered = normalize_order(patch_items, server_only, plain, server_order, key=key, kind=kind)
    return ordered, backing.shared


class _GoSlice:
    """A Go slice over an array whose capacity is its length, as decoded objects have.

    ``shared`` is the array the caller's slice still reads: deletions shift it in place
    and appends fill the freed tail until one outgrows it and moves to a new array.
    """

    def __init__(self, items: list[Any]) -> None:
        self.array = list(items)
        self.shared = self.array
        self.length = len(items)

    def view(self) -> list[Any]:
        return self.array[: self.length]

    def delete_at(self, at: int) -> None:
        self.array[at : self.length - 1] = self.array[at + 1 : self.length]
        self.length -= 1

    def append(self, item: Any) -> None:
        if self.length < len(self.array):
            self.array[self.length] = item
        else:
            self.array = [*self.array[: self.length], item]
        self.length += 1


def _deduplicate(items: list[Any]) -> list[Any]:
    # apimachinery's in-place dedup moves the last element into each duplicate's slot.
    s = list(items)
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if go_equal(s[i], s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


def _apply_special_items(backing: _GoSlice, patch: list[Any], key: str) -> tuple[list[Any], bool]:
    """Carry out ``$patch`` items; the plain items left, and whether to replace the list."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == DELETE:
            if key not in item:
                raise no_merge_key(item, key)
            while (at := find(backing.view(), key, item[key])) >= 0:
                backing.delete_at(at)
        elif directive == REPLACE:
            replace = True
        elif directive == MERGE:
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise bad_patch_type(directive, item)
    return plain, replace


def find(items: list[Any], key: str, value: Any) -> int:
    """Index of the map in ``items`` whose ``key`` equals ``value``, or -1."""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PatchError(f"value for key {i} is not a map")
        if key in item and go_equal(item[key], value):
            return i
    return -1


def partition(items: list[Any], by: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    """Split ``items`` into those present in ``by`` (by merge key) and the rest."""
    present: list[Any] = []
    rest: list[Any] = []
    for item in items:
        if key:
            if not isinstance(item, dict):
                raise bad_arg_type("map[string]interface {}", item)
            if key not in item:
                raise no_merge_key(item, key)
            found = find(by, key, item[key]) >= 0
        else:
            found = any(_same(item, other) for other in by)
        (present if found else rest).append(item)
    return present, rest


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return bool(a == b)
    return go_equal(a, b)


def split_deletions(items: list[Any]) -> tuple[list[Any], list[Any]]:
    """Items without and with ``$patch: delete`` (every item must be a map)."""
    kept: list[Any] = []
    deleted: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            raise bad_arg_type("map[string]interface {}", item)
        (deleted if item.get(DIRECTIVE) == DELETE else kept).append(item)
    return kept, deleted


def _index(order: list[Any], item: Any, key: str, kind: str) -> int:
    wanted = item.get(key) if kind == MAP and isinstance(item, dict) else item
    for i, other in enumerate(order):
        value = other.get(key) if kind == MAP and isinstance(other, dict) else other
        if _same(wanted, value):
            return i
    return -1


def _sort_by(items: list[Any], order: list[Any], key: str, kind: str) -> list[Any]:
    deleted: list[Any] = []
    if kind == MAP:
        for item in [*items, *order]:
            if not isinstance(item, dict):
                raise bad_arg_type("map[string]interface {}", item)
            if key not in item:
                raise no_merge_key(item, key)
        items, deleted = split_deletions(items)
    known = [(i, item) for item in items if (i := _index(order, item, key, kind)) >= 0]
    unknown = [item for item in items if _index(order, item, key, kind) < 0]
    known.sort(key=lambda pair: pair[0])
    return [item for _, item in known] + unknown + deleted


def normalize_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    *,
    key: str,
    kind: str,
) -> list[Any]:
    """Patch items in patch order, server-only items in live order, interleaved."""
    left = _sort_by(server_only, server_order, key, kind)
    right = _sort_by(patch_items, patch_order, key, kind)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], key, kind)
            ri = _index(server_order, right[j], key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out
