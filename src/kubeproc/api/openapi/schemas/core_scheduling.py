"""Schemas of core/v1 scheduling constraints: affinity and anti-affinity,
node selector terms, tolerations, taints and topology spread constraints.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    INT32,
    INT64,
    STRING,
    TIME,
    Package,
    Schema,
    enum,
    f,
    list_of,
)

core = Package("io.k8s.api.core.v1")
meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")

NODE_INCLUSION_POLICY = enum("Honor", "Ignore")
TAINT_EFFECT = enum("NoExecute", "NoSchedule", "PreferNoSchedule")

SCHEMAS: tuple[Schema, ...] = (
    core.struct(
        "Affinity",
        "Scheduling rules that attract a pod to, or keep it away from, nodes and other pods.",
        [
            f(
                "nodeAffinity",
                core.ref("NodeAffinity"),
                "Rules about which nodes the pod may or prefers to run on.",
            ),
            f(
                "podAffinity",
                core.ref("PodAffinity"),
                "Rules for placing the pod near pods that match a selector.",
            ),
            f(
                "podAntiAffinity",
                core.ref("PodAntiAffinity"),
                "Rules for keeping the pod away from pods that match a selector.",
            ),
        ],
    ),
    core.struct(
        "NodeAffinity",
        "Node constraints for scheduling, expressed with node selector terms.",
        [
            f(
                "requiredDuringSchedulingIgnoredDuringExecution",
                core.ref("NodeSelector"),
                "Terms a node must satisfy for the pod to be scheduled there. Not re-checked "
                "once the pod is running.",
            ),
            f(
                "preferredDuringSchedulingIgnoredDuringExecution",
                list_of(core.ref("PreferredSchedulingTerm")),
                "Weighted terms; the scheduler favours nodes that satisfy more weight.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "NodeSelector",
        "A set of node selector terms, ORed together.",
        [
            f(
                "nodeSelectorTerms",
                list_of(core.ref("NodeSelectorTerm")),
                "The terms; a node matches if it matches any one of them.",
                list_type="atomic",
            ),
        ],
        required=("nodeSelectorTerms",),
        atomic=True,
    ),
    core.struct(
        "NodeSelectorTerm",
        "Requirements a node must meet, ANDed together. An empty term matches no node.",
        [
            f(
                "matchExpressions",
                list_of(core.ref("NodeSelectorRequirement")),
                "Requirements on node labels.",
                list_type="atomic",
            ),
            f(
                "matchFields",
                list_of(core.ref("NodeSelectorRequirement")),
                "Requirements on node fields.",
                list_type="atomic",
            ),
        ],
        atomic=True,
    ),
    core.struct(
        "NodeSelectorRequirement",
        "A key, an operator and values that a node label or field must satisfy.",
        [
            f("key", STRING, "Label or field key the requirement applies to."),
            f(
                "operator",
                enum("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"),
                "In, NotIn, Exists, DoesNotExist, Gt or Lt.",
            ),
            f(
                "values",
                list_of(STRING),
                "Values to compare with. Empty for Exists and DoesNotExist; a single integer "
                "for Gt and Lt.",
                list_type="atomic",
            ),
        ],
        required=("key", "operator"),
    ),
    core.struct(
        "PreferredSchedulingTerm",
        "A node selector term with a weight.",
        [
            f("weight", INT32, "Weight of the term, 1-100."),
            f("preference", core.ref("NodeSelectorTerm"), "The node selector term."),
        ],
        required=("weight", "preference"),
    ),
    core.struct(
        "PodAffinity",
        "Rules that co-locate a pod with other pods.",
        [
            f(
                "requiredDuringSchedulingIgnoredDuringExecution",
                list_of(core.ref("PodAffinityTerm")),
                "Terms that must hold when the pod is scheduled.",
                list_type="atomic",
            ),
            f(
                "preferredDuringSchedulingIgnoredDuringExecution",
                list_of(core.ref("WeightedPodAffinityTerm")),
                "Weighted terms the scheduler tries to satisfy.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "PodAffinityTerm",
        "A set of pods, found by label selector in some namespaces, and the topology within "
        "which the pod should (or should not) be placed near them.",
        [
            f("labelSelector", meta.ref("LabelSelector"), "Selects the pods this term refers to."),
            f(
                "namespaces",
                list_of(STRING),
                "Namespaces to search for matching pods. Empty, together with no "
                "namespaceSelector, means the pod's own namespace.",
                list_type="atomic",
            ),
            f(
                "topologyKey",
                STRING,
                "Node label key defining the topology domain, e.g. topology.kubernetes.io/zone.",
            ),
            f(
                "namespaceSelector",
                meta.ref("LabelSelector"),
                "Selects namespaces to search, in addition to namespaces. An empty selector "
                "means all namespaces.",
            ),
            f(
                "matchLabelKeys",
                list_of(STRING),
                "Label keys whose values are copied from the incoming pod into labelSelector as "
                "In requirements.",
                list_type="atomic",
            ),
            f(
                "mismatchLabelKeys",
                list_of(STRING),
                "Label keys whose values are copied from the incoming pod into labelSelector as "
                "NotIn requirements.",
                list_type="atomic",
            ),
        ],
        required=("topologyKey",),
    ),
    core.struct(
        "WeightedPodAffinityTerm",
        "A pod affinity term with a weight.",
        [
            f("weight", INT32, "Weight of the term, 1-100."),
            f("podAffinityTerm", core.ref("PodAffinityTerm"), "The pod affinity term."),
        ],
        required=("weight", "podAffinityTerm"),
    ),
    core.struct(
        "PodAntiAffinity",
        "Rules that keep a pod away from other pods.",
        [
            f(
                "requiredDuringSchedulingIgnoredDuringExecution",
                list_of(core.ref("PodAffinityTerm")),
                "Terms that must hold when the pod is scheduled.",
                list_type="atomic",
            ),
            f(
                "preferredDuringSchedulingIgnoredDuringExecution",
                list_of(core.ref("WeightedPodAffinityTerm")),
                "Weighted terms the scheduler tries to satisfy.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "Taint",
        "A mark on a node that repels pods which do not tolerate it.",
        [
            f("key", STRING, "Taint key."),
            f("value", STRING, "Taint value."),
            f(
                "effect",
                TAINT_EFFECT,
                "What happens to pods that do not tolerate it: NoSchedule, PreferNoSchedule or "
                "NoExecute.",
            ),
            f("timeAdded", TIME, "When a NoExecute taint was added."),
        ],
        required=("key", "effect"),
    ),
    core.struct(
        "Toleration",
        "Lets a pod be scheduled onto, or keep running on, nodes with a matching taint.",
        [
            f(
                "key",
                STRING,
                "Taint key to match. Empty, with operator Exists, matches every taint.",
            ),
            f("operator", enum("Equal", "Exists"), "Exists or Equal. Defaults to Equal."),
            f("value", STRING, "Taint value to match when the operator is Equal."),
            f(
                "effect",
                TAINT_EFFECT,
                "Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute. Empty "
                "matches all effects.",
            ),
            f(
                "tolerationSeconds",
                INT64,
                "For NoExecute, how long the pod may stay on the node after the taint appears. "
                "Unset means forever.",
            ),
        ],
    ),
    core.struct(
        "TopologySpreadConstraint",
        "How evenly matching pods must be spread across the domains of a topology.",
        [
            f(
                "maxSkew",
                INT32,
                "Largest allowed difference in matching pods between any two domains. Must be "
                "at least 1.",
            ),
            f("topologyKey", STRING, "Node label key whose values define the domains."),
            f(
                "whenUnsatisfiable",
                enum("DoNotSchedule", "ScheduleAnyway"),
                "What to do if the constraint cannot be met: DoNotSchedule or ScheduleAnyway.",
            ),
            f("labelSelector", meta.ref("LabelSelector"), "Selects the pods that are counted."),
            f(
                "minDomains",
                INT32,
                "Minimum number of eligible domains; fewer are treated as having zero matching "
                "pods.",
            ),
            f(
                "nodeAffinityPolicy",
                NODE_INCLUSION_POLICY,
                "Whether the pod's node affinity and nodeSelector limit the domains counted: "
                "Honor (default) or Ignore.",
            ),
            f(
                "nodeTaintsPolicy",
                NODE_INCLUSION_POLICY,
                "Whether node taints limit the domains counted: Honor or Ignore (default).",
            ),
            f(
                "matchLabelKeys",
                list_of(STRING),
                "Label keys whose values are taken from the incoming pod and added to "
                "labelSelector.",
                list_type="atomic",
            ),
        ],
        required=("maxSkew", "topologyKey", "whenUnsatisfiable"),
    ),
)
