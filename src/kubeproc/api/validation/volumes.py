"""Pod volumes: exactly one source each, names, and the sources people actually use.

Mirrors ``ValidateVolumes``/``validateVolumeSource``: sources are checked in Go's
declaration order, so the *second* source is the one reported as "may not specify more
than 1 volume type" (with Go's own path quirks, ``cephFS`` and ``downwarAPI``). Only
volumes without errors are returned as mountable, which is why a mount of a broken volume
also reports ``Not found``. emptyDir, hostPath, secret, configMap, downwardAPI, projected,
persistentVolumeClaim, nfs, csi and ephemeral get their field rules; the cloud and legacy
sources are recognised as a type but not inspected further.
"""

from __future__ import annotations

import posixpath
from typing import Any

from kubeproc.api.errors import FieldError, duplicate, forbidden, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_list, as_str, child, index, opt_int
from kubeproc.api.validation.quantity import parse_quantity

# (JSON field, path used when it is the extra source) in Go's check order.
_SOURCES = (
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
)
_HOST_PATH_TYPES = [
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
]
_FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
_VOLUME_FIELD_PATHS = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
]


def validate_path_no_backsteps(target: str, path: str) -> list[FieldError]:
    if ".." in target.split("/"):
        return [invalid(path, target, "must not contain '..'")]
    return []


def validate_local_descending_path(target: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if posixpath.isabs(target):
        errs.append(invalid(path, target, "must be a relative path"))
    return errs + validate_path_no_backsteps(target, path)


def _local_non_reserved_path(target: str, path: str) -> list[FieldError]:
    errs = validate_local_descending_path(target, path)
    if target.startswith("..") and not target.startswith("../"):
        errs.append(invalid(path, target, "must not start with '..'"))
    return errs


def _mode(value: object, path: str) -> list[FieldError]:
    mode = opt_int(value)
    if mode is not None and not 0 <= mode <= 0o777:
        return [invalid(path, mode, _FILE_MODE_ERROR)]
    return []


def _key_to_path(item: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not as_str(item.get("key")):
        errs.append(required(child(path, "key")))
    target = as_str(item.get("path"))
    if not target:
        errs.append(required(child(path, "path")))
    errs.extend(_local_non_reserved_path(target, child(path, "path")))
    return errs + _mode(item.get("mode"), child(path, "mode"))


def _items(src: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, item in enumerate(as_list(src.get("items"))):
        errs.extend(_key_to_path(as_dict(item), index(child(path, "items"), i)))
    return errs


def _downward_file(item: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    target = as_str(item.get("path"))
    if not target:
        errs.append(required(child(path, "path")))
    errs.extend(_local_non_reserved_path(target, child(path, "path")))
    if item.get("fieldRef") is not None:
        ref, rpath = as_dict(item.get("fieldRef")), child(path, "fieldRef")
        field_path = as_str(ref.get("fieldPath"))
        if not as_str(ref.get("apiVersion")):
            errs.append(required(child(rpath, "apiVersion")))
        elif not field_path:
            errs.append(required(child(rpath, "fieldPath")))
        elif "[" not in field_path and field_path not in _VOLUME_FIELD_PATHS:
            errs.append(unsupported(child(rpath, "fieldPath"), field_path, _VOLUME_FIELD_PATHS))
        if item.get("resourceFieldRef") is not None:
            errs.append(
                invalid(
                    path,
                    "resource",
                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                )
            )
    elif item.get("resourceFieldRef") is not None:
        ref = as_dict(item.get("resourceFieldRef"))
        if not as_str(ref.get("containerName")):
            errs.append(required(child(path, "resourceFieldRef", "containerName")))
        elif not as_str(ref.get("resource")):
            errs.append(required(child(path, "resourceFieldRef", "resource")))
    else:
        errs.append(required(path, "one of fieldRef and resourceFieldRef is required"))
    return errs + _mode(item.get("mode"), child(path, "mode"))


def _projected(src: dict[str, Any], path: str) -> list[FieldError]:
    errs = _mode(src.get("defaultMode"), child(path, "defaultMode"))
    for i, raw in enumerate(as_list(src.get("sources"))):
        source, spath = as_dict(raw), index(child(path, "sources"), i)
        count = 0
        for kind in ("secret", "configMap"):
            if source.get(kind) is not None:
                count += 1
                ref = as_dict(source.get(kind))
                if not as_str(ref.get("name")):
                    errs.append(required(child(spath, kind, "name")))
                errs.extend(_items(ref, child(spath, kind)))
        if source.get("downwardAPI") is not None:
            count += 1
            for item in as_list(as_dict(source.get("downwardAPI")).get("items")):
                errs.extend(_downward_file(as_dict(item), child(spath, "downwardAPI")))
        if source.get("serviceAccountToken") is not None:
            count += 1
            token, tpath = (
                as_dict(source.get("serviceAccountToken")),
                child(spath, "serviceAccountToken"),
            )
            expiration = opt_int(token.get("expirationSeconds"))
            if expiration is not None and expiration < 600:
                errs.append(
                    invalid(
                        child(tpath, "expirationSeconds"),
                        expiration,
                        "may not specify a duration less than 10 minutes",
                    )
                )
            if expiration is not None and expiration > 1 << 32:
                errs.append(
                    invalid(
                        child(tpath, "expirationSeconds"),
                        expiration,
                        "may not specify a duration larger than 2^32 seconds",
                    )
                )
            if not as_str(token.get("path")):
                errs.append(required(child(path, "path")))
            else:
                errs.extend(
                    _local_non_reserved_path(as_str(token.get("path")), child(path, "path"))
                )
        if source.get("clusterTrustBundle") is not None:
            count += 1
        if count > 1:
            errs.append(forbidden(spath, "may not specify more than 1 volume type per source"))
    return errs


def _source(kind: str, src: dict[str, Any], path: str) -> list[FieldError]:
    """The rules of one volume source type; ``path`` is ``…volumes[i].<kind>``."""
    errs: list[FieldError] = []
    if kind == "emptyDir":
        limit = parse_quantity(src.get("sizeLimit")) if src.get("sizeLimit") is not None else None
        if limit is not None and limit.value < 0:
            errs.append(
                forbidden(
                    child(path, "sizeLimit"), "SizeLimit field must be a valid resource quantity"
                )
            )
    elif kind == "hostPath":
        target = as_str(src.get("path"))
        if not target:
            return [required(child(path, "path"))]
        errs.extend(validate_path_no_backsteps(target, child(path, "path")))
        host_type = src.get("type")
        if host_type is not None and host_type not in _HOST_PATH_TYPES:
            errs.append(unsupported(child(path, "type"), host_type, _HOST_PATH_TYPES))
    elif kind in ("secret", "configMap"):
        name_field = "secretName" if kind == "secret" else "name"
        if not as_str(src.get(name_field)):
            errs.append(required(child(path, name_field)))
        errs.extend(_mode(src.get("defaultMode"), child(path, "defaultMode")))
        errs.extend(_items(src, path))
    elif kind == "persistentVolumeClaim":
        if not as_str(src.get("claimName")):
            errs.append(required(child(path, "claimName")))
    elif kind == "downwardAPI":
        errs.extend(_mode(src.get("defaultMode"), child(path, "defaultMode")))
        for item in as_list(src.get("items")):
            errs.extend(_downward_file(as_dict(item), path))
    elif kind == "projected":
        errs.extend(_projected(src, path))
    elif kind == "nfs":
        if not as_str(src.get("server")):
            errs.append(required(child(path, "server")))
        target = as_str(src.get("path"))
        if not target:
            errs.append(required(child(path, "path")))
        if not target.startswith("/"):
            errs.append(invalid(child(path, "path"), target, "must be an absolute path"))
    elif kind == "csi":
        driver = as_str(src.get("driver"))
        if not driver:
            errs.append(required(child(path, "driver")))
        errs.extend(
            invalid(child(path, "driver"), driver, m)
            for m in names.is_dns1123_subdomain(driver.lower())
        )
    elif kind == "ephemeral" and src.get("volumeClaimTemplate") is None:
        errs.append(required(child(path, "volumeClaimTemplate")))
    return errs


def _volume_source(volume: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for kind, extra_path in _SOURCES:
        if volume.get(kind) is None:
            continue
        if count:
            errs.append(
                forbidden(child(path, extra_path), "may not specify more than 1 volume type")
            )
            continue
        count += 1
        errs.extend(_source(kind, as_dict(volume.get(kind)), child(path, kind)))
    if count == 0:
        errs.append(required(path, "must specify a volume type"))
    return errs


def validate_volumes(
    volumes: list[Any], path: str
) -> tuple[dict[str, dict[str, Any]], list[FieldError]]:
    """The mountable volumes by name, and the errors."""
    errs: list[FieldError] = []
    valid: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(volumes):
        volume, ipath = as_dict(raw), index(path, i)
        name = as_str(volume.get("name"))
        el = _volume_source(volume, ipath)
        if not name:
            el.append(required(child(ipath, "name")))
        else:
            el.extend(invalid(child(ipath, "name"), name, m) for m in names.is_dns1123_label(name))
        if name in valid:
            el.append(duplicate(child(ipath, "name"), name))
        if el:
            errs.extend(el)
        else:
            valid[name] = volume
    return valid, errs
