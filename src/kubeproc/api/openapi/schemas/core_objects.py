"""Schemas of the remaining core/v1 kinds: ConfigMap, Secret, ServiceAccount,
Event and ReplicationController, plus the object references they share.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    BOOL,
    BYTES,
    INT32,
    INT64,
    MICRO_TIME,
    OBJECT_META,
    STRING,
    TIME,
    TYPE_META,
    Package,
    Schema,
    f,
    list_of,
    map_of,
)

core = Package("io.k8s.api.core.v1")


SCHEMAS: tuple[Schema, ...] = (
    core.struct(
        "ConfigMap",
        "Non-secret configuration data, as key-value pairs, for pods to consume.",
        [
            *TYPE_META,
            OBJECT_META,
            f(
                "immutable",
                BOOL,
                "When true, data and binaryData cannot be changed; only metadata can. Cannot be "
                "unset.",
            ),
            f(
                "data",
                map_of(STRING),
                "UTF-8 configuration values by key. Keys must consist of letters, digits, '-', "
                "'_' or '.'.",
            ),
            f(
                "binaryData",
                map_of(BYTES),
                "Binary configuration values by key, base64-encoded in JSON. Keys must not "
                "repeat those in data.",
            ),
        ],
    ),
    core.list_kind("ConfigMap"),
    core.struct(
        "Event",
        "A report of something that happened to an object, such as a pod being scheduled or a "
        "probe failing.",
        [
            *TYPE_META,
            OBJECT_META,
            f("involvedObject", core.ref("ObjectReference"), "The object the event is about."),
            f("reason", STRING, "Short CamelCase reason for the event, for machines."),
            f("message", STRING, "Human-readable description of the event."),
            f(
                "source",
                core.ref("EventSource"),
                "Component that reported the event. Older than reportingComponent.",
            ),
            f("firstTimestamp", TIME, "When the event was first recorded."),
            f("lastTimestamp", TIME, "When the event was most recently recorded."),
            f("count", INT32, "How many times the event has occurred."),
            f("type", STRING, "Normal or Warning."),
            f(
                "eventTime",
                MICRO_TIME,
                "When the event was first observed, with microsecond precision.",
            ),
            f(
                "series",
                core.ref("EventSeries"),
                "Data about a series of repeated events, if this is one.",
            ),
            f("action", STRING, "What was done, or failed, with the involved object."),
            f("related", core.ref("ObjectReference"), "A secondary object involved, if any."),
            f(
                "reportingComponent",
                STRING,
                "Controller that emitted the event, e.g. kubernetes.io/kubelet.",
            ),
            f("reportingInstance", STRING, "Instance of that controller, e.g. the node name."),
        ],
        required=("metadata", "involvedObject"),
    ),
    core.list_kind("Event"),
    core.struct(
        "ObjectReference",
        "A reference to any object, possibly to a field inside it.",
        [
            f("kind", STRING, "Kind of the referent."),
            f("namespace", STRING, "Namespace of the referent."),
            f("name", STRING, "Name of the referent."),
            f("uid", STRING, "UID of the referent."),
            f("apiVersion", STRING, "API version of the referent."),
            f(
                "resourceVersion",
                STRING,
                "Resource version of the referent, if a specific one is meant.",
            ),
            f("fieldPath", STRING, "Part of the object meant, e.g. spec.containers{name}."),
        ],
        atomic=True,
    ),
    core.struct(
        "EventSource",
        "A component that reported an event.",
        [
            f("component", STRING, "Component name."),
            f("host", STRING, "Node the component runs on."),
        ],
    ),
    core.struct(
        "EventSeries",
        "Data about a series of repeated events.",
        [
            f("count", INT32, "Number of occurrences in the series so far."),
            f("lastObservedTime", MICRO_TIME, "When the last occurrence was seen."),
        ],
    ),
    core.struct(
        "ReplicationController",
        "Keeps a number of copies of a pod template running. Superseded by ReplicaSet and "
        "Deployment.",
        [
            *TYPE_META,
            OBJECT_META,
            f(
                "spec",
                core.ref("ReplicationControllerSpec"),
                "Desired behaviour of the replication controller.",
            ),
            f(
                "status",
                core.ref("ReplicationControllerStatus"),
                "Most recently observed state of the replication controller.",
            ),
        ],
    ),
    core.list_kind("ReplicationController"),
    core.struct(
        "ReplicationControllerSpec",
        "Desired behaviour of a replication controller.",
        [
            f("replicas", INT32, "Number of pods wanted. Defaults to 1."),
            f(
                "minReadySeconds",
                INT32,
                "Seconds a new pod must be ready, with no container crashing, to count as "
                "available. Defaults to 0.",
            ),
            f(
                "selector",
                map_of(STRING),
                "Label query for the pods counted. Defaults to the template's labels.",
                map_type="atomic",
            ),
            f(
                "template",
                core.ref("PodTemplateSpec"),
                "Pod template used when there are too few pods.",
            ),
        ],
    ),
    core.struct(
        "ReplicationControllerStatus",
        "Observed state of a replication controller.",
        [
            f("replicas", INT32, "Number of pods most recently observed."),
            f("fullyLabeledReplicas", INT32, "Number of pods whose labels match the template's."),
            f("readyReplicas", INT32, "Number of ready pods."),
            f(
                "availableReplicas",
                INT32,
                "Number of pods that have been ready for at least minReadySeconds.",
            ),
            f("observedGeneration", INT64, "Most recent generation observed by the controller."),
            f(
                "conditions",
                list_of(core.ref("ReplicationControllerCondition")),
                "Current conditions of the replication controller.",
                list_type="map",
                map_keys=("type",),
                patch="merge",
                merge_key="type",
            ),
        ],
        required=("replicas",),
    ),
    core.struct(
        "ReplicationControllerCondition",
        "One aspect of a replication controller's state.",
        [
            f("type", STRING, "Condition type."),
            f("status", STRING, "True, False or Unknown."),
            f("lastTransitionTime", TIME, "When status last changed."),
            f("reason", STRING, "Short CamelCase reason for the last transition."),
            f("message", STRING, "Human-readable detail about the last transition."),
        ],
        required=("type", "status"),
    ),
    core.struct(
        "Secret",
        "Sensitive data, such as passwords or keys, stored as key-value pairs.",
        [
            *TYPE_META,
            OBJECT_META,
            f(
                "immutable",
                BOOL,
                "When true, data cannot be changed; only metadata can. Cannot be unset.",
            ),
            f("data", map_of(BYTES), "Secret values by key, base64-encoded in JSON."),
            f(
                "stringData",
                map_of(STRING),
                "Write-only convenience: plain-text values merged into data on write, winning "
                "over data. Never returned on read.",
            ),
            f(
                "type",
                STRING,
                "What the secret holds and which keys it must have, e.g. Opaque or "
                "kubernetes.io/tls.",
            ),
        ],
    ),
    core.list_kind("Secret"),
    core.struct(
        "ServiceAccount",
        "An identity for processes running in pods.",
        [
            *TYPE_META,
            OBJECT_META,
            f(
                "secrets",
                list_of(core.ref("ObjectReference")),
                "Secrets pods using this account may use. Deprecated for token secrets.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f(
                "imagePullSecrets",
                list_of(core.ref("LocalObjectReference")),
                "Registry credentials added to every pod that uses this account.",
                list_type="atomic",
            ),
            f(
                "automountServiceAccountToken",
                BOOL,
                "Whether pods using this account get an API token mounted by default. A pod can "
                "override it.",
            ),
        ],
    ),
    core.list_kind("ServiceAccount"),
    core.struct(
        "LocalObjectReference",
        "A reference by name to an object in the same namespace.",
        [
            f("name", STRING, "Name of the referent."),
        ],
        atomic=True,
    ),
)
