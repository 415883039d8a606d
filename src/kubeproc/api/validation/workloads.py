"""ReplicationControllers, ReplicaSets and Deployments.

Mirrors ``ValidateReplicationController``, apps' ``ValidateReplicaSet`` and
``ValidateDeployment`` with their update and status variants, plus the apps/v1 rule from
the registry strategies that a selector may not change. Two Go quirks are kept because
users see them: a missing apps selector also reports the template labels as not matching
(a nil selector matches nothing), and a ReplicaSet's empty selector is called "invalid for
deployment".
"""

from __future__ import annotations

import re
from typing import Any

from kubeproc.api.errors import FieldError, forbidden, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_int, as_str, child, opt_int, str_map
from kubeproc.api.validation.meta import (
    immutable,
    name_is_dns_subdomain,
    nonnegative,
    selector_matches,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kubeproc.api.validation.pod import validate_pod_template_spec

_MISMATCH = "`selector` does not match template `labels`"


def _template_labels(template: dict[str, Any]) -> dict[str, str] | None:
    labels = as_dict(template.get("metadata")).get("labels")
    return str_map(labels) if isinstance(labels, dict) else None


def _template_rules(template: dict[str, Any], owner: str, path: str) -> list[FieldError]:
    errs = validate_pod_template_spec(template, path)
    spec = as_dict(template.get("spec"))
    policy = as_str(spec.get("restartPolicy"))
    if policy != "Always":
        errs.append(unsupported(child(path, "spec", "restartPolicy"), policy, ["Always"]))
    if spec.get("activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                child(path, "spec", "activeDeadlineSeconds"),
                f"activeDeadlineSeconds in {owner} is not Supported",
            )
        )
    return errs


def _rc_spec(spec: dict[str, Any]) -> list[FieldError]:
    errs = nonnegative(as_int(spec.get("minReadySeconds")), "spec.minReadySeconds")
    selector = str_map(spec.get("selector"))
    if not selector:
        errs.append(required("spec.selector"))
    errs.extend(nonnegative(as_int(spec.get("replicas")), "spec.replicas"))
    if spec.get("template") is None:
        return [*errs, required("spec.template")]
    template = as_dict(spec.get("template"))
    labels = _template_labels(template)
    if selector and any((labels or {}).get(k) != v for k, v in selector.items()):
        errs.append(invalid("spec.template.metadata.labels", labels, _MISMATCH))
    return errs + _template_rules(template, "ReplicationController", "spec.template")


