"""Strict field validation: which fields of a request body the kind's schema does not know.

kube-apiserver decodes a body into the Go type of its kind; with ``fieldValidation=Strict``
(what kubectl 1.29+ sends when the OpenAPI document advertises it) every JSON key with no
matching struct field is an error, and with ``Warn`` a warning. This module finds the same
keys by walking the body against the schema tables, and formats them the way the decoder
(sigs.k8s.io/json, apimachinery's ``runtime.strictDecodingError``) and the handlers in
k8s.io/apiserver/pkg/endpoints/handlers do:

* a path is the keys from the root joined by ``.``, with list indexes as ``[i]`` and map
  keys like fields: ``spec.containers[0].livenssProbe``; keys are matched case-sensitively;
* one error reads ``unknown field "<path>"``; the decoder keeps at most 100, in body order;
* all of them read ``strict decoding error: unknown field "a", unknown field "b"``;
* create and update answer 400 BadRequest with ``<Kind> in version "<version>" cannot be
  handled as a <Kind>: <that>``;
* ``Warn`` sends each ``unknown field "<path>"`` as its own ``Warning: 299`` header text.

(Patch requests report the same text inside a 422 Invalid cause on the field ``patch``;
that wrapping belongs to the apiserver's patch handler.) ``prune_unknown`` gives the body as
the decoder leaves it when unknown fields are tolerated (``Warn``, ``Ignore``): without them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kubeproc.api.openapi.catalog import Catalog, catalog
from kubeproc.api.openapi.dsl import ListOf, MapOf, Ref, Schema, TypeSpec

MAX_ERRORS = 100  # sigs.k8s.io/json stops collecting strict errors here


def unknown_fields(
    group: str, version: str, kind: str, obj: Mapping[str, Any], cat: Catalog | None = None
) -> list[str]:
    """Paths of the fields in ``obj`` that kind ``group/version kind`` does not define.

    Kinds with no schema are not checked (an empty list); values of the wrong JSON type are
    skipped, since decoding them fails for another reason.
    """
    cat = cat or catalog()
    schema = cat.for_kind(group, version, kind)
    if schema is None:
        return []
    found: list[str] = []
    _walk_struct(schema, obj, "", cat, found)
    return found[:MAX_ERRORS]


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _walk_struct(
    schema: Schema, obj: Mapping[str, Any], path: str, cat: Catalog, found: list[str]
) -> None:
    if not schema.is_struct:
        return  # Quantity, Time, FieldsV1, ...: decoded by custom code, never strict-checked
    for key, value in obj.items():
        fld = schema.by_name.get(key)
        if fld is None:
            found.append(_join(path, key))
        else:
            _walk_value(fld.type, value, _join(path, key), cat, found)


def _walk_value(t: TypeSpec, value: object, path: str, cat: Catalog, found: list[str]) -> None:
    match t:
        case Ref(name) if isinstance(value, dict):
            _walk_struct(cat.get(name), value, path, cat, found)
        case ListOf(item) if isinstance(value, list):
            for i, element in enumerate(value):
                _walk_value(item, element, f"{path}[{i}]", cat, found)
        case MapOf(item) if isinstance(value, dict):
            for key, element in value.items():
                _walk_value(item, element, _join(path, key), cat, found)
        case _:
            return


def prune_unknown(
    group: str, version: str, kind: str, obj: Mapping[str, Any], cat: Catalog | None = None
) -> dict[str, Any]:
    """``obj`` without the fields its kind does not define, at every depth.

    What a decode into the Go type leaves behind under ``fieldValidation=Ignore`` or
    ``Warn``: unknown keys are dropped, everything else is kept. Walked containers are
    copied, so ``obj`` is not modified; kinds with no schema come back as a shallow copy.
    """
    cat = cat or catalog()
    schema = cat.for_kind(group, version, kind)
    if schema is None:
        return dict(obj)
    return _prune_struct(schema, obj, cat)


def _prune_struct(schema: Schema, obj: Mapping[str, Any], cat: Catalog) -> dict[str, Any]:
    if not schema.is_struct:
        return dict(obj)
    return {
        key: _prune_value(schema.by_name[key].type, value, cat)
        for key, value in obj.items()
        if key in schema.by_name
    }


def _prune_value(t: TypeSpec, value: Any, cat: Catalog) -> Any:
    match t:
        case Ref(name) if isinstance(value, dict):
            return _prune_struct(cat.get(name), value, cat)
        case ListOf(item) if isinstance(value, list):
            return [_prune_value(item, element, cat) for element in value]
        case MapOf(item) if isinstance(value, dict):
            return {key: _prune_value(item, element, cat) for key, element in value.items()}
        case _:
            return value


def unknown_field_error(path: str) -> str:
    """One strict error, also the text of one ``Warn`` warning: ``unknown field "spec.foo"``."""
    return f"unknown field {_go_quote(path)}"


def strict_error_message(paths: Iterable[str]) -> str:
    """``strict decoding error: unknown field "spec.foo", unknown field "spec.bar"``."""
    return "strict decoding error: " + ", ".join(unknown_field_error(p) for p in paths)


def strict_warnings(paths: Iterable[str]) -> list[str]:
    """The warning texts ``fieldValidation=Warn`` sends, one per unknown field."""
    return [unknown_field_error(p) for p in paths]


def strict_decoding_message(kind: str, version: str, paths: Sequence[str]) -> str:
    """The BadRequest message of a create or update rejected by ``fieldValidation=Strict``.

    e.g. ``Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown
    field "spec.foo"``; kubectl prints it as ``Error from server (BadRequest): ...``.
    """
    return (
        f"{kind} in version {_go_quote(version)} cannot be handled as a {kind}: "
        f"{strict_error_message(paths)}"
    )


def _go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` for the characters field names contain (ASCII, mostly)."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
