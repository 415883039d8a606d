"""ObjectMeta, labels, annotations, selectors and the generic field rules.

Mirrors apimachinery's ``api/validation`` (ObjectMeta on create and update) and
``apis/meta/v1/validation`` (labels, label selectors), plus core's extra finalizer-name
check. Every kind's validator starts here, so the order of checks is Go's order: name and
generateName, namespace, generation, labels, annotations, owner references, finalizers.
Namespace *presence* is the server's business (it fills it from the URL); its format is
checked when set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubeproc.api.errors import FieldError, forbidden, invalid, required, too_long
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_list, as_str, child, index, str_map

# name -> prefix? -> messages (apimachinery's ValidateNameFunc).
NameFunc = Callable[[str, bool], list[str]]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
FIELD_IMMUTABLE = "field is immutable"
IS_NEGATIVE = "must be greater than or equal to 0"
_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def _mask_trailing_dash(name: str) -> str:
    """A generateName may end in ``-``; the random suffix makes it valid."""
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return names.is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return names.is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return names.is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def name_is_path_segment(name: str, prefix: bool) -> list[str]:
    return names.is_path_segment_name(name, prefix=prefix)


def nonnegative(value: int, path: str) -> list[FieldError]:
    return [invalid(path, value, IS_NEGATIVE)] if value < 0 else []


def immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    """``ValidateImmutableField``: semantic equality of the decoded JSON."""
    return [] if new == old else [invalid(path, new, FIELD_IMMUTABLE)]


def validate_label_name(name: str, path: str) -> list[FieldError]:
    return [invalid(path, name, msg) for msg in names.is_qualified_name(name)]


def validate_labels(labels: object, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for k, v in str_map(labels).items():
        errs.extend(validate_label_name(k, path))
        errs.extend(invalid(path, v, msg) for msg in names.is_label_value(v))
    return errs


def validate_annotations(annotations: object, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    values = str_map(annotations)
    for k in values:
        # The rule is a qualified name, case-insensitively.
        errs.extend(invalid(path, k, msg) for msg in names.is_qualified_name(k.lower()))
    total = sum(len(k.encode()) + len(v.encode()) for k, v in values.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def validate_label_selector(selector: object, path: str) -> list[FieldError]:
    """A ``metav1.LabelSelector`` (matchLabels and matchExpressions)."""
    if not isinstance(selector, dict):
        return []
    errs = validate_labels(selector.get("matchLabels"), child(path, "matchLabels"))
    for i, expr in enumerate(as_list(selector.get("matchExpressions"))):
        errs.extend(_selector_requirement(as_dict(expr), index(child(path, "matchExpressions"), i)))
    return errs


def _selector_requirement(req: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    op = as_str(req.get("operator"))
    values = [v if isinstance(v, str) else str(v) for v in as_list(req.get("values"))]
    if op in ("In", "NotIn"):
        if not values:
            errs.append(
                required(
                    child(path, "values"), "must be specified when `operator` is 'In' or 'NotIn'"
                )
            )
    elif op in ("Exists", "DoesNotExist"):
        if values:
            errs.append(
                forbidden(
                    child(path, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    else:
        errs.append(invalid(child(path, "operator"), op, "not a valid selector operator"))
    errs.extend(validate_label_name(as_str(req.get("key")), child(path, "key")))
    for i, v in enumerate(values):
        errs.extend(invalid(index(child(path, "values"), i), v, m) for m in names.is_label_value(v))
    return errs


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector selects a label set (an empty selector selects nothing)."""
    match_labels = str_map(selector.get("matchLabels"))
    exprs = [as_dict(e) for e in as_list(selector.get("matchExpressions"))]
    if not match_labels and not exprs:
        return False
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in exprs:
        k, op = as_str(expr.get("key")), as_str(expr.get("operator"))
        values = {str(v) for v in as_list(expr.get("values"))}
        present = k in labels
        if (
            (op == "In" and (not present or labels[k] not in values))
            or (op == "NotIn" and present and labels[k] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def validate_finalizers(finalizers: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for f in finalizers:
        errs.extend(invalid(path, f, msg) for msg in names.is_qualified_name(as_str(f)))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(
            invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set")
        )
    return errs


def validate_kube_finalizer_name(value: str, path: str) -> list[FieldError]:
    """core's extra rule: a finalizer without ``/`` must be a standard one."""
    if "/" not in value and value not in _STANDARD_FINALIZERS:
        return [
            invalid(
                path, value, "name is neither a standard finalizer name nor is it fully qualified"
            )
        ]
    return []


def _owner_references(refs: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    controller = ""
    for raw in refs:
        ref = as_dict(raw)
        api_version, kind = as_str(ref.get("apiVersion")), as_str(ref.get("kind"))
        if not api_version.rpartition("/")[2]:
            errs.append(
                invalid(child(path, "apiVersion"), api_version, "version must not be empty")
            )
        if not kind:
            errs.append(invalid(child(path, "kind"), kind, "must not be empty"))
        for field in ("name", "uid"):
            if not as_str(ref.get(field)):
                errs.append(invalid(child(path, field), "", "must not be empty"))
        if api_version == "v1" and kind == "Event":
            errs.append(invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{as_str(ref.get('name'))}"
            if controller:
                errs.append(
                    invalid(
                        path,
                        refs,
                        'Only one reference can have Controller set to true. Found "true" in '
                        f"references for {controller} and {current}",
                    )
                )
            else:
                controller = current
    return errs


def validate_object_meta(
    obj: dict[str, Any], name_fn: NameFunc, *, kube_finalizers: bool = True, path: str = "metadata"
) -> list[FieldError]:
    """``ValidateObjectMeta`` on create (core's variant unless ``kube_finalizers`` is off)."""
    meta = as_dict(obj.get("metadata"))
    errs: list[FieldError] = []
    generate = as_str(meta.get("generateName"))
    name = as_str(meta.get("name"))
    if generate:
        errs.extend(
            invalid(child(path, "generateName"), generate, m) for m in name_fn(generate, True)
        )
    if not name:
        # The server turns generateName into a name before validating.
        if not generate:
            errs.append(required(child(path, "name"), "name or generateName is required"))
    else:
        errs.extend(invalid(child(path, "name"), name, m) for m in name_fn(name, False))
    errs.extend(_common(meta, path))
    if kube_finalizers:
        for i, f in enumerate(as_list(meta.get("finalizers"))):
            errs.extend(
                validate_kube_finalizer_name(as_str(f), index(child(path, "finalizers"), i))
            )
    return errs


def _common(meta: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    namespace = as_str(meta.get("namespace"))
    if namespace:
        errs.extend(
            invalid(child(path, "namespace"), namespace, m)
            for m in name_is_dns_label(namespace, False)
        )
    generation = meta.get("generation")
    if isinstance(generation, int):
        errs.extend(nonnegative(generation, child(path, "generation")))
    errs.extend(validate_labels(meta.get("labels"), child(path, "labels")))
    errs.extend(validate_annotations(meta.get("annotations"), child(path, "annotations")))
    errs.extend(
        _owner_references(as_list(meta.get("ownerReferences")), child(path, "ownerReferences"))
    )
    errs.extend(validate_finalizers(as_list(meta.get("finalizers")), child(path, "finalizers")))
    return errs


def validate_object_meta_update(
    new: dict[str, Any], old: dict[str, Any], *, kube_finalizers: bool = True
) -> list[FieldError]:
    """``ValidateObjectMetaUpdate``.

    The resourceVersion rule ("must be specified for an update") is left out: every served
    kind allows unconditional updates, so the real store fills the version in before
    validating and that error can never reach a client.
    """
    nm, om = as_dict(new.get("metadata")), as_dict(old.get("metadata"))
    errs: list[FieldError] = []
    if om.get("deletionTimestamp"):
        added = sorted(
            {as_str(f) for f in as_list(nm.get("finalizers"))}
            - {as_str(f) for f in as_list(om.get("finalizers"))}
        )
        if added:
            detail = ", ".join(f'"{f}"' for f in added)
            errs.append(
                forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{detail}}}",
                )
            )
    new_gen, old_gen = nm.get("generation", 0), om.get("generation", 0)
    if isinstance(new_gen, int) and isinstance(old_gen, int) and new_gen < old_gen:
        errs.append(invalid("metadata.generation", new_gen, "must not be decremented"))
    for field in ("name", "namespace", "uid", "creationTimestamp"):
        errs.extend(immutable(nm.get(field, ""), om.get(field, ""), f"metadata.{field}"))
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds"):
        errs.extend(immutable(nm.get(field), om.get(field), f"metadata.{field}"))
    errs.extend(validate_labels(nm.get("labels"), "metadata.labels"))
    errs.extend(validate_annotations(nm.get("annotations"), "metadata.annotations"))
    errs.extend(_owner_references(as_list(nm.get("ownerReferences")), "metadata.ownerReferences"))
    if kube_finalizers:
        for i, f in enumerate(as_list(nm.get("finalizers"))):
            errs.extend(validate_kube_finalizer_name(as_str(f), f"metadata.finalizers[{i}]"))
    return errs
