"""The named API groups we serve: apps, networking, discovery, coordination, events,
autoscaling and policy (all v1).

Owns the field numbers of each group's ``generated.proto`` for the served kinds
(Deployment, ReplicaSet, NetworkPolicy, EndpointSlice, Lease, events.k8s.io Event, Scale,
Eviction). Names clashing with core/v1 messages carry their group as a prefix
(``events.Event``, ``discovery.EndpointPort``). Presence marks follow the Go types' json
tags, see `schema`.
"""

from __future__ import annotations

from kubeproc.api.protobuf.schema import Message, parse_schema

__all__ = ["MESSAGES"]

MESSAGES: dict[str, Message] = parse_schema(
    """
# apps/v1
Deployment:
    1 metadata ObjectMeta!, 2 spec DeploymentSpec!, 3 status DeploymentStatus!
DeploymentCondition:
    1 type s!, 2 status s!, 4 reason s, 5 message s, 6 lastUpdateTime time!,
    7 lastTransitionTime time!
DeploymentSpec:
    1 replicas i?, 2 selector LabelSelector~, 3 template PodTemplateSpec!,
    4 strategy DeploymentStrategy!, 5 minReadySeconds i, 6 revisionHistoryLimit i?,
    7 paused b, 9 progressDeadlineSeconds i?
DeploymentStatus:
    1 observedGeneration l, 2 replicas i, 3 updatedReplicas i, 4 availableReplicas i,
    5 unavailableReplicas i, 6 conditions [DeploymentCondition], 7 readyReplicas i,
    8 collisionCount i?, 9 terminatingReplicas i?
DeploymentStrategy:
    1 type s, 2 rollingUpdate RollingUpdateDeployment?
ReplicaSet:
    1 metadata ObjectMeta!, 2 spec ReplicaSetSpec!, 3 status ReplicaSetStatus!
ReplicaSetCondition:
    1 type s!, 2 status s!, 3 lastTransitionTime time!, 4 reason s, 5 message s
ReplicaSetSpec:
    1 replicas i?, 2 selector LabelSelector~, 3 template PodTemplateSpec!,
    4 minReadySeconds i
ReplicaSetStatus:
    1 replicas i!, 2 fullyLabeledReplicas i, 3 observedGeneration l, 4 readyReplicas i,
    5 availableReplicas i, 6 conditions [ReplicaSetCondition], 7 terminatingReplicas i?
RollingUpdateDeployment:
    1 maxUnavailable intstr?, 2 maxSurge intstr?

# networking.k8s.io/v1
IPBlock:
    1 cidr s!, 2 except [s]
NetworkPolicy:
    1 metadata ObjectMeta!, 2 spec NetworkPolicySpec!
NetworkPolicyEgressRule:
    1 ports [NetworkPolicyPort], 2 to [NetworkPolicyPeer]
NetworkPolicyIngressRule:
    1 ports [NetworkPolicyPort], 2 from [NetworkPolicyPeer]
NetworkPolicyPeer:
    1 podSelector LabelSelector?, 2 namespaceSelector LabelSelector?, 3 ipBlock IPBlock?
NetworkPolicyPort:
    1 protocol s?, 2 port intstr?, 3 endPort i?
NetworkPolicySpec:
    1 podSelector LabelSelector!, 2 ingress [NetworkPolicyIngressRule],
    3 egress [NetworkPolicyEgressRule], 4 policyTypes [s]

# discovery.k8s.io/v1
Endpoint:
    1 addresses [s]!, 2 conditions EndpointConditions!, 3 hostname s?,
    4 targetRef ObjectReference?, 5 deprecatedTopology {s}, 6 nodeName s?, 7 zone s?,
    8 hints EndpointHints?
EndpointConditions:
    1 ready b?, 2 serving b?, 3 terminating b?
EndpointHints:
    1 forZones [ForZone], 2 forNodes [ForNode]
EndpointSlice:
    1 metadata ObjectMeta!, 2 endpoints [Endpoint]!, 3 ports [discovery.EndpointPort]!,
    4 addressType s!
ForNode:
    1 name s!
ForZone:
    1 name s!
discovery.EndpointPort:
    1 name s?, 2 protocol s?, 3 port i?, 4 appProtocol s?

# coordination.k8s.io/v1
Lease:
    1 metadata ObjectMeta!, 2 spec LeaseSpec!
LeaseSpec:
    1 holderIdentity s?, 2 leaseDurationSeconds i?, 3 acquireTime microtime?,
    4 renewTime microtime?, 5 leaseTransitions i?, 6 strategy s?, 7 preferredHolder s?

# events.k8s.io/v1
events.Event:
    1 metadata ObjectMeta!, 2 eventTime microtime!, 3 series events.EventSeries?,
    4 reportingController s, 5 reportingInstance s, 6 action s, 7 reason s,
    8 regarding ObjectReference!, 9 related ObjectReference?, 10 note s, 11 type s,
    12 deprecatedSource EventSource!, 13 deprecatedFirstTimestamp time!,
    14 deprecatedLastTimestamp time!, 15 deprecatedCount i
events.EventSeries:
    1 count i!, 2 lastObservedTime microtime!

# autoscaling/v1
Scale:
    1 metadata ObjectMeta!, 2 spec ScaleSpec!, 3 status ScaleStatus!
ScaleSpec:
    1 replicas i
ScaleStatus:
    1 replicas i!, 2 selector s

# policy/v1
Eviction:
    1 metadata ObjectMeta!, 2 deleteOptions DeleteOptions?
"""
)
