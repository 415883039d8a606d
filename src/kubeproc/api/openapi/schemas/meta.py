"""Schemas of apimachinery's meta/v1 types every kind uses: ObjectMeta, ListMeta,
owner references, managed fields, label selectors, conditions, Status and DeleteOptions.

The primitive-like schemas (Quantity, Time, IntOrString, ...) sit in ``primitives.py``.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    BOOL,
    FIELDS_V1,
    INT32,
    INT64,
    STRING,
    TIME,
    TYPE_META,
    Package,
    Schema,
    f,
    list_of,
    map_of,
)

meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")


SCHEMAS: tuple[Schema, ...] = (
    meta.struct(
        "Condition",
        "One aspect of an object's state, in the standard condition shape.",
        [
            f("type", STRING, "Condition type, in CamelCase."),
            f("status", STRING, "True, False or Unknown."),
            f("observedGeneration", INT64, "The metadata.generation this condition was set for."),
            f("lastTransitionTime", TIME, "When status last changed."),
            f("reason", STRING, "Short CamelCase reason for the last transition."),
            f("message", STRING, "Human-readable detail about the last transition."),
        ],
        required=("type", "status", "lastTransitionTime", "reason", "message"),
    ),
    meta.struct(
        "DeleteOptions",
        "Options for a delete request.",
        [
            *TYPE_META,
            f(
                "gracePeriodSeconds",
                INT64,
                "Seconds the object gets to terminate; 0 means immediately. Defaults to the "
                "object's own value.",
            ),
            f(
                "preconditions",
                meta.ref("Preconditions"),
                "Conditions that must hold for the delete to proceed.",
            ),
            f("orphanDependents", BOOL, "Deprecated: use propagationPolicy."),
            f(
                "propagationPolicy",
                STRING,
                "What happens to dependents: Orphan, Background or Foreground.",
            ),
            f(
                "dryRun",
                list_of(STRING),
                "When set to All, validate the request without persisting it.",
                list_type="atomic",
            ),
            f(
                "ignoreStoreReadErrorWithClusterBreakingPotential",
                BOOL,
                "Delete an object that cannot be read from storage. Dangerous; needs extra "
                "permission.",
            ),
        ],
    ),
    meta.struct(
        "Preconditions",
        "Conditions a write requires.",
        [
            f("uid", STRING, "The object must have this UID."),
            f("resourceVersion", STRING, "The object must have this resource version."),
        ],
    ),
    meta.struct(
        "LabelSelector",
        "A label query. matchLabels and matchExpressions are ANDed; an empty selector matches "
        "everything and a null one nothing.",
        [
            f("matchLabels", map_of(STRING), "Labels that must all be present with these values."),
            f(
                "matchExpressions",
                list_of(meta.ref("LabelSelectorRequirement")),
                "Requirements that must all hold.",
                list_type="atomic",
            ),
        ],
        atomic=True,
    ),
    meta.struct(
        "LabelSelectorRequirement",
        "A key, an operator and values that a label must satisfy.",
        [
            f("key", STRING, "Label key."),
            f("operator", STRING, "In, NotIn, Exists or DoesNotExist."),
            f(
                "values",
                list_of(STRING),
                "Values to compare with; empty for Exists and DoesNotExist.",
                list_type="atomic",
            ),
        ],
        required=("key", "operator"),
    ),
    meta.struct(
        "ObjectMeta",
        "Metadata every persisted object has: identity, labels and annotations, ownership and "
        "bookkeeping.",
        [
            f(
                "name",
                STRING,
                "Name, unique within the namespace (or cluster, for cluster-scoped kinds). "
                "Required on create unless generateName is set. Cannot be changed.",
            ),
            f(
                "generateName",
                STRING,
                "Prefix from which the server makes a unique name when name is empty.",
            ),
            f(
                "namespace",
                STRING,
                'Namespace the object lives in. Empty means "default" for namespaced kinds; '
                "cluster-scoped kinds have none.",
            ),
            f("selfLink", STRING, "Deprecated and no longer set."),
            f(
                "uid",
                STRING,
                "Unique identifier of this object over the cluster's lifetime, set by the "
                "server. Read-only.",
            ),
            f(
                "resourceVersion",
                STRING,
                "Opaque version of the object, changed on every write. Used for optimistic "
                "concurrency and watches.",
            ),
            f(
                "generation",
                INT64,
                "Sequence number of changes to the desired state, set by the server. Read-only.",
            ),
            f(
                "creationTimestamp",
                TIME,
                "When the object was created, set by the server. Read-only.",
            ),
            f(
                "deletionTimestamp",
                TIME,
                "When the object will be deleted, set by the server once deletion was "
                "requested. Read-only.",
            ),
            f(
                "deletionGracePeriodSeconds",
                INT64,
                "Seconds the object has left to terminate gracefully, once deletion was "
                "requested. Read-only.",
            ),
            f("labels", map_of(STRING), "Key-value pairs used to organize and select objects."),
            f(
                "annotations",
                map_of(STRING),
                "Arbitrary key-value metadata for tools and extensions. Not used for selection.",
            ),
            f(
                "ownerReferences",
                list_of(meta.ref("OwnerReference")),
                "Objects this object depends on. It is garbage collected when all its owners "
                "are gone.",
                list_type="map",
                map_keys=("uid",),
                patch="merge",
                merge_key="uid",
            ),
            f(
                "finalizers",
                list_of(STRING),
                "Conditions that must be cleared, each by its controller, before the object is "
                "removed from storage.",
                list_type="set",
                patch="merge",
            ),
            f(
                "managedFields",
                list_of(meta.ref("ManagedFieldsEntry")),
                "Which field managers own which fields. Maintained by the server for "
                "server-side apply.",
                list_type="atomic",
            ),
        ],
    ),
    meta.struct(
        "OwnerReference",
        "Identifies an owner of an object. The owner must be in the same namespace or "
        "cluster-scoped.",
        [
            f("apiVersion", STRING, "API version of the owner."),
            f("kind", STRING, "Kind of the owner."),
            f("name", STRING, "Name of the owner."),
            f("uid", STRING, "UID of the owner."),
            f(
                "controller",
                BOOL,
                "True if this owner is the managing controller. At most one owner may say so.",
            ),
            f(
                "blockOwnerDeletion",
                BOOL,
                "With foreground deletion, keep the owner until this object is deleted.",
            ),
        ],
        required=("apiVersion", "kind", "name", "uid"),
        atomic=True,
    ),
    meta.struct(
        "ManagedFieldsEntry",
        "The fields one manager owns, as recorded for server-side apply.",
        [
            f("manager", STRING, "Name of the field manager."),
            f("operation", STRING, "Apply or Update: the kind of write that set these fields."),
            f("apiVersion", STRING, "API version the fieldset is expressed in."),
            f("time", TIME, "When the fields were last changed by this manager."),
            f("fieldsType", STRING, "Format of the fieldset; always FieldsV1."),
            f("fieldsV1", FIELDS_V1, "The owned fields, as a set."),
            f(
                "subresource",
                STRING,
                "Subresource written through, e.g. status. Empty for the main resource.",
            ),
        ],
    ),
    meta.struct(
        "Status",
        "The result of an operation that does not return an object, mostly errors.",
        [
            *TYPE_META,
            f("metadata", meta.ref("ListMeta"), "Standard list metadata."),
            f("status", STRING, "Success or Failure."),
            f("message", STRING, "Human-readable description of the outcome."),
            f(
                "reason",
                STRING,
                "Machine-readable CamelCase reason, e.g. NotFound. Empty when unknown.",
            ),
            f(
                "details",
                meta.ref("StatusDetails"),
                "More about the reason; its shape depends on the reason.",
            ),
            f("code", INT32, "HTTP status code of the outcome."),
        ],
    ),
    meta.struct(
        "ListMeta",
        "Metadata of a list response.",
        [
            f("selfLink", STRING, "Deprecated and no longer set."),
            f(
                "resourceVersion",
                STRING,
                "Version of the collection at the time of the list; use it to start a watch.",
            ),
            f(
                "continue",
                STRING,
                "Token for fetching the next page when the list was limited. Empty on the last "
                "page.",
            ),
            f(
                "remainingItemCount",
                INT64,
                "Number of items after this page, when known. An estimate when the list has a "
                "selector.",
            ),
        ],
    ),
    meta.struct(
        "StatusDetails",
        "More about a failure: which object, and the causes.",
        [
            f("name", STRING, "Name of the object concerned."),
            f("group", STRING, "API group of the object concerned."),
            f("kind", STRING, "Kind of the object concerned."),
            f("uid", STRING, "UID of the object concerned."),
            f(
                "causes",
                list_of(meta.ref("StatusCause")),
                "Individual problems, for example one per invalid field.",
                list_type="atomic",
            ),
            f(
                "retryAfterSeconds",
                INT32,
                "Seconds to wait before retrying, when retrying makes sense.",
            ),
        ],
    ),
    meta.struct(
        "StatusCause",
        "One cause of a failure.",
        [
            f("reason", STRING, "Machine-readable cause, e.g. FieldValueInvalid."),
            f("message", STRING, "Human-readable description of the cause."),
            f("field", STRING, "Path of the field concerned, e.g. spec.containers[0].name."),
        ],
    ),
)
