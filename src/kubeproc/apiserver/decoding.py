"""What kube-apiserver's decoder says about a write body before any REST logic runs.

A create or update body goes through the serializer and the versioning codec first:
``apiVersion``/``kind`` are read and defaulted from the URL, the object is decoded into
the Go type of the kind it claims to be (JSON types must fit the Go field types), then
converted to the kind the URL names. Each step fails with a fixed text that kubectl
prints verbatim (``Pod in version "v1" cannot be handled as a Pod: ...``), and none of
them stores anything. This module reproduces those steps over plain JSON objects, using
the OpenAPI schema tables for the Go types, and formats the errors the way
``transformDecodeError`` in k8s.io/apiserver/pkg/endpoints/handlers does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from kubeproc.api.errors import BadRequest
from kubeproc.api.openapi import Catalog, catalog
from kubeproc.api.openapi.dsl import ListOf, MapOf, Prim, Ref, Schema, TypeSpec
from kubeproc.api.resources import ResourceType
from kubeproc.api.validation.quantity import QUANTITY_FORMAT_ERROR, parse_quantity
from kubeproc.apiserver import gojson

SCHEME = "pkg/api/legacyscheme/scheme.go:30"  # the scheme name kube-apiserver's errors quote

# Kinds the real scheme registers in the group-versions a body may claim (beyond the
# served ones, which always count). A registered kind of another type fails conversion;
# an unregistered one fails earlier, with "no kind ... is registered".
_REGISTERED: dict[str, frozenset[str]] = {
    "v1": frozenset(
        [
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Namespace",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
        ]
    ),
    "apps/v1": frozenset(
        ["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"]
    ),
    "apps/v1beta1": frozenset(["ControllerRevision", "Deployment", "StatefulSet"]),
    "apps/v1beta2": frozenset(
        ["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"]
    ),
    "batch/v1": frozenset({"CronJob", "Job"}),
    "policy/v1": frozenset({"Eviction", "PodDisruptionBudget"}),
    "autoscaling/v1": frozenset({"HorizontalPodAutoscaler", "Scale"}),
    "autoscaling/v2": frozenset({"HorizontalPodAutoscaler"}),
    "networking.k8s.io/v1": frozenset({"Ingress", "IngressClass", "NetworkPolicy"}),
    "discovery.k8s.io/v1": frozenset({"EndpointSlice"}),
    "coordination.k8s.io/v1": frozenset({"Lease"}),
    "events.k8s.io/v1": frozenset({"Event"}),
    "rbac.authorization.k8s.io/v1": frozenset(
        {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    ),
    "scheduling.k8s.io/v1": frozenset({"PriorityClass"}),
    "storage.k8s.io/v1": frozenset({"CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"}),
}

# Go package of each group's internal types, as conversion errors name them.
_INTERNAL_PACKAGE = {
    "": "core",
    "events.k8s.io": "core",
    "rbac.authorization.k8s.io": "rbac",
}

_QUANTITY_SHAPE = re.compile(r"([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)")
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_INT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def summarize(body: bytes, limit: int = 30) -> str:
    """``summarizeData``: the start of a body, as text if it looks like JSON, else hex."""
    if not body:
        return "<empty>"
    more = " ..." if len(body) > limit else ""
    head = body[:limit]
    if head.startswith(b"{"):
        return head.decode("utf-8", "replace") + more
    return head.hex() + more


def unrecognized(kind: str, reason: str, body: bytes) -> BadRequest:
    """A body whose apiVersion and kind could not even be read."""
    return BadRequest(
        f"the object provided is unrecognized (must be of type {kind}): {reason} "
        f"({summarize(body)})"
    )


def cannot_handle(data_kind: str, data_version: str, kind: str, reason: str) -> BadRequest:
    """A body of a known apiVersion and kind that still could not be decoded."""
    return BadRequest(
        f'{data_kind} in version "{data_version}" cannot be handled as a {kind}: {reason}'
    )


def data_gvk(rt: ResourceType, obj: dict[str, Any], body: bytes) -> tuple[str, str, str]:
    """The (group, version, kind) a body claims, defaulted from the URL as the decoder does."""
    api_version = str(obj.get("apiVersion") or "")
    kind = str(obj.get("kind") or "") or rt.kind
    if api_version in ("", "/"):
        return rt.group, rt.version, kind
    if api_version.count("/") > 1:
        raise unrecognized(rt.kind, f"unexpected GroupVersion string: {api_version}", body)
    group, _, version = api_version.rpartition("/")
    if not version and group == rt.group:
        version = rt.version
    return group, version, kind


def _registered(rt: ResourceType, group: str, version: str, kind: str) -> BadRequest | None:
    """The decoder's refusal of a kind the scheme does not have in that group-version."""
    gv = f"{group}/{version}" if group else version
    registered = _REGISTERED.get(gv, frozenset())
    if (group, version) == (rt.group, rt.version):
        registered = registered | {rt.kind}
    if kind in registered:
        return None
    return cannot_handle(
        kind,
        version,
        rt.kind,
        f'no kind "{kind}" is registered for version "{gv}" in scheme "{SCHEME}"',
    )


