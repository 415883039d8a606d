"""Conversion between served versions that share storage.

core/v1 Events and events.k8s.io/v1 Events are one stored object in two shapes, as in
kube-apiserver. The store keeps the core/v1 form; the events.k8s.io form is computed at
the boundary. Field correspondences are Kubernetes' (regarding = involvedObject, note =
message, deprecatedCount = count, and so on).
"""

from __future__ import annotations

import copy
from typing import Any

EVENTS_V1 = "events.k8s.io/v1"

# events.k8s.io/v1 name -> core/v1 name, for plain top-level fields.
_RENAMES = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedCount": "count",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedSource": "source",
    "reportingController": "reportingComponent",
}
_SAME = (
    "metadata",
    "eventTime",
    "series",
    "reportingInstance",
    "action",
    "reason",
    "type",
    "related",
)


def event_to_events_v1(core: dict[str, Any]) -> dict[str, Any]:
    """The events.k8s.io/v1 shape of a stored core/v1 Event."""
    out: dict[str, Any] = {"kind": "Event", "apiVersion": EVENTS_V1}
    for name in _SAME:
        if name in core:
            out[name] = copy.deepcopy(core[name])
    for new, old in _RENAMES.items():
        if old in core:
            out[new] = copy.deepcopy(core[old])
    out.setdefault("eventTime", None)
    return out


def event_from_events_v1(ev: dict[str, Any]) -> dict[str, Any]:
    """The core/v1 shape (stored form) of an events.k8s.io/v1 Event."""
    out: dict[str, Any] = {"kind": "Event", "apiVersion": "v1"}
    for name in _SAME:
        if name in ev:
            out[name] = copy.deepcopy(ev[name])
    for new, old in _RENAMES.items():
        if new in ev:
            out[old] = copy.deepcopy(ev[new])
    out.setdefault("involvedObject", {})
    return out