def validate_rc(rc: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta(rc, name_is_dns_subdomain) + _rc_spec(as_dict(rc.get("spec")))


def validate_rc_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta_update(new, old) + _rc_spec(as_dict(new.get("spec")))


def _selector_and_template(spec: dict[str, Any]) -> list[FieldError]:
    """The selector, then the template against it (``ValidatePodTemplateSpecForReplicaSet``)."""
    errs: list[FieldError] = []
    raw = spec.get("selector")
    selector_errs: list[FieldError] = []
    if raw is None:
        errs.append(required("spec.selector"))
    else:
        selector_errs = validate_label_selector(as_dict(raw), "spec.selector")
        errs.extend(selector_errs)
        sel = as_dict(raw)
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            errs.append(invalid("spec.selector", sel, "empty selector is invalid for deployment"))
    if selector_errs:
        return [*errs, invalid("spec.selector", raw, "invalid label selector")]
    template = as_dict(spec.get("template"))
    sel = as_dict(raw)
    empty = raw is not None and not sel.get("matchLabels") and not sel.get("matchExpressions")
    labels = _template_labels(template)
    if not empty and (raw is None or not selector_matches(sel, labels or {})):
        errs.append(invalid("spec.template.metadata.labels", labels, _MISMATCH))
    return errs + _template_rules(template, "ReplicaSet", "spec.template")


def _rs_spec(spec: dict[str, Any]) -> list[FieldError]:
    errs = nonnegative(as_int(spec.get("replicas")), "spec.replicas")
    errs.extend(nonnegative(as_int(spec.get("minReadySeconds")), "spec.minReadySeconds"))
    return errs + _selector_and_template(spec)


def validate_replica_set(rs: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta(rs, name_is_dns_subdomain) + _rs_spec(as_dict(rs.get("spec")))


def validate_replica_set_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + _rs_spec(as_dict(new.get("spec")))
    return errs + _selector_immutable(new, old)


def _selector_immutable(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    new_sel = as_dict(new.get("spec")).get("selector")
    old_sel = as_dict(old.get("spec")).get("selector")
    return immutable(new_sel, old_sel, "spec.selector")


def _int_or_percent(value: object) -> tuple[int, bool]:
    """(value, is-a-valid-percent) as Go's getIntOrPercentValue sees it."""
    if isinstance(value, str):
        if not names.is_valid_percent(value):
            return int(value[:-1]), True
        return (int(value) if re.fullmatch(r"-?[0-9]+", value) else 0), False
    return as_int(value), False


def _positive_int_or_percent(value: object, path: str) -> list[FieldError]:
    if isinstance(value, str):
        return [invalid(path, value, m) for m in names.is_valid_percent(value)]
    return nonnegative(as_int(value), path)


def _strategy(strategy: dict[str, Any]) -> list[FieldError]:
    stype = as_str(strategy.get("type"))
    path = "spec.strategy"
    if stype == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [
                forbidden(
                    child(path, "rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if stype != "RollingUpdate":
        return [unsupported(path, strategy, ["Recreate", "RollingUpdate"])]
    if strategy.get("rollingUpdate") is None:
        return [required(child(path, "rollingUpdate"), "this should be defaulted and never be nil")]
    rolling, rpath = as_dict(strategy.get("rollingUpdate")), child(path, "rollingUpdate")
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errs = _positive_int_or_percent(unavailable, child(rpath, "maxUnavailable"))
    errs.extend(_positive_int_or_percent(surge, child(rpath, "maxSurge")))
    if _int_or_percent(unavailable)[0] == 0 and _int_or_percent(surge)[0] == 0:
        errs.append(
            invalid(
                child(rpath, "maxUnavailable"), unavailable, "may not be 0 when `maxSurge` is 0"
            )
        )
    percent, is_percent = _int_or_percent(unavailable)
    if is_percent and percent > 100:
        errs.append(
            invalid(child(rpath, "maxUnavailable"), unavailable, "must not be greater than 100%")
        )
    return errs


def _deployment_spec(spec: dict[str, Any]) -> list[FieldError]:
    errs = nonnegative(as_int(spec.get("replicas")), "spec.replicas")
    errs.extend(_selector_and_template(spec))
    errs.extend(_strategy(as_dict(spec.get("strategy"))))
    min_ready = as_int(spec.get("minReadySeconds"))
    errs.extend(nonnegative(min_ready, "spec.minReadySeconds"))
    history = opt_int(spec.get("revisionHistoryLimit"))
    if history is not None:
        errs.extend(nonnegative(history, "spec.revisionHistoryLimit"))
    deadline = opt_int(spec.get("progressDeadlineSeconds"))
    if deadline is not None:
        errs.extend(nonnegative(deadline, "spec.progressDeadlineSeconds"))
        if deadline <= min_ready:
            errs.append(
                invalid(
                    "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
                )
            )
    return errs


def validate_deployment(dep: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta(dep, name_is_dns_subdomain) + _deployment_spec(
        as_dict(dep.get("spec"))
    )


def validate_deployment_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + _deployment_spec(as_dict(new.get("spec")))
    return errs + _selector_immutable(new, old)


_STATUS_COUNTERS = {
    "ReplicationController": (
        "replicas",
        "fullyLabeledReplicas",
        "readyReplicas",
        "availableReplicas",
        "observedGeneration",
    ),
    "ReplicaSet": (
        "replicas",
        "fullyLabeledReplicas",
        "readyReplicas",
        "availableReplicas",
        "observedGeneration",
    ),
    "Deployment": (
        "observedGeneration",
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "unavailableReplicas",
        "collisionCount",
    ),
}


def validate_workload_status(
    kind: str, new: dict[str, Any], old: dict[str, Any]
) -> list[FieldError]:
    """The status subresource of the three controllers' objects."""
    status = as_dict(new.get("status"))
    errs = validate_object_meta_update(new, old)
    for field in _STATUS_COUNTERS[kind]:
        errs.extend(nonnegative(as_int(status.get(field)), f"status.{field}"))
    counts = {
        f: as_int(status.get(f))
        for f in (
            "replicas",
            "fullyLabeledReplicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        )
    }
    bounded = ("updatedReplicas",) if kind == "Deployment" else ("fullyLabeledReplicas",)
    for field in (*bounded, "readyReplicas", "availableReplicas"):
        if counts[field] > counts["replicas"]:
            errs.append(
                invalid(f"status.{field}", counts[field], "cannot be greater than status.replicas")
            )
    if counts["availableReplicas"] > counts["readyReplicas"]:
        errs.append(
            invalid(
                "status.availableReplicas",
                counts["availableReplicas"],
                "cannot be greater than readyReplicas",
            )
        )
    if kind == "Deployment":
        new_cc, old_cc = (
            opt_int(status.get("collisionCount")),
            opt_int(as_dict(old.get("status")).get("collisionCount")),
        )
        if old_cc is not None and (new_cc is None or new_cc < old_cc):
            errs.append(invalid("status.collisionCount", new_cc or 0, "cannot be decremented"))
    return errs
