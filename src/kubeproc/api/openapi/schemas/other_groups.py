"""Schemas of the smaller groups kubeproc serves: coordination.k8s.io/v1
Lease, events.k8s.io/v1 Event, and policy/v1 Eviction (the body of pods/eviction).

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    INT32,
    MICRO_TIME,
    OBJECT_META,
    STRING,
    TIME,
    TYPE_META,
    Package,
    Schema,
    f,
)

coordination = Package("io.k8s.api.coordination.v1")
core = Package("io.k8s.api.core.v1")
events = Package("io.k8s.api.events.v1")
meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")
policy = Package("io.k8s.api.policy.v1")


SCHEMAS: tuple[Schema, ...] = (
    events.struct(
        "Event",
        "A report of something that happened in the cluster (events.k8s.io form).",
        [
            *TYPE_META,
            OBJECT_META,
            f("eventTime", MICRO_TIME, "When the event was first observed. Required."),
            f(
                "series",
                events.ref("EventSeries"),
                "Data about a series of repeated events, if this is one.",
            ),
            f(
                "reportingController",
                STRING,
                "Controller that emitted the event, e.g. kubernetes.io/kubelet.",
            ),
            f("reportingInstance", STRING, "Instance of that controller, e.g. the node name."),
            f("action", STRING, "What was done, or failed, with the regarding object."),
            f("reason", STRING, "Short CamelCase reason for the event."),
            f("regarding", core.ref("ObjectReference"), "The object the event is about."),
            f("related", core.ref("ObjectReference"), "A secondary object involved, if any."),
            f("note", STRING, "Human-readable description of the event."),
            f("type", STRING, "Normal or Warning."),
            f("deprecatedSource", core.ref("EventSource"), "Deprecated core/v1 source field."),
            f("deprecatedFirstTimestamp", TIME, "Deprecated core/v1 firstTimestamp field."),
            f("deprecatedLastTimestamp", TIME, "Deprecated core/v1 lastTimestamp field."),
            f("deprecatedCount", INT32, "Deprecated core/v1 count field."),
        ],
        required=("eventTime",),
    ),
    events.list_kind("Event"),
    events.struct(
        "EventSeries",
        "Data about a series of repeated events.",
        [
            f("count", INT32, "Number of occurrences in the series so far."),
            f("lastObservedTime", MICRO_TIME, "When the last occurrence was seen."),
        ],
        required=("count", "lastObservedTime"),
    ),
    coordination.struct(
        "Lease",
        "A lease held by one holder at a time, used for leader election and node heartbeats.",
        [
            *TYPE_META,
            OBJECT_META,
            f("spec", coordination.ref("LeaseSpec"), "Holder and timing of the lease."),
        ],
    ),
    coordination.list_kind("Lease"),
    coordination.struct(
        "LeaseSpec",
        "Holder and timing of a lease.",
        [
            f("holderIdentity", STRING, "Identity of the current holder."),
            f(
                "leaseDurationSeconds",
                INT32,
                "Seconds a holder must wait after the last renewal before others may take the "
                "lease.",
            ),
            f("acquireTime", MICRO_TIME, "When the current holder acquired the lease."),
            f("renewTime", MICRO_TIME, "When the current holder last renewed the lease."),
            f("leaseTransitions", INT32, "Number of times the lease changed holders."),
            f("strategy", STRING, "Strategy for picking a leader in coordinated leader election."),
            f(
                "preferredHolder",
                STRING,
                "Holder the coordinator would like to take over the lease.",
            ),
        ],
    ),
    policy.struct(
        "Eviction",
        "Asks for a pod to be evicted, subject to disruption budgets. Posted to a pod's "
        "eviction subresource.",
        [
            *TYPE_META,
            f("metadata", meta.ref("ObjectMeta"), "Names the pod to evict."),
            f("deleteOptions", meta.ref("DeleteOptions"), "Options for the deletion that follows."),
        ],
    ),
)
