"""``metadata.managedFields``: who owns which fields, read, written and reported.

Owns the record server-side apply keeps per field manager (``ManagerKey`` -> ``Owned``),
its decoding from and encoding to ``managedFields`` entries (order, identity and format
as kube-apiserver writes them), the fields never recorded (``strip_meta``), the cap on
update managers (``cap_update_managers``) and the wording of apply conflicts
(``conflict_error``). ``apply`` drives all of it.

A manager is identified the way apimachinery's ``BuildManagerIdentifier`` does it: by
name, operation, subresource and, for updates only, API version. Two updates from the
same client through two versions are two entries; applies are one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubeproc.api.errors import Conflict
from kubeproc.api.patch.fieldset import FieldSet, FieldsV1Error, Path, field_pe, path_string

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"


class ManagedFieldsError(ValueError):
    """``managedFields`` that do not decode."""


@dataclass(frozen=True)
class ManagerKey:
    """One ``managedFields`` identity (the API version counts for updates only)."""

    manager: str
    operation: str
    api_version: str = ""
    subresource: str = ""

    @classmethod
    def of(cls, manager: str, operation: str, api_version: str, subresource: str) -> ManagerKey:
        version = "" if operation == APPLY else api_version
        return cls(manager or "unknown", operation, version, subresource)

    def ident(self) -> str:
        """The JSON identifier apimachinery sorts and compares managers by."""
        body: dict[str, str] = {"manager": self.manager, "operation": self.operation}
        if self.api_version:
            body["apiVersion"] = self.api_version
        if self.subresource:
            body["subresource"] = self.subresource
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    def describe(self) -> str:
        """How conflict messages name the manager: ``"kubectl" using v1``."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text


@dataclass
class Owned:
    """The fields one manager owns, at which API version, and when it last changed them."""

    fields: FieldSet
    api_version: str
    applied: bool
    time: str | None = None


Managers = dict[ManagerKey, Owned]


def decode(entries: Any) -> Managers:
    """Parse ``metadata.managedFields``; ``ManagedFieldsError`` with apimachinery's wording."""
    managers: Managers = {}
    if entries is None:
        return managers
    if not isinstance(entries, list):
        raise ManagedFieldsError("managedFields must be a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ManagedFieldsError(f"managed fields entry {i} must be an object")
        operation = entry.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ManagedFieldsError("operation must be `Apply` or `Update`")
        api_version = entry.get("apiVersion") or ""
        if not api_version:
            raise ManagedFieldsError("apiVersion must not be empty")
        fields_type = entry.get("fieldsType") or ""
        if fields_type == "":
            raise ManagedFieldsError(f"missing fieldsType in managed fields entry {i}")
        if fields_type != FIELDS_V1:
            raise ManagedFieldsError(
                f"invalid fieldsType {fields_type!r} in managed fields entry {i}"
            )
        try:
            fields = FieldSet.from_fields_v1(entry.get("fieldsV1") or {})
        except FieldsV1Error as err:
            raise ManagedFieldsError(f"error decoding versioned set: {err}") from err
        key = ManagerKey.of(
            str(entry.get("manager") or ""), operation, api_version, entry.get("subresource") or ""
        )
        managers[key] = Owned(fields, api_version, operation == APPLY, entry.get("time"))
    return managers


def _seconds(time: str | None) -> float:
    if not time:
        return 0.0
    try:
        return int(datetime.fromisoformat(time.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0.0


def encode(managers: Managers) -> list[dict[str, Any]]:
    """``managedFields`` entries in the apiserver's order: operation, time, manager, ..."""

    def order(item: tuple[ManagerKey, Owned]) -> tuple[Any, ...]:
        key, owned = item
        operation = APPLY if owned.applied else UPDATE
        return (operation, _seconds(owned.time), key.manager, owned.api_version, key.subresource)

    entries: list[dict[str, Any]] = []
    for key, owned in sorted(managers.items(), key=order):
        entry: dict[str, Any] = {
            "manager": key.manager,
            "operation": APPLY if owned.applied else UPDATE,
            "apiVersion": owned.api_version,
        }
        if owned.time is not None:
            entry["time"] = owned.time
        entry["fieldsType"] = FIELDS_V1
        entry["fieldsV1"] = owned.fields.to_fields_v1()
        if key.subresource:
            entry["subresource"] = key.subresource
        entries.append(entry)
    return entries


_STRIPPED: tuple[Path, ...] = (
    (field_pe("apiVersion"),),
    (field_pe("kind"),),
    (field_pe("metadata"),),
    *(
        (field_pe("metadata"), field_pe(name))
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    ),
)
STRIP_SET = FieldSet.of(*_STRIPPED)


def strip_meta(managers: Managers, key: ManagerKey) -> None:
    """Nobody owns type and identity metadata; drop the manager if nothing is left."""
    owned = managers.get(key)
    if owned is None:
        return
    owned.fields = owned.fields.difference(STRIP_SET)
    if owned.fields.empty():
        del managers[key]


def cap_update_managers(managers: Managers) -> None:
    """Fold the oldest update managers into ``ancient-changes`` beyond ten of them."""
    updaters = [key for key, owned in managers.items() if not owned.applied]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda k: (_seconds(managers[k].time), k.ident()))
    first_of_version: dict[str, ManagerKey] = {}
    length = len(updaters)
    for key in updaters:
        if length <= MAX_UPDATE_MANAGERS:
            break
        owned = managers[key]
        version = owned.api_version
        bucket = ManagerKey(ANCIENT_CHANGES, UPDATE, version)
        if version not in first_of_version:
            first_of_version[version] = key
            continue
        if bucket not in managers:
            managers[bucket] = managers.pop(first_of_version[version])
        merged = owned.fields.union(managers[bucket].fields)
        managers[bucket] = Owned(merged, version, applied=False, time=owned.time)
        del managers[key]
        length -= 1


class Conflicts(Exception):
    """Fields another manager owns that an apply would change, per manager."""

    def __init__(self, by_manager: dict[ManagerKey, FieldSet]) -> None:
        super().__init__("apply conflicts")
        self.by_manager = by_manager

    def paths(self) -> list[tuple[ManagerKey, Path]]:
        ordered = sorted(self.by_manager.items(), key=lambda item: item[0].ident())
        return [(key, path) for key, fields in ordered for path in fields.paths()]

    def without(self, allowed: FieldSet) -> Conflicts:
        """The conflicts whose path is not in ``allowed``."""
        kept: dict[ManagerKey, FieldSet] = {}
        for key, path in self.paths():
            if not allowed.has(path):
                kept.setdefault(key, FieldSet()).insert(path)
        return Conflicts(kept)

    def to_status_error(self) -> Conflict:
        """The 409 kube-apiserver answers, one cause per conflicting field."""
        items = self.paths()
        causes = [
            {
                "reason": "FieldManagerConflict",
                "message": f"conflict with {key.describe()}",
                "field": path_string(path),
            }
            for key, path in items
        ]
        if len(items) == 1:
            key, path = items[0]
            message = (
                f"Apply failed with 1 conflict: conflict with {key.describe()}: {path_string(path)}"
            )
        else:
            lines: list[str] = []
            current: ManagerKey | None = None
            for key, path in items:
                if key != current:
                    lines.append(f"conflicts with {key.describe()}:")
                    current = key
                lines.append(f"- {path_string(path)}")
            message = f"Apply failed with {len(items)} conflicts: " + "\n".join(lines)
        return Conflict(message, details={"causes": causes})
