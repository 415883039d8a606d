"""k8s.io/api core/v1 kinds other than Pod: Service, Node, Namespace, ConfigMap, Secret, ...

Owns the field numbers of ``core/v1/generated.proto`` for ServiceAccount,
ReplicationController, Endpoints, Event, Binding and the messages only they reach (the pod
and volume messages live in `core_pod` and `core_volume`; the split is for length only,
the decoder sees one table). Presence marks follow the Go types' json tags, see `schema`.
"""

from __future__ import annotations

from kubeproc.api.protobuf.schema import Message, parse_schema

__all__ = ["MESSAGES"]

MESSAGES: dict[str, Message] = parse_schema(
    """
AttachedVolume:
    1 name s!, 2 devicePath s!
Binding:
    1 metadata ObjectMeta!, 2 target ObjectReference!
ClientIPConfig:
    1 timeoutSeconds i?
ConfigMap:
    1 metadata ObjectMeta!, 2 data {s}, 3 binaryData {y}, 4 immutable b?
ConfigMapNodeConfigSource:
    1 namespace s!, 2 name s!, 3 uid s, 4 resourceVersion s, 5 kubeletConfigKey s!
ContainerImage:
    1 names [s]!, 2 sizeBytes l
DaemonEndpoint:
    1 Port i!
EndpointAddress:
    1 ip s!, 2 targetRef ObjectReference?, 3 hostname s, 4 nodeName s?
EndpointPort:
    1 name s, 2 port i!, 3 protocol s, 4 appProtocol s?
EndpointSubset:
    1 addresses [EndpointAddress], 2 notReadyAddresses [EndpointAddress],
    3 ports [EndpointPort]
Endpoints:
    1 metadata ObjectMeta!, 2 subsets [EndpointSubset]
Event:
    1 metadata ObjectMeta!, 2 involvedObject ObjectReference!, 3 reason s, 4 message s,
    5 source EventSource!, 6 firstTimestamp time!, 7 lastTimestamp time!, 8 count i,
    9 type s, 10 eventTime microtime!, 11 series EventSeries?, 12 action s,
    13 related ObjectReference?, 14 reportingComponent s!, 15 reportingInstance s!
EventSeries:
    1 count i, 2 lastObservedTime microtime!
EventSource:
    1 component s, 2 host s
LoadBalancerIngress:
    1 ip s, 2 hostname s, 3 ipMode s?, 4 ports [PortStatus]
LoadBalancerStatus:
    1 ingress [LoadBalancerIngress]
Namespace:
    1 metadata ObjectMeta!, 2 spec NamespaceSpec!, 3 status NamespaceStatus!
NamespaceCondition:
    1 type s!, 2 status s!, 4 lastTransitionTime time!, 5 reason s, 6 message s
NamespaceSpec:
    1 finalizers [s]
NamespaceStatus:
    1 phase s, 2 conditions [NamespaceCondition]
Node:
    1 metadata ObjectMeta!, 2 spec NodeSpec!, 3 status NodeStatus!
NodeAddress:
    1 type s!, 2 address s!
NodeCondition:
    1 type s!, 2 status s!, 3 lastHeartbeatTime time!, 4 lastTransitionTime time!,
    5 reason s, 6 message s
NodeConfigSource:
    2 configMap ConfigMapNodeConfigSource?
NodeConfigStatus:
    1 assigned NodeConfigSource?, 2 active NodeConfigSource?,
    3 lastKnownGood NodeConfigSource?, 4 error s
NodeDaemonEndpoints:
    1 kubeletEndpoint DaemonEndpoint!
NodeFeatures:
    1 supplementalGroupsPolicy b?
NodePodPreemptionPolicy:
    1 disableResizePreemption [s]
NodeRuntimeHandler:
    1 name s!, 2 features NodeRuntimeHandlerFeatures?
NodeRuntimeHandlerFeatures:
    1 recursiveReadOnlyMounts b?, 2 userNamespaces b?
NodeSpec:
    1 podCIDR s, 2 externalID s, 3 providerID s, 4 unschedulable b, 5 taints [Taint],
    6 configSource NodeConfigSource?, 7 podCIDRs [s],
    8 podPreemptionPolicy NodePodPreemptionPolicy?
NodeStatus:
    1 capacity {quantity}, 2 allocatable {quantity}, 3 phase s,
    4 conditions [NodeCondition], 5 addresses [NodeAddress],
    6 daemonEndpoints NodeDaemonEndpoints!, 7 nodeInfo NodeSystemInfo!,
    8 images [ContainerImage], 9 volumesInUse [s], 10 volumesAttached [AttachedVolume],
    11 config NodeConfigStatus?, 12 runtimeHandlers [NodeRuntimeHandler],
    13 features NodeFeatures?, 14 declaredFeatures [s]
NodeSwapStatus:
    1 capacity l?
NodeSystemInfo:
    1 machineID s!, 2 systemUUID s!, 3 bootID s!, 4 kernelVersion s!, 5 osImage s!,
    6 containerRuntimeVersion s!, 7 kubeletVersion s!, 8 kubeProxyVersion s!,
    9 operatingSystem s!, 10 architecture s!, 11 swap NodeSwapStatus?
ObjectReference:
    1 kind s, 2 namespace s, 3 name s, 4 uid s, 5 apiVersion s, 6 resourceVersion s,
    7 fieldPath s
PodTemplateSpec:
    1 metadata ObjectMeta!, 2 spec PodSpec!
PortStatus:
    1 port i!, 2 protocol s!, 3 error s?
ReplicationController:
    1 metadata ObjectMeta!, 2 spec ReplicationControllerSpec!,
    3 status ReplicationControllerStatus!
ReplicationControllerCondition:
    1 type s!, 2 status s!, 3 lastTransitionTime time!, 4 reason s, 5 message s
ReplicationControllerSpec:
    1 replicas i?, 2 selector {s}, 3 template PodTemplateSpec?, 4 minReadySeconds i
ReplicationControllerStatus:
    1 replicas i!, 2 fullyLabeledReplicas i, 3 observedGeneration l, 4 readyReplicas i,
    5 availableReplicas i, 6 conditions [ReplicationControllerCondition]
Secret:
    1 metadata ObjectMeta!, 2 data {y}, 3 type s, 4 stringData {s}, 5 immutable b?
Service:
    1 metadata ObjectMeta!, 2 spec ServiceSpec!, 3 status ServiceStatus!
ServiceAccount:
    1 metadata ObjectMeta!, 2 secrets [ObjectReference],
    3 imagePullSecrets [LocalObjectReference], 4 automountServiceAccountToken b?
ServicePort:
    1 name s, 2 protocol s, 3 port i!, 4 targetPort intstr!, 5 nodePort i, 6 appProtocol s?
ServiceSpec:
    1 ports [ServicePort], 2 selector {s}, 3 clusterIP s, 4 type s, 5 externalIPs [s],
    7 sessionAffinity s, 8 loadBalancerIP s, 9 loadBalancerSourceRanges [s],
    10 externalName s, 11 externalTrafficPolicy s, 12 healthCheckNodePort i,
    13 publishNotReadyAddresses b, 14 sessionAffinityConfig SessionAffinityConfig?,
    17 ipFamilyPolicy s?, 18 clusterIPs [s], 19 ipFamilies [s],
    20 allocateLoadBalancerNodePorts b?, 21 loadBalancerClass s?,
    22 internalTrafficPolicy s?, 23 trafficDistribution s?
ServiceStatus:
    1 loadBalancer LoadBalancerStatus!, 2 conditions [Condition]
SessionAffinityConfig:
    1 clientIP ClientIPConfig?
Taint:
    1 key s!, 2 value s, 3 effect s!, 4 timeAdded time?
"""
)
