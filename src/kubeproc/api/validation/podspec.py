"""``ValidatePodSpec``: the pod spec shared by Pods and every pod template.

The order of checks is Go's, because with several mistakes the message lists them in that
order: grace period, volumes, containers, init containers, ephemeral containers, host
network ports, restart and DNS policy, node selector, security context, pull secrets,
DNS config, readiness and scheduling gates, names (service account, node, hostname,
subdomain), deadline, tolerations, host aliases, priority class, runtime class, preemption
policy and OS. Affinity and topology spread constraints are accepted as given.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, duplicate, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.containers import (
    validate_containers,
    validate_ephemeral_containers,
    validate_init_containers,
)
from kubeproc.api.validation.fields import (
    as_dict,
    as_int,
    as_list,
    as_str,
    child,
    index,
    json_list,
    opt_int,
)
from kubeproc.api.validation.meta import validate_label_name, validate_labels
from kubeproc.api.validation.volumes import validate_volumes

_MAX_INT32 = 2**31 - 1
_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]


def _dicts(value: object) -> list[dict[str, Any]]:
    return [as_dict(v) for v in as_list(value)]


def _host_network_ports(spec: dict[str, Any], path: str, *, is_pod: bool) -> list[FieldError]:
    if spec.get("hostNetwork") is not True:
        return []
    errs: list[FieldError] = []
    for i, ctr in enumerate(_dicts(spec.get("containers"))):
        for j, port in enumerate(_dicts(ctr.get("ports"))):
            host, cport = as_int(port.get("hostPort")), as_int(port.get("containerPort"))
            if (is_pod or host != 0) and host != cport:
                ppath = child(
                    index(child(index(child(path, "containers"), i), "ports"), j), "hostPort"
                )
                errs.append(
                    invalid(ppath, host, "must match `containerPort` when `hostNetwork` is true")
                )
    return errs


def _enum(value: str, allowed: list[str], path: str) -> list[FieldError]:
    if value in allowed:
        return []
    if not value:
        return [required(path)]
    return [unsupported(path, value, allowed)]


def _security_context(ctx: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    rng = names.inclusive_range_error(0, _MAX_INT32)
    for field in ("fsGroup", "runAsUser", "runAsGroup"):
        value = opt_int(ctx.get(field))
        if value is not None and not 0 <= value <= _MAX_INT32:
            errs.append(invalid(child(path, field), value, rng))
    for i, gid in enumerate(as_list(ctx.get("supplementalGroups"))):
        if isinstance(gid, int) and not 0 <= gid <= _MAX_INT32:
            errs.append(invalid(index(child(path, "supplementalGroups"), i), gid, rng))
    policy = ctx.get("fsGroupChangePolicy")
    if policy is not None and policy not in ("Always", "OnRootMismatch"):
        errs.append(
            unsupported(child(path, "fsGroupChangePolicy"), policy, ["Always", "OnRootMismatch"])
        )
    return errs


def _dns_config(spec: dict[str, Any], path: str) -> list[FieldError]:
    config = spec.get("dnsConfig")
    if spec.get("dnsPolicy") == "None":
        if config is None:
            return [required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not as_list(as_dict(config).get("nameservers")):
            return [
                required(
                    child(path, "nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            ]
    if config is None:
        return []
    cfg = as_dict(config)
    errs: list[FieldError] = []
    servers = [as_str(s) for s in as_list(cfg.get("nameservers"))]
    if len(servers) > 3:
        errs.append(
            invalid(
                child(path, "nameservers"),
                json_list(servers),
                "must not have more than 3 nameservers",
            )
        )
    for i, server in enumerate(servers):
        errs.extend(
            invalid(index(child(path, "nameservers"), i), server, m)
            for m in names.is_valid_ip(server)
        )
    searches = [as_str(s) for s in as_list(cfg.get("searches"))]
    if len(searches) > 32:
        errs.append(
            invalid(
                child(path, "searches"),
                json_list(searches),
                "must not have more than 32 search paths",
            )
        )
    if len(" ".join(searches)) > 2048:
        errs.append(
            invalid(
                child(path, "searches"),
                json_list(searches),
                "must not have more than 2048 characters (including spaces) in the search list",
            )
        )
    for i, search in enumerate(searches):
        if search != ".":
            trimmed = search.removesuffix(".")
            errs.extend(
                invalid(index(child(path, "searches"), i), trimmed, m)
                for m in names.is_dns1123_subdomain_with_underscore(trimmed)
            )
    for i, option in enumerate(_dicts(cfg.get("options"))):
        if not as_str(option.get("name")):
            errs.append(required(index(child(path, "options"), i), "must not be empty"))
    return errs


def validate_tolerations(tolerations: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(tolerations):
        tol, ipath = as_dict(raw), index(path, i)
        k, op = as_str(tol.get("key")), as_str(tol.get("operator"))
        effect, value = as_str(tol.get("effect")), as_str(tol.get("value"))
        if k:
            errs.extend(validate_label_name(k, child(ipath, "key")))
        if not k and op != "Exists":
            errs.append(
                invalid(
                    child(ipath, "operator"),
                    op,
                    "operator must be Exists when `key` is empty, which means "
                    '"match all values and all keys"',
                )
            )
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(
                invalid(
                    child(ipath, "effect"),
                    effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if op in ("Equal", ""):
            msgs = names.is_label_value(value)
            if msgs:
                errs.append(invalid(child(ipath, "operator"), value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                errs.append(
                    invalid(
                        child(ipath, "operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    )
                )
        else:
            errs.append(unsupported(child(ipath, "operator"), op, ["Equal", "Exists"]))
        if effect and effect not in _TAINT_EFFECTS:
            errs.append(unsupported(child(ipath, "effect"), effect, _TAINT_EFFECTS))
    return errs


def _named(value: object, path: str, check: Any) -> list[FieldError]:
    text = as_str(value)
    return [invalid(path, text, m) for m in check(text)] if text else []


def _gates(spec: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, gate in enumerate(_dicts(spec.get("readinessGates"))):
        ctype = as_str(gate.get("conditionType"))
        errs.extend(
            validate_label_name(
                ctype, child(index(child(path, "readinessGates"), i), "conditionType")
            )
        )
    seen: set[str] = set()
    for i, gate in enumerate(_dicts(spec.get("schedulingGates"))):
        gname, gpath = as_str(gate.get("name")), index(child(path, "schedulingGates"), i)
        errs.extend(validate_label_name(gname, gpath))
        if gname in seen:
            errs.append(duplicate(gpath, gname))
        seen.add(gname)
    return errs


def validate_pod_spec(spec: dict[str, Any], path: str, *, is_pod: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    grace = opt_int(spec.get("terminationGracePeriodSeconds"))
    if grace is None:
        errs.append(required(child(path, "terminationGracePeriodSeconds")))
    volumes, verrs = validate_volumes(as_list(spec.get("volumes")), child(path, "volumes"))
    errs.extend(verrs)
    containers = _dicts(spec.get("containers"))
    inits = _dicts(spec.get("initContainers"))
    errs.extend(validate_containers(containers, volumes, grace, child(path, "containers")))
    errs.extend(
        validate_init_containers(inits, containers, volumes, grace, child(path, "initContainers"))
    )
    errs.extend(
        validate_ephemeral_containers(
            _dicts(spec.get("ephemeralContainers")),
            containers,
            inits,
            volumes,
            child(path, "ephemeralContainers"),
        )
    )
    errs.extend(_host_network_ports(spec, path, is_pod=is_pod))
    errs.extend(
        _enum(as_str(spec.get("restartPolicy")), _RESTART_POLICIES, child(path, "restartPolicy"))
    )
    errs.extend(_enum(as_str(spec.get("dnsPolicy")), _DNS_POLICIES, child(path, "dnsPolicy")))
    errs.extend(validate_labels(spec.get("nodeSelector"), child(path, "nodeSelector")))
    errs.extend(
        _security_context(as_dict(spec.get("securityContext")), child(path, "securityContext"))
    )
    for i, secret in enumerate(_dicts(spec.get("imagePullSecrets"))):
        if set(secret) - {"name"}:
            errs.append(
                invalid(index(child(path, "imagePullSecrets"), i), secret, "only name may be set")
            )
    errs.extend(_dns_config(spec, child(path, "dnsConfig")))
    errs.extend(_gates(spec, path))
    errs.extend(
        _named(
            spec.get("serviceAccountName"),
            child(path, "serviceAccountName"),
            names.is_dns1123_subdomain,
        )
    )
    errs.extend(_named(spec.get("nodeName"), child(path, "nodeName"), names.is_dns1123_subdomain))
    deadline = opt_int(spec.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= _MAX_INT32:
        errs.append(
            invalid(
                child(path, "activeDeadlineSeconds"),
                deadline,
                names.inclusive_range_error(1, _MAX_INT32),
            )
        )
    errs.extend(_named(spec.get("hostname"), child(path, "hostname"), names.is_dns1123_label))
    errs.extend(_named(spec.get("subdomain"), child(path, "subdomain"), names.is_dns1123_label))
    errs.extend(validate_tolerations(as_list(spec.get("tolerations")), child(path, "tolerations")))
    for i, alias in enumerate(_dicts(spec.get("hostAliases"))):
        apath = index(child(path, "hostAliases"), i)
        ip = as_str(alias.get("ip"))
        errs.extend(invalid(child(apath, "ip"), ip, m) for m in names.is_valid_ip(ip))
        for j, host in enumerate(as_list(alias.get("hostnames"))):
            errs.extend(
                _named(host, index(child(apath, "hostnames"), j), names.is_dns1123_subdomain)
            )
    errs.extend(
        _named(
            spec.get("priorityClassName"),
            child(path, "priorityClassName"),
            names.is_dns1123_subdomain,
        )
    )
    if spec.get("runtimeClassName") is not None:
        rc = as_str(spec.get("runtimeClassName"))
        errs.extend(
            invalid(child(path, "runtimeClassName"), rc, m) for m in names.is_dns1123_subdomain(rc)
        )
    if spec.get("preemptionPolicy") is not None:
        policy = as_str(spec.get("preemptionPolicy"))
        errs.extend(
            _enum(policy, ["PreemptLowerPriority", "Never"], child(path, "preemptionPolicy"))
        )
    if spec.get("os") is not None:
        os_name = as_str(as_dict(spec.get("os")).get("name"))
        if not os_name:
            errs.append(required(child(path, "os", "name"), "cannot be empty"))
        elif os_name not in ("linux", "windows"):
            errs.append(unsupported(child(path, "os"), os_name, ["linux", "windows"]))
    return errs
