"""Events, in both served shapes (core/v1 and events.k8s.io/v1).

Mirrors ``ValidateEventCreate``/``ValidateEventUpdate``: every event passes the legacy
rules (involved object's namespace, and for new-style events the reporting fields and
length limits); events written through events.k8s.io/v1 also get strict rules (metadata,
eventTime, series, type, no deprecated fields, and immutability on update). Go validates
the internal object, so paths use core's names (``involvedObject``, ``message``,
``reportingController``) whichever shape the client sent.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, invalid, required
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_int, as_str
from kubeproc.api.validation.meta import (
    immutable,
    name_is_dns_subdomain,
    validate_object_meta,
    validate_object_meta_update,
)

# events.k8s.io/v1 field -> core/v1 (internal) field.
_FROM_EVENTS_V1 = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedCount": "count",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedSource": "source",
}
_IMMUTABLE = (
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "reason",
    "type",
    "eventTime",
    "action",
    "related",
    "reportingController",
    "reportingInstance",
)


def internal_view(event: dict[str, Any], *, events_v1: bool) -> dict[str, Any]:
    """The event with internal field names (``reportingController``, ``involvedObject``…)."""
    view = dict(event)
    if events_v1:
        for new, old in _FROM_EVENTS_V1.items():
            view.pop(new, None)
            if new in event:
                view[old] = event[new]
    else:
        view.pop("reportingComponent", None)
        if "reportingComponent" in event:
            view["reportingController"] = event["reportingComponent"]
    return view


def _legacy(ev: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    namespace = as_str(as_dict(ev.get("metadata")).get("namespace"))
    involved_ns = as_str(as_dict(ev.get("involvedObject")).get("namespace"))
    mismatch = invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")
    if not ev.get("eventTime"):
        if (not involved_ns and namespace not in ("", "default")) or (
            involved_ns and namespace != involved_ns
        ):
            errs.append(mismatch)
    else:
        if not involved_ns and namespace not in ("default", "kube-system"):
            errs.append(mismatch)
        controller = as_str(ev.get("reportingController"))
        if not controller:
            errs.append(required("reportingController"))
        errs.extend(
            invalid("reportingController", controller, m)
            for m in names.is_qualified_name(controller)
        )
        for field, limit in (("reportingInstance", 128), ("action", 128), ("reason", 128)):
            value = as_str(ev.get(field))
            if not value:
                errs.append(required(field))
            if len(value) > limit:
                errs.append(invalid(field, "", f"can have at most {limit} characters"))
        if len(as_str(ev.get("message"))) > 1024:
            errs.append(invalid("message", "", "can have at most 1024 characters"))
    errs.extend(invalid("namespace", namespace, m) for m in names.is_dns1123_subdomain(namespace))
    return errs


def _series(ev: dict[str, Any]) -> list[FieldError]:
    series = ev.get("series")
    if series is None:
        return []
    errs: list[FieldError] = []
    if as_int(as_dict(series).get("count")) < 2:
        errs.append(invalid("series.count", "", "should be at least 2"))
    if not as_dict(series).get("lastObservedTime"):
        errs.append(required("series.lastObservedTime"))
    return errs


def validate_event(event: dict[str, Any], *, events_v1: bool) -> list[FieldError]:
    ev = internal_view(event, events_v1=events_v1)
    errs = _legacy(ev)
    if not events_v1:
        return errs
    errs.extend(validate_object_meta(ev, name_is_dns_subdomain))
    errs.extend(_series(ev))
    if not ev.get("eventTime"):
        errs.append(required("eventTime"))
    etype = as_str(ev.get("type"))
    if etype not in ("Normal", "Warning"):
        errs.append(invalid("type", "", f"has invalid value: {etype}"))
    for field in ("firstTimestamp", "lastTimestamp"):
        if ev.get(field):
            errs.append(invalid(field, "", "needs to be unset"))
    if as_int(ev.get("count")):
        errs.append(invalid("count", "", "needs to be unset"))
    source = as_dict(ev.get("source"))
    if as_str(source.get("component")) or as_str(source.get("host")):
        errs.append(invalid("source", "", "needs to be unset"))
    return errs


def validate_event_update(
    new: dict[str, Any], old: dict[str, Any], *, events_v1: bool
) -> list[FieldError]:
    nv = internal_view(new, events_v1=events_v1)
    ov = internal_view(old, events_v1=events_v1)
    errs = _legacy(nv)
    if not events_v1:
        return errs
    errs.extend(validate_object_meta_update(nv, ov))
    if nv.get("series") != ov.get("series"):
        errs.extend(_series(nv))
    for field in _IMMUTABLE:
        errs.extend(immutable(_zero(nv.get(field)), _zero(ov.get(field)), field))
    return errs


def _zero(value: object) -> object:
    """Go compares structs, where an absent field and its zero value are the same."""
    return None if value in (None, "", 0, [], {}) else value
