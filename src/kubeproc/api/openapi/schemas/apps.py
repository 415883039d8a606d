"""Schemas of apps/v1 Deployment and ReplicaSet, and of autoscaling/v1 Scale, the
body of their (and ReplicationController's) scale subresource.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    BOOL,
    INT32,
    INT64,
    INT_OR_STRING,
    OBJECT_META,
    STRING,
    TIME,
    TYPE_META,
    Package,
    Schema,
    enum,
    f,
    list_of,
)

apps = Package("io.k8s.api.apps.v1")
autoscaling = Package("io.k8s.api.autoscaling.v1")
core = Package("io.k8s.api.core.v1")
meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")


SCHEMAS: tuple[Schema, ...] = (
    apps.struct(
        "Deployment",
        "Declarative rollouts of a pod template: manages ReplicaSets so that the wanted number "
        "of up-to-date pods run.",
        [
            *TYPE_META,
            OBJECT_META,
            f("spec", apps.ref("DeploymentSpec"), "Desired behaviour of the deployment."),
            f(
                "status",
                apps.ref("DeploymentStatus"),
                "Most recently observed state of the deployment.",
            ),
        ],
    ),
    apps.list_kind("Deployment"),
    apps.struct(
        "DeploymentSpec",
        "Desired behaviour of a deployment.",
        [
            f("replicas", INT32, "Number of pods wanted. Defaults to 1."),
            f(
                "selector",
                meta.ref("LabelSelector"),
                "Label query for the pods the deployment manages. Must match the template's "
                "labels; cannot change.",
            ),
            f("template", core.ref("PodTemplateSpec"), "Pod template for new pods."),
            f(
                "strategy",
                apps.ref("DeploymentStrategy"),
                "How old pods are replaced by new ones.",
                patch="retainKeys",
            ),
            f(
                "minReadySeconds",
                INT32,
                "Seconds a new pod must be ready, with no container crashing, to count as "
                "available. Defaults to 0.",
            ),
            f(
                "revisionHistoryLimit",
                INT32,
                "Number of old ReplicaSets kept for rollback. Defaults to 10.",
            ),
            f("paused", BOOL, "Stop rolling out changes to the template."),
            f(
                "progressDeadlineSeconds",
                INT32,
                "Seconds without progress after which the deployment is reported as failed. "
                "Defaults to 600.",
            ),
        ],
        required=("selector", "template"),
    ),
    apps.struct(
        "DeploymentStrategy",
        "How a deployment replaces pods.",
        [
            f(
                "type",
                enum("Recreate", "RollingUpdate"),
                "Recreate or RollingUpdate. Defaults to RollingUpdate.",
            ),
            f("rollingUpdate", apps.ref("RollingUpdateDeployment"), "Settings for RollingUpdate."),
        ],
    ),
    apps.struct(
        "RollingUpdateDeployment",
        "Limits for a rolling update.",
        [
            f(
                "maxUnavailable",
                INT_OR_STRING,
                "Pods that may be unavailable during the update: a number or a percentage of "
                "replicas. Defaults to 25%.",
            ),
            f(
                "maxSurge",
                INT_OR_STRING,
                "Pods that may exist above replicas during the update: a number or a "
                "percentage. Defaults to 25%.",
            ),
        ],
    ),
    apps.struct(
        "DeploymentStatus",
        "Observed state of a deployment.",
        [
            f("observedGeneration", INT64, "Generation observed by the deployment controller."),
            f("replicas", INT32, "Number of non-terminating pods targeted by the deployment."),
            f(
                "updatedReplicas",
                INT32,
                "Number of non-terminating pods running the current template.",
            ),
            f("readyReplicas", INT32, "Number of ready pods."),
            f("availableReplicas", INT32, "Number of pods available for at least minReadySeconds."),
            f(
                "unavailableReplicas",
                INT32,
                "Number of pods still missing to reach 100% availability.",
            ),
            f("terminatingReplicas", INT32, "Number of pods that are terminating."),
            f(
                "conditions",
                list_of(apps.ref("DeploymentCondition")),
                "Current conditions of the deployment, such as Available and Progressing.",
                list_type="map",
                map_keys=("type",),
                patch="merge",
                merge_key="type",
            ),
            f(
                "collisionCount",
                INT32,
                "Count of hash collisions for the deployment's ReplicaSets, used to make names "
                "unique.",
            ),
        ],
    ),
    apps.struct(
        "DeploymentCondition",
        "One aspect of a deployment's state.",
        [
            f("type", STRING, "Condition type, e.g. Available or Progressing."),
            f("status", STRING, "True, False or Unknown."),
            f("lastUpdateTime", TIME, "When the condition was last updated."),
            f("lastTransitionTime", TIME, "When status last changed."),
            f("reason", STRING, "Short CamelCase reason for the last transition."),
            f("message", STRING, "Human-readable detail about the last transition."),
        ],
        required=("type", "status"),
    ),
    apps.struct(
        "ReplicaSet",
        "Keeps a number of copies of a pod template running.",
        [
            *TYPE_META,
            OBJECT_META,
            f("spec", apps.ref("ReplicaSetSpec"), "Desired behaviour of the replica set."),
            f(
                "status",
                apps.ref("ReplicaSetStatus"),
                "Most recently observed state of the replica set.",
            ),
        ],
    ),
    apps.list_kind("ReplicaSet"),
    apps.struct(
        "ReplicaSetSpec",
        "Desired behaviour of a replica set.",
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
                meta.ref("LabelSelector"),
                "Label query for the pods counted. Must match the template's labels.",
            ),
            f(
                "template",
                core.ref("PodTemplateSpec"),
                "Pod template used when there are too few pods.",
            ),
        ],
        required=("selector",),
    ),
    apps.struct(
        "ReplicaSetStatus",
        "Observed state of a replica set.",
        [
            f("replicas", INT32, "Number of non-terminating pods most recently observed."),
            f("fullyLabeledReplicas", INT32, "Number of pods whose labels match the template's."),
            f("readyReplicas", INT32, "Number of ready pods."),
            f("availableReplicas", INT32, "Number of pods available for at least minReadySeconds."),
            f("terminatingReplicas", INT32, "Number of pods that are terminating."),
            f("observedGeneration", INT64, "Most recent generation observed by the controller."),
            f(
                "conditions",
                list_of(apps.ref("ReplicaSetCondition")),
                "Current conditions of the replica set.",
                list_type="map",
                map_keys=("type",),
                patch="merge",
                merge_key="type",
            ),
        ],
        required=("replicas",),
    ),
    apps.struct(
        "ReplicaSetCondition",
        "One aspect of a replica set's state.",
        [
            f("type", STRING, "Condition type."),
            f("status", STRING, "True, False or Unknown."),
            f("lastTransitionTime", TIME, "When status last changed."),
            f("reason", STRING, "Short CamelCase reason for the last transition."),
            f("message", STRING, "Human-readable detail about the last transition."),
        ],
        required=("type", "status"),
    ),
    autoscaling.struct(
        "Scale",
        "The scale subresource: the replica count of a scalable object.",
        [
            *TYPE_META,
            OBJECT_META,
            f("spec", autoscaling.ref("ScaleSpec"), "Wanted number of replicas."),
            f(
                "status",
                autoscaling.ref("ScaleStatus"),
                "Current number of replicas and the selector for its pods.",
            ),
        ],
    ),
    autoscaling.struct(
        "ScaleSpec",
        "Wanted scale.",
        [
            f("replicas", INT32, "Wanted number of replicas."),
        ],
    ),
    autoscaling.struct(
        "ScaleStatus",
        "Current scale.",
        [
            f("replicas", INT32, "Current number of replicas."),
            f("selector", STRING, "Label query for the pods counted, in string form."),
        ],
        required=("replicas",),
    ),
)
