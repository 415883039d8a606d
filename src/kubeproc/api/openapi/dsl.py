"""A compact language for writing Kubernetes OpenAPI v3 schemas as readable Python tables.

Owns the vocabulary the schema tables under ``schemas/`` are written in (``Package.struct``,
``f``, ``list_of``, ``map_of``, ``enum`` and the primitive constants) and the one rendering
of that vocabulary into the JSON shapes kube-apiserver publishes and ``kubectl explain``
walks. Keeping the tables as data rather than dict literals lets the strict field checker
walk the same objects the documents are rendered from, so the two can never disagree.

Rendering follows the real documents: a field that names another schema is written as
``{"allOf": [{"$ref": ...}], "description": ...}`` (kubectl shows the last segment of the
ref as the field's type), list items and map values as a bare ``{"$ref": ...}``, and list
and patch markers as the ``x-kubernetes-*`` extensions of the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Prim:
    """A JSON primitive: ``type`` plus optional ``format`` and ``enum`` values."""

    type: str
    format: str = ""
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ref:
    """A reference to a named schema, by its full name (``io.k8s.api.core.v1.Probe``)."""

    name: str


@dataclass(frozen=True)
class ListOf:
    """A JSON array whose items are ``item``."""

    item: TypeSpec


@dataclass(frozen=True)
class MapOf:
    """A JSON object with arbitrary string keys whose values are ``value``."""

    value: TypeSpec


TypeSpec = Prim | Ref | ListOf | MapOf

STRING = Prim("string")
BOOL = Prim("boolean")
INT32 = Prim("integer", "int32")
INT64 = Prim("integer", "int64")
DOUBLE = Prim("number", "double")
BYTES = Prim("string", "byte")  # []byte: base64 in JSON

# Types apimachinery publishes as schemas of their own (see schemas/meta.py).
QUANTITY = Ref("io.k8s.apimachinery.pkg.api.resource.Quantity")
INT_OR_STRING = Ref("io.k8s.apimachinery.pkg.util.intstr.IntOrString")
TIME = Ref(f"{META}.Time")
MICRO_TIME = Ref(f"{META}.MicroTime")
FIELDS_V1 = Ref(f"{META}.FieldsV1")


def enum(*values: str) -> Prim:
    """A string limited to ``values`` (listed sorted, as Kubernetes publishes them)."""
    return Prim("string", enum=tuple(sorted(values)))


def list_of(item: TypeSpec) -> ListOf:
    return ListOf(item)


def map_of(value: TypeSpec) -> MapOf:
    return MapOf(value)


@dataclass(frozen=True)
class Field:
    """One property of a struct schema, with its merge and list semantics."""

    name: str
    type: TypeSpec
    description: str
    list_type: str | None = None  # atomic | set | map
    map_keys: tuple[str, ...] = ()
    patch_strategy: str | None = None  # merge | retainKeys | merge,retainKeys
    patch_merge_key: str | None = None
    map_type: str | None = None  # atomic, for maps replaced as a whole


def f(
    name: str,
    type_: TypeSpec,
    description: str,
    *,
    list_type: str | None = None,
    map_keys: tuple[str, ...] = (),
    patch: str | None = None,
    merge_key: str | None = None,
    map_type: str | None = None,
) -> Field:
    """A field: ``f("periodSeconds", INT32, "Seconds between attempts.")``."""
    return Field(name, type_, description, list_type, map_keys, patch, merge_key, map_type)


@dataclass(frozen=True)
class Schema:
    """A named schema: a struct with ``fields``, or a primitive with a fixed ``body``."""

    name: str
    description: str
    fields: tuple[Field, ...] = ()
    required: tuple[str, ...] = ()
    atomic: bool = False  # x-kubernetes-map-type: atomic (replaced as a whole by apply)
    body: Mapping[str, Any] | None = None

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def is_struct(self) -> bool:
        return self.body is None

    @cached_property
    def by_name(self) -> Mapping[str, Field]:
        return {fld.name: fld for fld in self.fields}

    def refs(self) -> Iterable[str]:
        """Names of the schemas this one's fields point to, directly or through lists/maps."""
        for fld in self.fields:
            yield from type_refs(fld.type)


def type_refs(t: TypeSpec) -> Iterable[str]:
    match t:
        case Ref(name):
            yield name
        case ListOf(item):
            yield from type_refs(item)
        case MapOf(value):
            yield from type_refs(value)
        case Prim():
            return


