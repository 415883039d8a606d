"""``fieldValidation``: what each write does with fields its kind does not define.

kubectl 1.29+ sends ``fieldValidation=Strict`` with ``create -f``, ``apply -f`` and
``patch``; other clients send ``Warn`` (the default) or ``Ignore``. kube-apiserver's
answer depends on the verb, and this module holds those answers, with their exact texts:

* create and update: 400 ``<Kind> in version "<v>" cannot be handled as a <Kind>:
  strict decoding error: unknown field "spec.foo"`` (the decoder's error);
* merge, JSON and strategic patches: 422 Invalid, one cause on the field ``patch`` whose
  bad value is the patched object (JSON) or the patch map (Go's ``%+v``), and a message
  that names no kind (kubectl prints ``The request is invalid: patch: ...``);
* server-side apply: always, whatever the mode, the field manager's ``failed to create
  typed patch object`` as a 500 with no reason, with structured-merge-diff paths;
* ``Warn``: one ``Warning: 299`` text per field, and the write goes ahead without them.

Unknown fields are found by ``kubeproc.api.openapi``; the handlers call in here.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from kubeproc.api import openapi
from kubeproc.api.errors import FieldError, Invalid, StatusError, invalid, not_supported
from kubeproc.api.openapi import Catalog, catalog
from kubeproc.api.openapi.dsl import ListOf, MapOf, Ref, Schema, TypeSpec
from kubeproc.api.patch import ListType, schema_for
from kubeproc.api.patch import Schema as PatchSchema
from kubeproc.api.resources import ResourceType
from kubeproc.apiserver import decoding

STRICT = "Strict"
WARN = "Warn"
IGNORE = "Ignore"
_ALLOWED = ["", IGNORE, STRICT, WARN]


def mode(request: web.Request, options_kind: str) -> str:
    """The request's directive (``Warn`` when absent); 422 on the options kind if unknown."""
    value = request.query.get("fieldValidation", "")
    if value not in _ALLOWED:
        raise Invalid.of(
            options_kind,
            "meta.k8s.io",
            "",
            [not_supported("fieldValidation", value, _ALLOWED)],
        )
    return value or WARN


def warning_headers(paths: list[str]) -> dict[str, str]:
    """``Warn``: the ``Warning`` header carrying one text per unknown field."""
    if not paths:
        return {}
    texts = openapi.strict_warnings(paths)
    return {"Warning": ", ".join(f"299 - {json.dumps(text)}" for text in texts)}


def check_write(
    directive: str, rt: ResourceType, obj: dict[str, Any], *, data_kind: str, data_version: str
) -> dict[str, str]:
    """Create and update: reject (Strict) or warn about (Warn) unknown fields."""
    if directive == IGNORE:
        return {}
    paths = openapi.unknown_fields(rt.group, rt.version, rt.kind, obj)
    if paths and directive == STRICT:
        raise decoding.cannot_handle(
            data_kind, data_version, rt.kind, openapi.strict_error_message(paths)
        )
    return warning_headers(paths)


def check_patched(
    directive: str,
    rt: ResourceType,
    patched: dict[str, Any],
    bad_value: str,
    *,
    strategic: bool = False,
) -> dict[str, str]:
    """Merge, JSON and strategic patches: the patched object is checked, 422 on ``patch``.

    A patched object that does not decode into its kind's Go types is refused whatever
    the directive (a strategic patch is converted, not JSON-decoded, and says so in other
    words); unknown fields only under ``Strict``.
    """
    check = decoding.converter_error if strategic else decoding.type_error
    reason = check(rt.group, rt.version, rt.kind, patched)
    if reason is not None:
        raise patch_invalid(invalid("patch", bad_value, reason))
    if directive == IGNORE:
        return {}
    paths = openapi.unknown_fields(rt.group, rt.version, rt.kind, patched)
    if paths and directive == STRICT:
        raise patch_invalid(invalid("patch", bad_value, openapi.strict_error_message(paths)))
    return warning_headers(paths)


