"""Server-side apply and field ownership tracking, as kube-apiserver's field manager does them.

Owns the two entry points the apiserver calls: ``apply`` for a PATCH with
``application/apply-patch+yaml`` (create or merge, prune what the manager stopped
applying, refuse to overwrite another manager's fields unless forced), and
``track_update`` for every create, update and non-apply patch (the manager that changed a
field takes it over). Both return a new object whose ``metadata.managedFields`` is
current; the apiserver still sets uid, resourceVersion, generation and runs defaulting.

The steps mirror apimachinery's ``FieldManager`` chain (version check, kubectl's
last-applied migration, first-apply bootstrap, manager cap, manager identity, times,
stripping identity metadata) around structured-merge-diff's ``Updater`` (merge, prune,
ownership update), so conflicts and ``managedFields`` read as a real cluster's do.
Values are walked in ``typed``; sets and their wire form are in ``fieldset`` and
``managers``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from kubeproc.api.errors import BadRequest, Invalid, StatusError, required
from kubeproc.api.patch import typed
from kubeproc.api.patch.fieldset import FieldSet, field_pe, go_json
from kubeproc.api.patch.managers import (
    APPLY,
    BEFORE_FIRST_APPLY,
    UPDATE,
    Conflicts,
    ManagedFieldsError,
    ManagerKey,
    Managers,
    Owned,
    cap_update_managers,
    decode,
    encode,
    strip_meta,
)
from kubeproc.api.patch.strategies import Schema, reset_fields, schema_for, zero_object

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_KUBECTL = "kubectl"
_CURRENT = ManagerKey("current-operation", UPDATE)


class _TypedFailure(Exception):
    """An object the schema walks cannot type (bad list keys, duplicates)."""


@dataclass(frozen=True)
class _Target:
    """The kind and endpoint a request goes through, and when it happens."""

    group: str
    kind: str
    version: str
    subresource: str
    now: str

    @property
    def schema(self) -> Schema:
        return schema_for(self.group, self.kind)

    def zero(self) -> dict[str, Any]:
        return zero_object(self.group, self.kind)


def track_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    operation: str,
    subresource: str,
    api_version: str,
    now: str,
) -> dict[str, Any]:
    """``new`` with ``managedFields`` recording that ``manager`` set what it changed."""
    group, kind = _group_kind(new)
    target = _Target(group, kind, api_version, subresource, now)
    result = copy.deepcopy(new)
    managers = _base_managers(old, new, subresource)
    _meta(result).pop("managedFields", None)
    if not managers and old is not None and _meta_of(old).get("uid"):
        # An existing object nobody tracked stays untracked until its first apply.
        return result
    key = ManagerKey.of(manager, operation, api_version, subresource)
    live = old if old is not None else target.zero()
    try:
        _record_update(target, live, result, managers, key)
    except _TypedFailure:
        # The apiserver drops managedFields rather than fail a write over them.
        return result
    cap_update_managers(managers)
    _store(result, managers)
    return result


def _base_managers(old: dict[str, Any] | None, new: dict[str, Any], subresource: str) -> Managers:
    """Which ``managedFields`` an update starts from (the request's own, unless unusable)."""
    if not subresource:
        entries = _meta_of(new).get("managedFields")
        if entries in ([], [{}]):
            return {}
        try:
            managers = decode(entries)
        except ManagedFieldsError:
            managers = {}
        if managers:
            return managers
    try:
        return decode(_meta_of(old).get("managedFields")) if old is not None else {}
    except ManagedFieldsError:
        return {}


def _record_update(
    target: _Target, live: dict[str, Any], new: dict[str, Any], managers: Managers, key: ManagerKey
) -> None:
    """Give ``key`` every field ``new`` changes, taking it from whoever owned it."""
    comparison = _compare(target, live, new)
    if comparison.errors:
        raise _TypedFailure(comparison.errors[0])
    _update_owners(managers, comparison, exclude=None, force=True)
    managers[_CURRENT] = Owned(comparison.changed(), target.version, applied=False)
    strip_meta(managers, _CURRENT)
    if _CURRENT not in managers:
        return
    fields = managers.pop(_CURRENT).fields
    previous = managers.get(key)
    if previous is not None:
        fields = fields.union(previous.fields)
    managers[key] = Owned(fields, target.version, key.operation == APPLY, time=target.now)


def _update_owners(
    managers: Managers, comparison: typed.Comparison, *, exclude: ManagerKey | None, force: bool
) -> None:
    """Other managers lose what changed (or ``Conflicts`` unless forced) and what was removed."""
    changed = comparison.changed()
    conflicts: dict[ManagerKey, FieldSet] = {}
    for key, owned in managers.items():
        if key == exclude:
            continue
        overlap = owned.fields.intersection(changed)
        if not overlap.empty():
            conflicts[key] = overlap
    if conflicts and not force:
        raise Conflicts(conflicts)
    for key in list(managers):
        if key == exclude:
            continue
        owned = managers[key]
        owned.fields = owned.fields.difference(conflicts.get(key, FieldSet()))
        owned.fields = owned.fields.difference(comparison.removed)
        if owned.fields.empty():
            del managers[key]


def _compare(target: _Target, live: dict[str, Any], new: dict[str, Any]) -> typed.Comparison:
    """What changed, as the apiserver sees it (Go zero values filled in, reset fields out)."""
    zero = target.zero()
    comparison = typed.compare(
        _overlay(zero, _without_managed(live)), _overlay(zero, _without_managed(new)), target.schema
    )
    if target.subresource == "scale":
        only = FieldSet.of((field_pe("spec"), field_pe("replicas")))
        comparison.added = comparison.added.intersection(only)
        comparison.modified = comparison.modified.intersection(only)
        comparison.removed = comparison.removed.intersection(only)
    else:
        comparison.exclude(_reset_set(target))
    return comparison


def _reset_set(target: _Target) -> FieldSet:
    paths = reset_fields(target.group, target.kind, target.subresource)
    return FieldSet.of(*(tuple(field_pe(p) for p in path) for path in paths))


def _overlay(zero: Any, value: Any) -> Any:
    if isinstance(zero, dict) and isinstance(value, dict):
        out = dict(value)
        for k, v in zero.items():
            out[k] = _overlay(v, value[k]) if k in value else copy.deepcopy(v)
        return out
    return value


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def _group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rpartition("/")[0]
    return group, str(obj.get("kind") or "")


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        obj["metadata"] = meta
    return meta


def _store(obj: dict[str, Any], managers: Managers) -> None:
    meta = _meta(obj)
    if managers:
        meta["managedFields"] = encode(managers)
    else:
        meta.pop("managedFields", None)


# --- apply -----------------------------------------------------------------------------


def apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    group: str,
    kind: str,
    now: str,
    subresource: str = "",
) -> dict[str, Any]:
    """Server-side apply ``applied`` by ``manager`` onto ``live`` (``None``: create)."""
    if not manager:
        raise Invalid.of(
            "PatchOptions",
            "meta.k8s.io",
            "",
            [required("fieldManager", "is required for apply requests")],
        )
    version = _check_type(live, applied, group, kind)
    if _meta_of(applied).get("managedFields") is not None:
        raise BadRequest("metadata.managedFields must be nil")
    try:
        managers = decode(_meta_of(live).get("managedFields")) if live is not None else {}
    except ManagedFieldsError as err:
        raise StatusError(f"failed to decode managed fields: {err}") from err
    target = _Target(group, kind, version, subresource, now)
    base = _without_managed(live) if live is not None else {}
    key = ManagerKey.of(manager, APPLY, version, subresource)

    def attempt(forced: bool) -> tuple[dict[str, Any], Managers]:
        owners = {k: Owned(v.fields, v.api_version, v.applied, v.time) for k, v in managers.items()}
        if not owners and live is not None:
            # Whatever the object already holds belongs to someone before the first apply.
            first = ManagerKey.of(BEFORE_FIRST_APPLY, UPDATE, version, subresource)
            _record_update(target, target.zero(), base, owners, first)
        return _apply_config(target, base, applied, owners, key, force=forced)

    try:
        try:
            result, owners = attempt(force)
        except Conflicts as conflicts:
            if manager != _KUBECTL or live is None:
                raise conflicts.to_status_error() from conflicts
            # kubectl moving from client-side apply may take fields it last applied itself.
            allowed = _allowed_by_last_applied(target, base)
            remaining = conflicts.without(allowed) if allowed is not None else conflicts
            if remaining.by_manager:
                raise remaining.to_status_error() from conflicts
            result, owners = attempt(True)
    except _TypedFailure as err:
        raise StatusError(str(err)) from err
    annotations = _meta_of(result).get("annotations")
    if manager == _KUBECTL and isinstance(annotations, dict) and annotations.get(LAST_APPLIED):
        annotations[LAST_APPLIED] = build_last_applied(applied)
    _store(result, owners)
    return result


