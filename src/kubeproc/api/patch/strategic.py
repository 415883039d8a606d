"""Strategic merge patch (``application/strategic-merge-patch+json``) as kube-apiserver applies it.

Owns ``strategic_merge``: the apiserver's PATCH handler calls it with the stored object
and the request body, and gets the patched object (or a ``StatusError``). It is what
``kubectl apply`` (client side), ``kubectl patch`` and ``kubectl rollout restart`` rely
on. The field metadata comes from ``strategies``; lists are merged in
``strategic_lists``.

This follows apimachinery's ``strategicpatch.mergeMap`` closely, including its order of
work within one map (``$retainKeys``, then ``$setElementOrder`` lists, then every other
key) and its quirks (a ``null`` for a key that is absent is ignored; ``$patch: merge`` on a
map is refused). Where apimachinery leans on decoding into Go types to drop leftovers
(``null`` members, directives inside newly added items), the last step here drops them.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeproc.api.patch.goerrors import (
    BAD_PRIMITIVE_LIST,
    BAD_RETAIN_KEYS,
    BAD_SET_ELEMENT_ORDER,
    PatchError,
    bad_arg_type,
    bad_patch_type,
    go_value,
    no_merge_key,
    not_json_object,
)
from kubeproc.api.patch.strategic_lists import (
    DELETE,
    DIRECTIVE,
    REPLACE,
    element_kind,
    merge_list,
    merge_list_shared,
    normalize_order,
    partition,
    split_deletions,
)
from kubeproc.api.patch.strategies import Schema, schema_for

RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"


def strategic_merge(
    original: dict[str, Any], patch: dict[str, Any], group: str, kind: str
) -> dict[str, Any]:
    """Apply a strategic merge patch to an object of ``group``/``kind``; inputs untouched."""
    body: Any = patch  # the decoded request body: anything JSON, whatever the caller says
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise not_json_object(body)
    try:
        merged = merge_map(copy.deepcopy(original), copy.deepcopy(body), schema_for(group, kind))
    except PatchError as err:
        raise err.to_status_error() from err
    cleaned = _clean(merged)
    return cleaned if isinstance(cleaned, dict) else {}


def merge_map(
    original: dict[str, Any] | None, patch: dict[str, Any], schema: Schema
) -> dict[str, Any]:
    """Merge ``patch`` into ``original`` (both owned by the caller, both may be changed)."""
    if DIRECTIVE in patch:
        return _map_directive(patch[DIRECTIVE], patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for raw_key, value in list(patch.items()):
        key, delete_list = raw_key, False
        if raw_key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            key, delete_list = _strip_prefix(raw_key, DELETE_FROM_PRIMITIVE_LIST), True
        if value is None:
            original.pop(key, None)
            continue
        if key not in original or _go_kind(original[key]) != _go_kind(value):
            if not delete_list:
                _take(original, key, value)
            continue
        current = original[key]
        if isinstance(current, dict):
            original[key] = merge_map(current, value, schema.child(key))
        elif isinstance(current, list):
            child = schema.child(key)
            if child.merge or delete_list:
                original[key] = merge_list(
                    current, value, child, delete_list=delete_list, merge_map=merge_map
                )
            else:
                original[key] = value
        else:
            _take(original, key, value)
    return original


def _go_kind(value: Any) -> str:
    # Only "same Go type" matters to mergeMap, and only maps and lists recurse.
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    return "scalar:" + type(value).__name__


def _take(original: dict[str, Any], key: str, value: Any) -> None:
    """Use a patch value where nothing merges: without its nulls and directive maps."""
    _discard_nulls(value)
    kept, keep = _remove_directives(value)
    if keep:
        original[key] = kept
    else:
        original.pop(key, None)


def _map_directive(directive: Any, patch: dict[str, Any]) -> dict[str, Any]:
    if directive == REPLACE:
        del patch[DIRECTIVE]
        return patch
    if directive == DELETE:
        return {}
    raise bad_patch_type(directive, patch)


def _strip_prefix(key: str, prefix: str) -> str:
    head, sep, tail = key.partition("/")
    if not sep or head != prefix:
        raise PatchError(
            BAD_PRIMITIVE_LIST if prefix == DELETE_FROM_PRIMITIVE_LIST else BAD_SET_ELEMENT_ORDER
        )
    return tail


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise PatchError(BAD_RETAIN_KEYS)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in retain:
            raise PatchError(BAD_RETAIN_KEYS)
    for key in list(original):
        if key not in retain:
            del original[key]


def _merge_ordered_lists(original: dict[str, Any], patch: dict[str, Any], schema: Schema) -> None:
    """Handle every ``$setElementOrder/<field>``: merge that list, then impose the order."""
    for directive_key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise bad_arg_type("[]interface {}", order)
        key = _strip_prefix(directive_key, SET_ELEMENT_ORDER)
        in_original, in_patch = key in original, key in patch
        current, patched = original.get(key), patch.get(key)
        if in_original and not isinstance(current, list):
            raise bad_arg_type("[]interface {}", current)
        if in_patch and not isinstance(patched, list):
            raise bad_arg_type("[]interface {}", patched)
        current_list: list[Any] = current or []
        patch_list: list[Any] = patched or []
        child = schema.child(key)
        _check_order(patch_list, order, child.merge_key)
        if in_original and in_patch:
            if child.merge:
                merged, current_list = merge_list_shared(
                    current_list, patch_list, child, delete_list=False, merge_map=merge_map
                )
            else:
                merged = patch_list
        elif in_original:
            merged = current_list
        elif in_patch:
            merged, _ = _remove_directives(patch_list)
        else:
            continue
        kind = element_kind(current_list, patch_list)
        present, rest = partition(merged, order, child.merge_key)
        original[key] = normalize_order(
            present, rest, order, current_list, key=child.merge_key, kind=kind
        )
        patch.pop(key, None)


def _check_order(patch_list: list[Any], order: list[Any], key: str) -> None:
    """The patch list must follow ``$setElementOrder``'s relative order (deletions aside)."""
    if not order or not patch_list:
        return
    items = split_deletions(patch_list)[0] if key else patch_list
    at = seen = 0
    while at < len(items) and seen < len(order):
        item = items[at]
        if isinstance(item, dict) and DIRECTIVE in item:
            at += 1
            continue
        if _same_key(item, order[seen], key):
            at += 1
        seen += 1
    if at < len(items) and seen >= len(order):
        raise PatchError(
            f"The order in patch list:\n{go_value(patch_list)}\n doesn't match "
            f"{SET_ELEMENT_ORDER} list:\n{go_value(order)}\n"
        )


