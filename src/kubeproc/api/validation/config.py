"""ConfigMaps, Secrets and ServiceAccounts: keys, sizes, types and immutability.

Mirrors ``ValidateConfigMap``, ``ValidateSecret`` and their updates. Secret values arrive
base64-encoded on the wire; their size is counted decoded, as Go counts ``[]byte``.
``stringData`` is folded into ``data`` by conversion in the real server, so its keys are
checked as ``data[...]`` keys here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kubeproc.api.errors import FieldError, forbidden, invalid, required, too_long
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_str, key
from kubeproc.api.validation.meta import (
    immutable,
    name_is_dns_subdomain,
    validate_object_meta,
    validate_object_meta_update,
)

MAX_SECRET_SIZE = 1024 * 1024
_IMMUTABLE = "field is immutable when `immutable` is set"


def _size(value: object, *, encoded: bool) -> int:
    text = value if isinstance(value, str) else ""
    if encoded:
        try:
            return len(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            return len(text.encode())
    return len(text.encode())


def validate_config_map(cm: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(cm, name_is_dns_subdomain)
    data, binary = as_dict(cm.get("data")), as_dict(cm.get("binaryData"))
    total = 0
    for k, v in data.items():
        errs.extend(invalid(key("data", k), k, m) for m in names.is_config_map_key(k))
        if k in binary:
            errs.append(invalid(key("data", k), k, "duplicate of key present in binaryData"))
        total += _size(v, encoded=False)
    for k, v in binary.items():
        errs.extend(invalid(key("binaryData", k), k, m) for m in names.is_config_map_key(k))
        total += _size(v, encoded=True)
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("", MAX_SECRET_SIZE))
    return errs


def _frozen(new: dict[str, Any], old: dict[str, Any], fields: tuple[str, ...]) -> list[FieldError]:
    if old.get("immutable") is not True:
        return []
    errs: list[FieldError] = []
    if new.get("immutable") is not True:
        errs.append(forbidden("immutable", _IMMUTABLE))
    errs.extend(forbidden(f, _IMMUTABLE) for f in fields if new.get(f) != old.get(f))
    return errs


def validate_config_map_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    errs.extend(_frozen(new, old, ("data", "binaryData")))
    return errs + validate_config_map(new)


def _typed_secret(secret: dict[str, Any], data: dict[str, Any]) -> list[FieldError]:
    stype = as_str(secret.get("type"))
    annotations = as_dict(as_dict(secret.get("metadata")).get("annotations"))
    if stype == "kubernetes.io/service-account-token":
        sa_key = "kubernetes.io/service-account.name"
        if not as_str(annotations.get(sa_key)):
            return [required(key("metadata.annotations", sa_key))]
    elif stype in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        data_key = ".dockercfg" if stype == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if data_key not in data:
            return [required(key("data", data_key))]
    elif stype == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [required(key("data", "username")), required(key("data", "password"))]
    elif stype == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            return [required(key("data", "ssh-privatekey"))]
    elif stype == "kubernetes.io/tls":
        return [required(key("data", k)) for k in ("tls.crt", "tls.key") if k not in data]
    return []


def validate_secret(secret: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(secret, name_is_dns_subdomain)
    data = {**as_dict(secret.get("data")), **as_dict(secret.get("stringData"))}
    total = 0
    for k, v in data.items():
        errs.extend(invalid(key("data", k), k, m) for m in names.is_config_map_key(k))
        total += _size(v, encoded=k in as_dict(secret.get("data")))
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", MAX_SECRET_SIZE))
    return errs + _typed_secret(secret, data)


def validate_secret_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    errs.extend(immutable(new.get("type", ""), old.get("type", ""), "type"))
    errs.extend(_frozen(new, old, ("data",)))
    return errs + validate_secret(new)


def validate_service_account(sa: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta(sa, name_is_dns_subdomain)


def validate_service_account_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta_update(new, old) + validate_service_account(new)