def _meta_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _check_type(live: dict[str, Any] | None, applied: Any, group: str, kind: str) -> str:
    """The API version the apply must use; ``invalid object type`` if it does not."""
    expected = str(live.get("apiVersion") or "") if live is not None else ""
    if not expected:
        expected = f"{group}/v1" if group else "v1"
    if not isinstance(applied, dict):
        raise BadRequest("invalid object type: /, Kind=")
    got_version, got_kind = str(applied.get("apiVersion") or ""), str(applied.get("kind") or "")
    if got_version != expected or got_kind != kind:
        group_version = got_version if "/" in got_version else "/" + got_version
        raise BadRequest(f"invalid object type: {group_version}, Kind={got_kind}")
    return expected


def _apply_config(
    target: _Target,
    live: dict[str, Any],
    config: dict[str, Any],
    managers: Managers,
    key: ManagerKey,
    *,
    force: bool,
) -> tuple[dict[str, Any], Managers]:
    """structured-merge-diff's ``Updater.Apply``: merge, prune, then settle ownership."""
    schema = target.schema
    _require_typed(target, config, "patch", allow_duplicates=False)
    _require_typed(target, live, "live", allow_duplicates=True)
    merged = typed.merge(live, copy.deepcopy(config), schema)
    last = managers.get(key)
    applied_set = typed.to_field_set(config, schema).recursive_difference(_reset_set(target))
    managers[key] = Owned(applied_set, target.version, True, time=last.time if last else None)
    if last is not None and not last.fields.empty():
        merged = _prune(merged, managers, last.fields, schema)
    _update_owners(managers, _compare(target, live, merged), exclude=key, force=force)
    changed = not typed.json_equal(live, merged)
    strip_meta(managers, key)
    if changed and key in managers:
        managers[key].time = target.now
    return (typed.drop_nulls(merged) if changed else copy.deepcopy(live)), managers


