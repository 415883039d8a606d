"""Environment of a container: ``env`` and ``envFrom``.

Mirrors ``ValidateEnv`` (names under RelaxedEnvironmentVariableValidation, GA since
v1.34, and exactly one ``valueFrom`` source, with the downward-API field paths a container
may read) and ``ValidateEnvFrom`` (prefix and exactly one of configMapRef/secretRef).
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_str, child, index

_ENV_FIELD_PATHS = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
]
_RESOURCE_FIELDS = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
]
_HUGEPAGES = ("limits.hugepages-", "requests.hugepages-")


def _key_selector(sel: dict[str, Any], path: str) -> list[FieldError]:
    name = as_str(sel.get("name"))
    errs = [invalid(child(path, "name"), name, m) for m in names.is_dns1123_subdomain(name)]
    k = as_str(sel.get("key"))
    if not k:
        errs.append(required(child(path, "key")))
    else:
        errs.extend(invalid(child(path, "key"), k, m) for m in names.is_config_map_key(k))
    return errs


def _value_from(env: dict[str, Any], path: str) -> list[FieldError]:
    source = env.get("valueFrom")
    if source is None:
        return []
    src = as_dict(source)
    errs: list[FieldError] = []
    count = 0
    if src.get("fieldRef") is not None:
        count += 1
        ref, rpath = as_dict(src.get("fieldRef")), child(path, "fieldRef")
        if not as_str(ref.get("apiVersion")):
            errs.append(required(child(rpath, "apiVersion")))
        elif not as_str(ref.get("fieldPath")):
            errs.append(required(child(rpath, "fieldPath")))
        else:
            errs.extend(_field_selector(as_str(ref.get("fieldPath")), rpath))
    if src.get("resourceFieldRef") is not None:
        count += 1
        resource = as_str(as_dict(src.get("resourceFieldRef")).get("resource"))
        rpath = child(path, "resourceFieldRef", "resource")
        if not resource:
            errs.append(required(rpath))
        elif resource not in _RESOURCE_FIELDS and not resource.startswith(_HUGEPAGES):
            errs.append(unsupported(rpath, resource, _RESOURCE_FIELDS))
    for name in ("configMapKeyRef", "secretKeyRef"):
        if src.get(name) is not None:
            count += 1
            errs.extend(_key_selector(as_dict(src.get(name)), child(path, name)))
    if count == 0:
        errs.append(
            invalid(
                path,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` "
                "or `secretKeyRef`",
            )
        )
    elif as_str(env.get("value")):
        errs.append(invalid(path, "", "may not be specified when `value` is not empty"))
    elif count > 1:
        errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def _field_selector(field_path: str, path: str) -> list[FieldError]:
    if "[" in field_path and field_path.endswith("]"):
        base, _, sub = field_path[:-1].partition("[")
        sub = sub.strip("'\"")
        if base == "metadata.annotations":
            return [invalid(path, sub.lower(), m) for m in names.is_qualified_name(sub.lower())]
        if base == "metadata.labels":
            return [invalid(path, sub, m) for m in names.is_qualified_name(sub)]
        return [invalid(path, base, "does not support subscript")]
    if field_path not in _ENV_FIELD_PATHS:
        return [unsupported(child(path, "fieldPath"), field_path, _ENV_FIELD_PATHS)]
    return []


def validate_env(env_vars: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(env_vars):
        env, ipath = as_dict(raw), index(path, i)
        name = as_str(env.get("name"))
        if not name:
            errs.append(required(child(ipath, "name")))
        else:
            errs.extend(
                invalid(child(ipath, "name"), name, m) for m in names.is_relaxed_env_var_name(name)
            )
        errs.extend(_value_from(env, child(ipath, "valueFrom")))
    return errs


def validate_env_from(sources: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(sources):
        src, ipath = as_dict(raw), index(path, i)
        prefix = as_str(src.get("prefix"))
        if prefix:
            errs.extend(
                invalid(child(ipath, "prefix"), prefix, m)
                for m in names.is_relaxed_env_var_name(prefix)
            )
        count = 0
        for name in ("configMapRef", "secretRef"):
            if src.get(name) is not None:
                count += 1
                ref_name = as_str(as_dict(src.get(name)).get("name"))
                npath = child(ipath, name, "name")
                if not ref_name:
                    errs.append(required(npath))
                else:
                    masked = (
                        ref_name[:-2] + "a"
                        if len(ref_name) > 1 and ref_name.endswith("-")
                        else ref_name
                    )
                    errs.extend(
                        invalid(npath, ref_name, m) for m in names.is_dns1123_subdomain(masked)
                    )
        if count == 0:
            errs.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif count > 1:
            errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs
