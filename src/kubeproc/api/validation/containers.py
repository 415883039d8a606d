"""Containers: the rules shared by regular, init and ephemeral containers, and the lists.

Mirrors ``validateContainerCommon`` (name, image, termination message policy, ports, env,
envFrom, volume mounts, pull policy, resources, security context) and the three list
validators. Where probes may appear is decided here: regular containers and restartable
(sidecar) init containers get full probe validation; other init containers get
``Forbidden`` (V14) and ephemeral containers get the allow-list ``Forbidden`` (V15).
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, duplicate, forbidden, invalid, not_found, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.env import validate_env, validate_env_from
from kubeproc.api.validation.fields import as_dict, as_int, as_list, as_str, child, index
from kubeproc.api.validation.probes import validate_lifecycle, validate_probes
from kubeproc.api.validation.resources import validate_resources
from kubeproc.api.validation.volumes import validate_local_descending_path

_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_NOT_INIT = "may not be set for init containers without restartPolicy=Always"
# EphemeralContainerCommon's fields in Go struct order, with whether each may be set.
_EPHEMERAL_FIELDS = (
    ("name", True),
    ("image", True),
    ("command", True),
    ("args", True),
    ("workingDir", True),
    ("ports", False),
    ("envFrom", True),
    ("env", True),
    ("resources", False),
    ("resizePolicy", False),
    ("restartPolicy", False),
    ("restartPolicyRules", False),
    ("volumeMounts", True),
    ("volumeDevices", True),
    ("livenessProbe", False),
    ("readinessProbe", False),
    ("startupProbe", False),
    ("lifecycle", False),
    ("terminationMessagePath", True),
    ("terminationMessagePolicy", True),
    ("imagePullPolicy", True),
    ("securityContext", True),
    ("stdin", True),
    ("stdinOnce", True),
    ("tty", True),
)


def validate_dns_label(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in names.is_dns1123_label(value)]


def _ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, raw in enumerate(ports):
        port, ipath = as_dict(raw), index(path, i)
        name = as_str(port.get("name"))
        if name:
            msgs = names.is_valid_port_name(name)
            if msgs:
                errs.extend(invalid(child(ipath, "name"), name, m) for m in msgs)
            elif name in seen:
                errs.append(duplicate(child(ipath, "name"), name))
            else:
                seen.add(name)
        number = as_int(port.get("containerPort"))
        if number == 0:
            errs.append(required(child(ipath, "containerPort")))
        else:
            errs.extend(
                invalid(child(ipath, "containerPort"), number, m)
                for m in names.is_valid_port_num(number)
            )
        host = as_int(port.get("hostPort"))
        if host:
            errs.extend(
                invalid(child(ipath, "hostPort"), host, m) for m in names.is_valid_port_num(host)
            )
        protocol = as_str(port.get("protocol"))
        if not protocol:
            errs.append(required(child(ipath, "protocol")))
        elif protocol not in _PROTOCOLS:
            errs.append(unsupported(child(ipath, "protocol"), protocol, _PROTOCOLS))
    return errs


def _volume_mounts(
    mounts: list[Any], volumes: dict[str, dict[str, Any]], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    points: set[str] = set()
    for i, raw in enumerate(mounts):
        mount, ipath = as_dict(raw), index(path, i)
        name, mount_path = as_str(mount.get("name")), as_str(mount.get("mountPath"))
        if not name:
            errs.append(required(child(ipath, "name")))
        if name not in volumes:
            errs.append(not_found(child(ipath, "name"), name))
        if not mount_path:
            errs.append(required(child(ipath, "mountPath")))
        if mount_path in points:
            errs.append(invalid(child(ipath, "mountPath"), mount_path, "must be unique"))
        points.add(mount_path)
        sub_path, sub_expr = as_str(mount.get("subPath")), as_str(mount.get("subPathExpr"))
        if sub_path:
            errs.extend(validate_local_descending_path(sub_path, child(path, "subPath")))
        if sub_expr:
            if sub_path:
                errs.append(
                    invalid(
                        child(ipath, "subPathExpr"),
                        sub_expr,
                        "subPathExpr and subPath are mutually exclusive",
                    )
                )
            errs.extend(validate_local_descending_path(sub_expr, child(path, "subPathExpr")))
    return errs


def _pull_policy(policy: str, path: str) -> list[FieldError]:
    if policy in ("Always", "IfNotPresent", "Never"):
        return []
    if not policy:
        return [required(path)]
    return [unsupported(path, policy, ["Always", "IfNotPresent", "Never"])]


def _security_context(sc: object, path: str) -> list[FieldError]:
    ctx = as_dict(sc)
    errs: list[FieldError] = []
    for field in ("runAsUser", "runAsGroup"):
        value = ctx.get(field)
        if isinstance(value, int) and not 0 <= value <= 2147483647:
            errs.append(
                invalid(child(path, field), value, names.inclusive_range_error(0, 2147483647))
            )
    if ctx.get("allowPrivilegeEscalation") is False and ctx.get("privileged") is True:
        errs.append(
            invalid(
                path, ctx, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"
            )
        )
    return errs


def validate_container_common(
    ctr: dict[str, Any], volumes: dict[str, dict[str, Any]], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = as_str(ctr.get("name"))
    if not name:
        errs.append(required(child(path, "name")))
    else:
        errs.extend(validate_dns_label(name, child(path, "name")))
    if not as_str(ctr.get("image")):
        errs.append(required(child(path, "image")))
    policy = as_str(ctr.get("terminationMessagePolicy"))
    if not policy:
        errs.append(required(child(path, "terminationMessagePolicy")))
    elif policy not in ("File", "FallbackToLogsOnError"):
        errs.append(
            unsupported(
                child(path, "terminationMessagePolicy"), policy, ["File", "FallbackToLogsOnError"]
            )
        )
    errs.extend(_ports(as_list(ctr.get("ports")), child(path, "ports")))
    errs.extend(validate_env(as_list(ctr.get("env")), child(path, "env")))
    errs.extend(validate_env_from(as_list(ctr.get("envFrom")), child(path, "envFrom")))
    errs.extend(
        _volume_mounts(as_list(ctr.get("volumeMounts")), volumes, child(path, "volumeMounts"))
    )
    errs.extend(_pull_policy(as_str(ctr.get("imagePullPolicy")), child(path, "imagePullPolicy")))
    errs.extend(validate_resources(as_dict(ctr.get("resources")), child(path, "resources")))
    errs.extend(_security_context(ctr.get("securityContext"), child(path, "securityContext")))
    return errs


def _host_port_conflicts(containers: list[dict[str, Any]], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for ci, ctr in enumerate(containers):
        for pi, raw in enumerate(as_list(ctr.get("ports"))):
            port = as_dict(raw)
            host = as_int(port.get("hostPort"))
            if not host:
                continue
            ident = f"{as_str(port.get('protocol'))}/{as_str(port.get('hostIP'))}/{host}"
            if ident in seen:
                errs.append(
                    duplicate(child(index(child(index(path, ci), "ports"), pi), "hostPort"), ident)
                )
            seen.add(ident)
    return errs


def validate_containers(
    containers: list[dict[str, Any]],
    volumes: dict[str, dict[str, Any]],
    grace: int | None,
    path: str,
) -> list[FieldError]:
    if not containers:
        return [required(path)]
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, ctr in enumerate(containers):
        ipath = index(path, i)
        errs.extend(validate_container_common(ctr, volumes, ipath))
        name = as_str(ctr.get("name"))
        if name in seen:
            errs.append(duplicate(child(ipath, "name"), name))
        seen.add(name)
        if ctr.get("lifecycle") is not None:
            errs.extend(
                validate_lifecycle(as_dict(ctr.get("lifecycle")), grace, child(ipath, "lifecycle"))
            )
        errs.extend(validate_probes(ctr, grace, ipath))
        if ctr.get("restartPolicy") is not None:
            errs.append(
                forbidden(child(ipath, "restartPolicy"), "may not be set for non-init containers")
            )
    errs.extend(_host_port_conflicts(containers, path))
    return errs


def validate_init_containers(
    inits: list[dict[str, Any]],
    regular: list[dict[str, Any]],
    volumes: dict[str, dict[str, Any]],
    grace: int | None,
    path: str,
) -> list[FieldError]:
    errs: list[FieldError] = []
    seen = {as_str(c.get("name")) for c in regular}
    for i, ctr in enumerate(inits):
        ipath = index(path, i)
        errs.extend(validate_container_common(ctr, volumes, ipath))
        policy = ctr.get("restartPolicy")
        if policy is not None and policy != "Always":
            errs.append(unsupported(child(ipath, "restartPolicy"), policy, ["Always"]))
        name = as_str(ctr.get("name"))
        if name in seen:
            errs.append(duplicate(child(ipath, "name"), name))
        elif name:
            seen.add(name)
        errs.extend(_host_port_conflicts([ctr], path))
        if policy == "Always":
            if ctr.get("lifecycle") is not None:
                errs.extend(
                    validate_lifecycle(
                        as_dict(ctr.get("lifecycle")), grace, child(ipath, "lifecycle")
                    )
                )
            errs.extend(validate_probes(ctr, grace, ipath))
        else:
            for field in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if ctr.get(field) is not None:
                    errs.append(forbidden(child(ipath, field), _NOT_INIT))
    return errs


def validate_ephemeral_containers(
    ephemerals: list[dict[str, Any]],
    regular: list[dict[str, Any]],
    inits: list[dict[str, Any]],
    volumes: dict[str, dict[str, Any]],
    path: str,
) -> list[FieldError]:
    errs: list[FieldError] = []
    others = {as_str(c.get("name")) for c in regular + inits}
    seen = set(others)
    for i, ctr in enumerate(ephemerals):
        ipath = index(path, i)
        errs.extend(validate_container_common(ctr, volumes, ipath))
        errs.extend(validate_image_whitespace(ctr, ipath))
        name = as_str(ctr.get("name"))
        if name in seen:
            errs.append(duplicate(child(ipath, "name"), name))
        else:
            seen.add(name)
        target = as_str(ctr.get("targetContainerName"))
        if target and target not in others:
            errs.append(not_found(child(ipath, "targetContainerName"), target))
        for field, allowed in _EPHEMERAL_FIELDS:
            if not allowed and _is_set(ctr.get(field)):
                errs.append(
                    forbidden(child(ipath, field), "cannot be set for an Ephemeral Container")
                )
        for j, raw in enumerate(as_list(ctr.get("volumeMounts"))):
            for sub in ("subPath", "subPathExpr"):
                if as_str(as_dict(raw).get(sub)):
                    errs.append(
                        forbidden(
                            child(index(child(ipath, "volumeMounts"), j), sub),
                            "cannot be set for an Ephemeral Container",
                        )
                    )
    return errs


def _is_set(value: object) -> bool:
    """Go's "differs from the zero value" for a JSON field."""
    return value not in (None, "", 0, False, [], {})


def validate_image_whitespace(ctr: dict[str, Any], path: str) -> list[FieldError]:
    image = as_str(ctr.get("image"))
    if image != image.strip():
        return [
            invalid(child(path, "image"), image, "must not have leading or trailing whitespace")
        ]
    return []