def _require_typed(
    target: _Target, obj: dict[str, Any], which: str, *, allow_duplicates: bool
) -> None:
    errors = typed.validate(obj, target.schema, allow_duplicates=allow_duplicates)
    if not errors:
        return
    meta = _meta_of(obj)
    version = str(obj.get("apiVersion") or "")
    gvk = f"{version if '/' in version else '/' + version}, Kind={target.kind}"
    where = f"{meta.get('namespace', '')}/{meta.get('name', '')}; {gvk}"
    lines = [f"{path}: {message}" for path, message in errors]
    text = lines[0] if len(lines) == 1 else "errors:\n  " + "\n  ".join(lines)
    raise _TypedFailure(f"failed to create typed {which} object ({where}): {text}")


def _prune(merged: Any, managers: Managers, last: FieldSet, schema: Schema) -> Any:
    """Drop fields the applier applied last time, no longer applies, and nobody else owns."""
    ensured = typed.ensure_named_fields
    last_e = ensured(last, schema)
    pruned = _removed(merged, last_e, schema)
    owned = FieldSet()
    for entry in managers.values():
        owned = owned.union(entry.fields)
    merged_set = ensured(typed.to_field_set(merged, schema), schema)
    keep = ensured(typed.to_field_set(pruned, schema), schema).union(ensured(owned, schema))
    pruned = _removed(merged, merged_set.difference(keep), schema)
    pruned_set = ensured(typed.to_field_set(pruned, schema), schema)
    return _removed(merged, merged_set.difference(pruned_set).intersection(last_e), schema)


def _removed(value: Any, fields: FieldSet, schema: Schema) -> Any:
    out = typed.remove_items(value, fields, schema)
    return {} if out is typed.MISSING else out


def _allowed_by_last_applied(target: _Target, live: dict[str, Any]) -> FieldSet | None:
    """Fields whose live value still equals kubectl's last client-side applied one."""
    annotations = _meta_of(live).get("annotations")
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    schema = target.schema
    if not isinstance(last, dict) or last.get("apiVersion") != target.version:
        return None
    if typed.validate(last, schema):
        return None
    comparison = typed.compare(last, _overlay(target.zero(), live), schema)
    fields = typed.to_field_set(last, schema)
    return (
        fields.difference(comparison.modified)
        .difference(comparison.added)
        .difference(comparison.removed)
    )


def build_last_applied(applied: dict[str, Any]) -> str:
    """The annotation value the apiserver writes for kubectl: the config, minus itself."""
    body = copy.deepcopy(applied)
    annotations = _meta_of(body).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    return go_json(body) + "\n"