def _converted(rt: ResourceType, group: str, version: str, kind: str) -> BadRequest:
    """Converting a registered kind of another group, version or kind to the URL's.

    The same internal type converts, and the handler then refuses the version; any other
    type has no conversion.
    """
    gv = f"{group}/{version}" if group else version
    source = _INTERNAL_PACKAGE.get(group, group.split(".", 1)[0])
    target = _INTERNAL_PACKAGE.get(rt.group, rt.group.split(".", 1)[0])
    if (source, kind) == (target, rt.kind):
        return BadRequest(
            f"the API version in the data ({gv}) does not match the expected API version "
            f"({rt.api_version})"
        )
    return cannot_handle(
        kind,
        version,
        rt.kind,
        f"converting ({version}.{kind}) to ({target}.{rt.kind}): unknown conversion",
    )


def type_error(group: str, version: str, kind: str, obj: dict[str, Any]) -> str | None:
    """Go's first ``UnmarshalTypeError`` decoding ``obj`` into the kind's type, if any.

    e.g. ``json: cannot unmarshal number into Go struct field ConfigMap.data of type
    string``. Kinds with no schema are not checked.
    """
    cat = catalog()
    schema = cat.for_kind(group, version, kind)
    if schema is None:
        return None
    return _struct(cat, schema, obj, ())


def _struct(cat: Catalog, schema: Schema, obj: dict[str, Any], path: tuple[str, ...]) -> str | None:
    for key, value in obj.items():
        fld = schema.by_name.get(key)
        if fld is None or value is None:
            continue
        found = _value(cat, fld.type, value, schema.short_name, (*path, key))
        if found is not None:
            return found
    return None


def _value(cat: Catalog, t: TypeSpec, value: Any, struct: str, path: tuple[str, ...]) -> str | None:
    """Go decoding ``value`` into a field of type ``t``; ``struct`` is the enclosing type."""
    if value is None:
        return None

    def mismatch(shown: str = "", as_type: str = "") -> str:
        what = shown or gojson.json_type(value)
        return (
            f"json: cannot unmarshal {what} into Go struct field {struct}."
            f"{'.'.join(path)} of type {as_type or go_type(t)}"
        )

    match t:
        case Prim(type="string", format="byte") if isinstance(value, str):
            return base64_error(value)  # []byte: Go's error has no field context
        case Prim(type="string"):
            return None if isinstance(value, str) else mismatch()
        case Prim(type="boolean"):
            return None if isinstance(value, bool) else mismatch()
        case Prim(type="integer", format=fmt):
            return _integer(value, fmt, mismatch)
        case Prim():
            return None
        case ListOf(item):
            if not isinstance(value, list):
                return mismatch()
            return _elements(cat, item, value, struct, path)
        case MapOf(item):
            if not isinstance(value, dict):
                return mismatch()
            return _elements(cat, item, value.values(), struct, path)
        case Ref(name):
            schema = cat.get(name)
            if not schema.is_struct:
                return _special(schema, value, mismatch)
            if not isinstance(value, dict):
                return mismatch()
            return _struct(cat, schema, value, path)


