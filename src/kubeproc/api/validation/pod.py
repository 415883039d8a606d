"""Pods: create, update (near-total immutability), status update, and pod templates.

Mirrors ``ValidatePodCreate``, ``ValidatePodUpdate``, ``ValidatePodStatusUpdate`` and
``ValidatePodTemplateSpec``. An update may only change container images, the active
deadline (downwards), add tolerations, remove scheduling gates, and lift a negative grace
period to 1; anything else is one ``Forbidden`` on ``spec`` whose first line is the real
server's, followed by a diff of what changed. (The real diff is go-cmp's, which
deliberately randomises its spacing, so no client can match it byte for byte; ours lists
the changed spec fields as ``-``/``+`` JSON lines.)
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kubeproc.api.errors import FieldError, forbidden, invalid, required
from kubeproc.api.validation import names
from kubeproc.api.validation.containers import validate_image_whitespace
from kubeproc.api.validation.fields import as_dict, as_list, as_str, child, index, key, opt_int
from kubeproc.api.validation.meta import (
    immutable,
    name_is_dns_subdomain,
    validate_annotations,
    validate_label_name,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from kubeproc.api.validation.podspec import validate_pod_spec, validate_tolerations

_MAX_INT32 = 2**31 - 1
_MIRROR = "kubernetes.io/config.mirror"
_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
UPDATABLE_POD_SPEC_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
POD_UPDATE_FORBIDDEN = "pod updates may not change fields other than " + ",".join(
    UPDATABLE_POD_SPEC_FIELDS
)


def _pod_annotations(annotations: object, spec: dict[str, Any], path: str) -> list[FieldError]:
    """``ValidatePodSpecificAnnotations``: the mirror-pod and deletion-cost annotations."""
    values = as_dict(annotations)
    errs: list[FieldError] = []
    if _MIRROR in values and not as_str(spec.get("nodeName")):
        errs.append(
            invalid(
                key(path, _MIRROR),
                values[_MIRROR],
                "must set spec.nodeName if mirror pod annotation is set",
            )
        )
    if _DELETION_COST in values:
        try:
            cost = int(as_str(values[_DELETION_COST]))
        except ValueError:
            cost = None
        if cost is None or not -(2**31) <= cost <= _MAX_INT32:
            errs.append(
                invalid(
                    key(path, _DELETION_COST), values[_DELETION_COST], "must be a 32bit integer"
                )
            )
    return errs


def _metadata_and_spec(pod: dict[str, Any]) -> list[FieldError]:
    spec = as_dict(pod.get("spec"))
    meta = as_dict(pod.get("metadata"))
    errs = validate_object_meta(pod, name_is_dns_subdomain)
    errs.extend(_pod_annotations(meta.get("annotations"), spec, "metadata.annotations"))
    errs.extend(validate_pod_spec(spec, "spec", is_pod=True))
    if not as_str(spec.get("serviceAccountName")):
        for vi, volume in enumerate(as_list(spec.get("volumes"))):
            sources = as_list(as_dict(as_dict(volume).get("projected")).get("sources"))
            for si, source in enumerate(sources):
                if as_dict(source).get("serviceAccountToken") is not None:
                    spath = f"spec.volumes[{vi}].projected.sources[{si}].serviceAccountToken"
                    errs.append(
                        forbidden(spath, "must not be specified when serviceAccountName is not set")
                    )
    for field in ("containers", "initContainers"):
        for i, ctr in enumerate(as_list(spec.get(field))):
            errs.extend(validate_image_whitespace(as_dict(ctr), index(f"spec.{field}", i)))
    return errs


def validate_pod_create(pod: dict[str, Any]) -> list[FieldError]:
    errs = _metadata_and_spec(pod)
    spec = as_dict(pod.get("spec"))
    if as_list(spec.get("ephemeralContainers")):
        errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if as_str(spec.get("nodeName")) and as_list(spec.get("schedulingGates")):
        errs.append(
            forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared")
        )
    return errs


def _container_updates(new: list[Any], old: list[Any], path: str) -> tuple[list[FieldError], bool]:
    if len(new) != len(old):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    errs: list[FieldError] = []
    for i, ctr in enumerate(new):
        image = as_str(as_dict(ctr).get("image"))
        if not image:
            errs.append(required(child(index(path, i), "image")))
        if image.strip() != image:
            errs.append(
                invalid(
                    child(index(path, i), "image"),
                    image,
                    "must not have leading or trailing whitespace",
                )
            )
    return errs, False


def _toleration_identity(toleration: object) -> dict[str, Any]:
    """A toleration without its (mutable) seconds and without zero-valued fields."""
    return {
        k: v
        for k, v in as_dict(toleration).items()
        if k != "tolerationSeconds" and v not in (None, "")
    }


def _only_added_tolerations(new: list[Any], old: list[Any]) -> list[FieldError]:
    current = [_toleration_identity(t) for t in new]
    for prior in old:
        if _toleration_identity(prior) not in current:
            return [
                forbidden(
                    "spec.tolerations",
                    "existing toleration can not be modified except its tolerationSeconds",
                )
            ]
    return validate_tolerations(new, "spec.tolerations")


def _deadline_update(
    new_spec: dict[str, Any], old_spec: dict[str, Any]
) -> tuple[list[FieldError], bool]:
    new_d = opt_int(new_spec.get("activeDeadlineSeconds"))
    old_d = opt_int(old_spec.get("activeDeadlineSeconds"))
    path = "spec.activeDeadlineSeconds"
    if new_d is not None:
        if not 0 <= new_d <= _MAX_INT32:
            return [invalid(path, new_d, names.inclusive_range_error(0, _MAX_INT32))], True
        if old_d is not None and old_d < new_d:
            return [invalid(path, new_d, "must be less than or equal to previous value")], True
    elif old_d is not None:
        return [invalid(path, None, "must not update from a positive integer to nil value")], False
    return [], False


def validate_pod_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    errs.extend(_metadata_and_spec(new))
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    for field in ("containers", "initContainers"):
        cerrs, stop = _container_updates(
            as_list(new_spec.get(field)), as_list(old_spec.get(field)), f"spec.{field}"
        )
        errs.extend(cerrs)
        if stop:
            return errs
    derrs, stop = _deadline_update(new_spec, old_spec)
    errs.extend(derrs)
    if stop:
        return errs
    errs.extend(
        _only_added_tolerations(
            as_list(new_spec.get("tolerations")), as_list(old_spec.get("tolerations"))
        )
    )
    errs.extend(_only_removed_gates(new_spec, old_spec))
    if prune(new_spec) == prune(old_spec):
        return errs
    munged = _munge(new_spec, old_spec)
    if prune(munged) != prune(old_spec):
        errs.append(forbidden("spec", POD_UPDATE_FORBIDDEN + "\n" + spec_diff(old_spec, munged)))
    return errs


def _only_removed_gates(new_spec: dict[str, Any], old_spec: dict[str, Any]) -> list[FieldError]:
    old_names = {as_str(as_dict(g).get("name")) for g in as_list(old_spec.get("schedulingGates"))}
    errs: list[FieldError] = []
    for i, gate in enumerate(as_list(new_spec.get("schedulingGates"))):
        gname = as_str(as_dict(gate).get("name"))
        if gname not in old_names:
            errs.append(
                forbidden(
                    f"spec.schedulingGates[{i}].name",
                    f"only deletion is allowed, but found new scheduling gate '{gname}'",
                )
            )
    return errs


def prune(value: Any) -> Any:
    """Drop nulls, empty lists and empty objects: Go's semantic equality ignores them."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def _munge(new_spec: dict[str, Any], old_spec: dict[str, Any]) -> dict[str, Any]:
    """The new spec with every field an update may change put back to the old value."""
    munged = copy.deepcopy(new_spec)
    for field in ("containers", "initContainers"):
        olds = as_list(old_spec.get(field))
        for i, ctr in enumerate(as_list(munged.get(field))):
            if isinstance(ctr, dict) and i < len(olds):
                ctr["image"] = as_dict(olds[i]).get("image")
                if ctr["image"] is None:
                    del ctr["image"]
    for field in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        if field in old_spec:
            munged[field] = copy.deepcopy(old_spec[field])
        else:
            munged.pop(field, None)
    old_grace = opt_int(old_spec.get("terminationGracePeriodSeconds"))
    if (
        old_grace is not None
        and old_grace < 0
        and opt_int(munged.get("terminationGracePeriodSeconds")) == 1
    ):
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def spec_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """A compact diff of the changed top-level spec fields, in the spirit of go-cmp."""
    lines = ["  core.PodSpec{"]
    for field in sorted(set(old) | set(new)):
        if prune(old.get(field)) == prune(new.get(field)):
            continue
        if field in old:
            lines.append(f"- \t{field}: {json.dumps(old[field], sort_keys=True)},")
        if field in new:
            lines.append(f"+ \t{field}: {json.dumps(new[field], sort_keys=True)},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def _state_transitions(
    new_statuses: list[Any], old_statuses: list[Any], path: str, policy: str, skip: set[str]
) -> list[FieldError]:
    if policy == "Always":
        return []
    errs: list[FieldError] = []
    for i, raw in enumerate(old_statuses):
        prior = as_dict(raw)
        terminated = as_dict(prior.get("state")).get("terminated")
        if terminated is None or as_str(prior.get("name")) in skip:
            continue
        if as_dict(terminated).get("exitCode", 0) != 0 and policy == "OnFailure":
            continue
        for now in new_statuses:
            cur = as_dict(now)
            if (
                cur.get("name") == prior.get("name")
                and as_dict(cur.get("state")).get("terminated") is None
            ):
                errs.append(
                    forbidden(
                        child(index(path, i), "state"),
                        "may not be transitioned to non-terminated state",
                    )
                )
    return errs