def _same_key(left: Any, right: Any, key: str) -> bool:
    if not key:
        return bool(left == right)
    for side in (left, right):
        if not isinstance(side, dict):
            raise bad_arg_type("map[string]interface {}", side)
        if key not in side:
            raise no_merge_key(side, key)
    return bool(left[key] == right[key])


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for v in value.values():
            _discard_nulls(v)
    elif isinstance(value, list):
        for v in value:
            _discard_nulls(v)


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """``value`` without maps carrying ``$patch``; ``False`` if ``value`` is one."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        out: dict[str, Any] = {}
        for key, child in value.items():
            kept, keep = _remove_directives(child)
            if keep:
                out[key] = kept
        return out, True
    if isinstance(value, list):
        items = [_remove_directives(v) for v in value]
        return [kept for kept, keep in items if keep], True
    return value, True


def _is_directive_key(key: str) -> bool:
    return key in (DIRECTIVE, RETAIN_KEYS) or key.startswith(
        (SET_ELEMENT_ORDER + "/", DELETE_FROM_PRIMITIVE_LIST + "/")
    )


def _clean(value: Any) -> Any:
    """Drop ``null`` members and leftover directive keys, as decoding into Go types does."""
    if isinstance(value, dict):
        return {
            k: _clean(v) for k, v in value.items() if v is not None and not _is_directive_key(k)
        }
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