@dataclass(frozen=True)
class Package:
    """Schema names share a Go package prefix; this keeps the tables free of repetition."""

    prefix: str

    def ref(self, name: str) -> Ref:
        return Ref(f"{self.prefix}.{name}")

    def struct(
        self,
        name: str,
        description: str,
        fields: Iterable[Field],
        *,
        required: tuple[str, ...] = (),
        atomic: bool = False,
    ) -> Schema:
        schema = Schema(f"{self.prefix}.{name}", description, tuple(fields), required, atomic)
        unknown = set(required) - set(schema.by_name)
        if unknown:
            raise ValueError(f"{schema.name}: required names unknown fields {sorted(unknown)}")
        return schema

    def list_kind(self, kind: str) -> Schema:
        """The ``<Kind>List`` every served kind has: type meta, list meta and items."""
        return self.struct(
            f"{kind}List",
            f"A list of {kind} objects, as returned by a list request.",
            [
                *TYPE_META,
                f("metadata", Ref(f"{META}.ListMeta"), LIST_META_DESCRIPTION),
                f("items", list_of(self.ref(kind)), f"The {kind} objects."),
            ],
            required=("items",),
        )


TYPE_META: tuple[Field, ...] = (
    f(
        "apiVersion",
        STRING,
        "Versioned schema of this representation, e.g. v1 or apps/v1. Servers convert "
        "recognized versions to the latest internal one.",
    ),
    f(
        "kind",
        STRING,
        "REST kind of this object, in CamelCase, e.g. Pod. Servers may infer it from the "
        "endpoint the request was sent to; cannot be updated.",
    ),
)
OBJECT_META = f(
    "metadata",
    Ref(f"{META}.ObjectMeta"),
    "Standard object metadata: name, namespace, labels, annotations, owners and more.",
)
LIST_META_DESCRIPTION = "Standard list metadata: resource version and paging token."


# -- rendering ------------------------------------------------------------------------------


def ref_json(name: str) -> dict[str, Any]:
    return {"$ref": REF_PREFIX + name}


def type_json(t: TypeSpec) -> dict[str, Any]:
    """A type as it appears as a list item or map value (refs bare, not wrapped)."""
    match t:
        case Prim(type=typ, format=fmt, enum=values):
            out: dict[str, Any] = {"type": typ}
            if fmt:
                out["format"] = fmt
            if values:
                out["enum"] = list(values)
            return out
        case Ref(name):
            return ref_json(name)
        case ListOf(item):
            return {"type": "array", "items": type_json(item)}
        case MapOf(value):
            return {"type": "object", "additionalProperties": type_json(value)}


def field_json(fld: Field) -> dict[str, Any]:
    """A property: refs wrapped in ``allOf`` so the description can sit beside them."""
    out: dict[str, Any] = (
        {"allOf": [ref_json(fld.type.name)]} if isinstance(fld.type, Ref) else type_json(fld.type)
    )
    out["description"] = fld.description
    if fld.list_type:
        out["x-kubernetes-list-type"] = fld.list_type
    if fld.map_keys:
        out["x-kubernetes-list-map-keys"] = list(fld.map_keys)
    if fld.map_type:
        out["x-kubernetes-map-type"] = fld.map_type
    if fld.patch_strategy:
        out["x-kubernetes-patch-strategy"] = fld.patch_strategy
    if fld.patch_merge_key:
        out["x-kubernetes-patch-merge-key"] = fld.patch_merge_key
    return out


def schema_json(schema: Schema, gvks: Iterable[tuple[str, str, str]] = ()) -> dict[str, Any]:
    """The ``components.schemas`` entry; ``gvks`` are the (group, version, kind) it serves."""
    if schema.body is not None:
        return {"description": schema.description, **schema.body}
    out: dict[str, Any] = {
        "description": schema.description,
        "type": "object",
        "properties": {fld.name: field_json(fld) for fld in schema.fields},
    }
    if schema.required:
        out["required"] = list(schema.required)
    if schema.atomic:
        out["x-kubernetes-map-type"] = "atomic"
    gvk_list = [{"group": g, "version": v, "kind": k} for g, v, k in gvks]
    if gvk_list:
        out["x-kubernetes-group-version-kind"] = gvk_list
    return out


def primitive(name: str, description: str, body: Mapping[str, Any]) -> Schema:
    """A schema with a fixed JSON body (Quantity, Time, IntOrString, ...)."""
    return Schema(name, description, body=dict(body))