def validate_pod_status_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    new_meta = as_dict(new.get("metadata"))
    errs.extend(
        _pod_annotations(
            new_meta.get("annotations"), as_dict(new.get("spec")), "metadata.annotations"
        )
    )
    status, old_status = as_dict(new.get("status")), as_dict(old.get("status"))
    for i, cond in enumerate(as_list(status.get("conditions"))):
        ctype = as_str(as_dict(cond).get("type"))
        if ctype not in ("PodScheduled", "Ready", "Initialized"):
            # Go reports these under metadata (sic).
            errs.extend(validate_label_name(ctype, f"metadata.conditions[{i}].Type"))
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    if new_spec.get("nodeName", "") != old_spec.get("nodeName", ""):
        errs.append(forbidden("status.nodeName", "may not be changed directly"))
    nominated = as_str(status.get("nominatedNodeName"))
    if nominated and nominated != as_str(old_status.get("nominatedNodeName")):
        errs.extend(
            invalid("status.nominatedNodeName", nominated, m)
            for m in names.is_dns1123_subdomain(nominated)
        )
    errs.extend(
        immutable(status.get("qosClass", ""), old_status.get("qosClass", ""), "status.qosClass")
    )
    policy = as_str(old_spec.get("restartPolicy"))
    sidecars = {
        as_str(as_dict(c).get("name"))
        for c in as_list(old_spec.get("initContainers"))
        if as_dict(c).get("restartPolicy") == "Always"
    }
    for field, skip in (("containerStatuses", set()), ("initContainerStatuses", sidecars)):
        errs.extend(
            _state_transitions(
                as_list(status.get(field)),
                as_list(old_status.get(field)),
                f"status.{field}",
                policy,
                skip,
            )
        )
    for i, pod_ip in enumerate(as_list(status.get("podIPs"))):
        ip = as_str(as_dict(pod_ip).get("ip"))
        errs.extend(invalid(f"status.podIPs[{i}]", ip, m) for m in names.is_valid_ip(ip))
    return errs


def validate_pod_template_spec(template: dict[str, Any], path: str) -> list[FieldError]:
    """``ValidatePodTemplateSpec``: template labels, annotations and pod spec."""
    meta = as_dict(template.get("metadata"))
    spec = as_dict(template.get("spec"))
    errs = validate_labels(meta.get("labels"), child(path, "labels"))
    errs.extend(validate_annotations(meta.get("annotations"), child(path, "annotations")))
    errs.extend(_pod_annotations(meta.get("annotations"), spec, child(path, "annotations")))
    errs.extend(validate_pod_spec(spec, child(path, "spec"), is_pod=False))
    if as_list(spec.get("ephemeralContainers")):
        errs.append(
            forbidden(
                child(path, "spec", "ephemeralContainers"),
                "ephemeral containers not allowed in pod template",
            )
        )
    return errs