def _elements(
    cat: Catalog, item: TypeSpec, elements: Iterable[Any], struct: str, path: tuple[str, ...]
) -> str | None:
    """The first element of a slice or map that does not decode into ``item``."""
    for element in elements:
        found = _value(cat, item, element, struct, path)
        if found is not None:
            return found
    return None


def _integer(value: Any, fmt: str, mismatch: Callable[..., str]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return mismatch()
    low, high = _INT_RANGE.get(fmt, _INT_RANGE["int64"])
    if isinstance(value, float) or not low <= value <= high:
        return mismatch(f"number {_go_number(value)}")
    return None


def _special(schema: Schema, value: Any, mismatch: Callable[..., str]) -> str | None:
    """Types with their own JSON decoding: quantities, int-or-string, times, raw fields."""
    short = schema.short_name
    if short == "IntOrString" and not isinstance(value, str):
        # IntOrString decodes a non-string as int32; the error gets the field's context.
        return _integer(value, "int32", lambda shown="": mismatch(shown, "int32"))
    if short == "Quantity":
        return quantity_error(value)
    if short in ("Time", "MicroTime") and not isinstance(value, str):
        return mismatch("", "string")
    return None


def quantity_error(value: Any) -> str | None:
    """``resource.ParseQuantity``'s refusal of a quantity's JSON form (string or number)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None  # any JSON number parses
    text = value.strip() if isinstance(value, str) else ""  # Go trims the unquoted text
    if parse_quantity(text) is not None:
        return None
    if text and _QUANTITY_SHAPE.fullmatch(text):
        return "unable to parse quantity's suffix"
    return QUANTITY_FORMAT_ERROR


def base64_error(text: str) -> str | None:
    """Go's ``base64.StdEncoding`` error for ``text`` (newlines skipped), if it has one."""
    data = text.encode()
    index, length = 0, len(data)
    while True:
        quantum = 0
        while quantum < 4:
            if index == length:
                if quantum == 0:
                    return None
                return _corrupt(index - quantum)
            char = data[index]
            index += 1
            if char in _B64:
                quantum += 1
                continue
            if char in b"\r\n":
                continue
            if char != ord("=") or quantum < 2:
                return _corrupt(index - 1)
            return _padding_error(data, index, quantum)


def _padding_error(data: bytes, index: int, quantum: int) -> str | None:
    """What follows a ``=``: a second one after two symbols, then only newlines."""
    length = len(data)
    if quantum == 2:
        while index < length and data[index] in b"\r\n":
            index += 1
        if index == length:
            return _corrupt(length)
        if data[index] != ord("="):
            return _corrupt(index - 1)
        index += 1
    while index < length and data[index] in b"\r\n":
        index += 1
    return _corrupt(index) if index < length else None


def _corrupt(offset: int) -> str:
    return f"illegal base64 data at input byte {offset}"


def go_type(t: TypeSpec) -> str:
    """The Go type a field decodes into, as ``reflect.Type.String()`` names it."""
    match t:
        case Prim(type="string", format="byte"):
            return "[]uint8"
        case Prim(type="string"):
            return "string"
        case Prim(type="boolean"):
            return "bool"
        case Prim(type="integer", format=fmt):
            return fmt or "int64"
        case Prim():
            return "float64"
        case ListOf(item):
            return f"[]{go_type(item)}"
        case MapOf(item):
            return f"map[string]{go_type(item)}"
        case Ref(name):
            package, _, short = name.rpartition(".")
            return f"{package.rsplit('.', 1)[-1]}.{short}"


def _go_number(value: int | float) -> str:
    """The number as written (close enough: Python keeps the value, not the literal)."""
    return repr(value) if isinstance(value, float) else str(value)


def check_body(rt: ResourceType, obj: dict[str, Any], body: bytes) -> tuple[str, str]:
    """Run the decoder's checks on a decoded body; returns the kind and version it claims.

    In the decoder's order: an unregistered kind, then the Go types of the claimed kind,
    then conversion to the URL's kind (or its version). Unknown fields are the caller's:
    whether they matter depends on ``fieldValidation``.
    """
    group, version, kind = data_gvk(rt, obj, body)
    same = (group, version, kind) == (rt.group, rt.version, rt.kind)
    if not same and (refused := _registered(rt, group, version, kind)) is not None:
        raise refused
    reason = type_error(group, version, kind, obj)
    if reason is not None:
        raise cannot_handle(kind, version, rt.kind, reason)
    if not same:
        raise _converted(rt, group, version, kind)
    return kind, version


def converter_error(group: str, version: str, kind: str, obj: dict[str, Any]) -> str | None:
    """The unstructured converter's first error turning ``obj`` into the kind's type.

    The strategic-merge patcher converts the patched map with apimachinery's
    ``DefaultUnstructuredConverter`` rather than ``encoding/json``, which words type
    mismatches its own way (``unrecognized type: int32``) and walks struct fields in
    declaration order.
    """
    cat = catalog()
    schema = cat.for_kind(group, version, kind)
    if schema is None:
        return None
    return _Converter(cat).struct(schema, obj)


_GO_KINDS = {bool: "bool", int: "int64", float: "float64", str: "string", list: "slice"}


def _go_kind(value: Any) -> str:
    return "map" if isinstance(value, dict) else _GO_KINDS.get(type(value), "interface")


class _Converter:
    """``fromUnstructured`` over a schema: the same order, the same error texts."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    def struct(self, schema: Schema, obj: Any) -> str | None:
        if not isinstance(obj, dict):
            return f"cannot restore struct from: {_go_kind(obj)}"
        for fld in schema.fields:
            found = self.value(fld.type, obj.get(fld.name))
            if found is not None:
                return found
        return None

    def value(self, t: TypeSpec, value: Any) -> str | None:
        if value is None:
            return None
        match t:
            case Prim(type="string", format="byte"):
                if isinstance(value, str):
                    failed = base64_error(value)
                    return f"error decoding from base64: {failed}" if failed else None
                ok = isinstance(value, list)
                return None if ok else f"cannot restore slice from {_go_kind(value)}"
            case Prim(type=json_type, format=fmt):
                return _convert_primitive(json_type, fmt, value)
            case ListOf(item):
                if not isinstance(value, list):
                    return f"cannot restore slice from {_go_kind(value)}"
                return next((e for e in (self.value(item, v) for v in value) if e), None)
            case MapOf(item):
                if not isinstance(value, dict):
                    return f"cannot restore map from {_go_kind(value)}"
                return next((e for e in (self.value(item, v) for v in value.values()) if e), None)
            case Ref(name):
                schema = self.cat.get(name)
                if schema.is_struct:
                    return self.struct(schema, value)
                return _convert_special(schema, value)


def _convert_primitive(json_type: str, fmt: str, value: Any) -> str | None:
    target = {"string": "string", "boolean": "bool"}.get(json_type, fmt or "float64")
    if json_type == "string" and isinstance(value, str):
        return None
    if json_type == "boolean" and isinstance(value, bool):
        return None
    if json_type == "integer" and not isinstance(value, bool):
        if isinstance(value, int):
            return None
        if isinstance(value, float):
            return None if value.is_integer() else f"cannot convert float64 to {target}"
    return f"unrecognized type: {target}"


def _convert_special(schema: Schema, value: Any) -> str | None:
    """Types that convert through their own JSON decoding, without a field context."""
    short = schema.short_name
    if short == "IntOrString" and not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool):
            return None
        shown = f"number {_go_number(value)}" if isinstance(value, float) else None
        return (
            f"json: cannot unmarshal {shown or gojson.json_type(value)} into Go value of type int32"
        )
    if short == "Quantity":
        return quantity_error(value)
    if short in ("Time", "MicroTime") and not isinstance(value, str):
        return f"json: cannot unmarshal {gojson.json_type(value)} into Go value of type string"
    return None