def patch_invalid(error: FieldError) -> Invalid:
    """``NewInvalid(schema.GroupKind{}, "", ...)``: no kind, no name, one cause."""
    return Invalid(f' "" is invalid: {error}', details={"causes": [error.cause()]})


def patched_json(obj: dict[str, Any]) -> str:
    """The patched object as the merge and JSON patchers encode it (no managedFields)."""
    meta = obj.get("metadata")
    head = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion")}
    body = {k: v for k, v in obj.items() if k not in head}
    if isinstance(meta, dict) and "managedFields" in meta:
        body["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return json.dumps({**head, **body}, separators=(",", ":"), ensure_ascii=False)


def go_format(value: Any) -> str:
    """Go's ``%+v`` of a decoded JSON value (the strategic patcher's bad value)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """``%v`` of a float64: the shortest form, exponent from 1e21 or below 1e-4."""
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
    return text


def undeclared_fields(group: str, version: str, kind: str, obj: dict[str, Any]) -> list[str]:
    """Fields server-side apply cannot type, as structured-merge-diff paths.

    ``.spec.containers[name="app"].livenssProbe``: list elements are named by their keys
    the way apply's field sets name them, and by index in lists without keys.
    """
    cat = catalog()
    schema = cat.for_kind(group, version, kind)
    if schema is None:
        return []
    walk = _SmdWalk(cat)
    walk.struct(schema, schema_for(group, kind), obj, "")
    return walk.found


def typed_patch_error(
    group: str, version: str, kind: str, patch: dict[str, Any]
) -> StatusError | None:
    """The 500 kube-apiserver answers for an apply whose fields the schema does not declare.

    The field manager's ``failed to create typed patch object`` is not an API error, so it
    reaches the client as a ``Status`` with no reason, whatever ``fieldValidation`` says.
    """
    paths = undeclared_fields(group, version, kind, patch)
    if not paths:
        return None
    meta = patch.get("metadata") if isinstance(patch.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    gv = f"{group}/{version}" if group else f"/{version}"
    where = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; {gv}, Kind={kind}"
    lines = [f"{path}: field not declared in schema" for path in paths]
    text = lines[0] if len(lines) == 1 else "errors:\n  " + "\n  ".join(lines)
    return StatusError(f"failed to create typed patch object ({where}): {text}")


class _SmdWalk:
    """Collects the undeclared fields of one object, with structured-merge-diff paths."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self.found: list[str] = []

    def struct(self, schema: Schema, smd: PatchSchema, obj: dict[str, Any], path: str) -> None:
        if not schema.is_struct:
            return
        for key, value in obj.items():
            fld = schema.by_name.get(key)
            if fld is None:
                self.found.append(f"{path}.{key}")
            else:
                self.value(fld.type, smd.child(key), value, f"{path}.{key}")

    def value(self, t: TypeSpec, smd: PatchSchema, value: Any, path: str) -> None:
        match t:
            case Ref(name) if isinstance(value, dict):
                self.struct(self.cat.get(name), smd, value, path)
            case ListOf(item) if isinstance(value, list):
                for i, element in enumerate(value):
                    self.value(item, smd.item(), element, path + _element(smd, i, element))
            case MapOf(item) if isinstance(value, dict):
                for key, element in value.items():
                    self.value(item, smd.child(key), element, f"{path}.{key}")
            case _:
                return


def _element(smd: PatchSchema, index: int, element: Any) -> str:
    """How structured-merge-diff names a list element in a path."""
    if smd.list_type is ListType.MAP and isinstance(element, dict):
        keys = {k: element[k] for k in smd.keys if k in element}
        for name, default in smd.key_defaults.items():
            keys.setdefault(name, default)
        return "[" + ",".join(f"{k}={_smd_value_string(keys[k])}" for k in sorted(keys)) + "]"
    if smd.list_type is ListType.SET and not isinstance(element, dict | list):
        return f"[={_smd_value_string(element)}]"
    return f"[{index}]"


def _smd_value_string(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)
