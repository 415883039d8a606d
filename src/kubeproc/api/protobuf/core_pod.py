"""k8s.io/api core/v1 Pod: PodSpec, containers, probes, security contexts, affinity, status.

Owns the field numbers of ``core/v1/generated.proto`` for every message a Pod reaches,
except volume sources (`core_volume`). A generic client may send any of these as protobuf,
so all of them are here, not only what ``kubectl create`` fills in. Presence marks follow
the Go types' json tags (``Container.name`` has no omitempty, ``resources`` is a struct),
see `schema`.
"""

from __future__ import annotations

from kubeproc.api.protobuf.schema import Message, parse_schema

__all__ = ["MESSAGES"]

MESSAGES: dict[str, Message] = parse_schema(
    """
Affinity:
    1 nodeAffinity NodeAffinity?, 2 podAffinity PodAffinity?,
    3 podAntiAffinity PodAntiAffinity?
AppArmorProfile:
    1 type s!, 2 localhostProfile s?
Capabilities:
    1 add [s], 2 drop [s]
ConfigMapEnvSource:
    1 * LocalObjectReference, 2 optional b?
ConfigMapKeySelector:
    1 * LocalObjectReference, 2 key s!, 3 optional b?
Container:
    1 name s!, 2 image s, 3 command [s], 4 args [s], 5 workingDir s,
    6 ports [ContainerPort], 7 env [EnvVar], 8 resources ResourceRequirements!,
    9 volumeMounts [VolumeMount], 10 livenessProbe Probe?, 11 readinessProbe Probe?,
    12 lifecycle Lifecycle?, 13 terminationMessagePath s, 14 imagePullPolicy s,
    15 securityContext SecurityContext?, 16 stdin b, 17 stdinOnce b, 18 tty b,
    19 envFrom [EnvFromSource], 20 terminationMessagePolicy s,
    21 volumeDevices [VolumeDevice], 22 startupProbe Probe?,
    23 resizePolicy [ContainerResizePolicy], 24 restartPolicy s?,
    25 restartPolicyRules [ContainerRestartRule]
ContainerExtendedResourceRequest:
    1 containerName s!, 2 resourceName s!, 3 requestName s!
ContainerPort:
    1 name s, 2 hostPort i, 3 containerPort i!, 4 protocol s, 5 hostIP s
ContainerResizePolicy:
    1 resourceName s!, 2 restartPolicy s!
ContainerRestartRule:
    1 action s, 2 exitCodes ContainerRestartRuleOnExitCodes?
ContainerRestartRuleOnExitCodes:
    1 operator s, 2 values [i]
ContainerState:
    1 waiting ContainerStateWaiting?, 2 running ContainerStateRunning?,
    3 terminated ContainerStateTerminated?
ContainerStateRunning:
    1 startedAt time!
ContainerStateTerminated:
    1 exitCode i!, 2 signal i, 3 reason s, 4 message s, 5 startedAt time!,
    6 finishedAt time!, 7 containerID s
ContainerStateWaiting:
    1 reason s, 2 message s
ContainerStatus:
    1 name s!, 2 state ContainerState!, 3 lastState ContainerState!, 4 ready b!,
    5 restartCount i!, 6 image s!, 7 imageID s!, 8 containerID s, 9 started b?,
    10 allocatedResources {quantity}, 11 resources ResourceRequirements?,
    12 volumeMounts [VolumeMountStatus], 13 user ContainerUser?,
    14 allocatedResourcesStatus [ResourceStatus], 15 stopSignal s?
ContainerUser:
    1 linux LinuxContainerUser?
EnvFromSource:
    1 prefix s, 2 configMapRef ConfigMapEnvSource?, 3 secretRef SecretEnvSource?
EnvVar:
    1 name s!, 2 value s, 3 valueFrom EnvVarSource?
EnvVarSource:
    1 fieldRef ObjectFieldSelector?, 2 resourceFieldRef ResourceFieldSelector?,
    3 configMapKeyRef ConfigMapKeySelector?, 4 secretKeyRef SecretKeySelector?,
    5 fileKeyRef FileKeySelector?
EphemeralContainer:
    1 * EphemeralContainerCommon, 2 targetContainerName s
EphemeralContainerCommon:
    1 name s!, 2 image s, 3 command [s], 4 args [s], 5 workingDir s,
    6 ports [ContainerPort], 7 env [EnvVar], 8 resources ResourceRequirements!,
    9 volumeMounts [VolumeMount], 10 livenessProbe Probe?, 11 readinessProbe Probe?,
    12 lifecycle Lifecycle?, 13 terminationMessagePath s, 14 imagePullPolicy s,
    15 securityContext SecurityContext?, 16 stdin b, 17 stdinOnce b, 18 tty b,
    19 envFrom [EnvFromSource], 20 terminationMessagePolicy s,
    21 volumeDevices [VolumeDevice], 22 startupProbe Probe?,
    23 resizePolicy [ContainerResizePolicy], 24 restartPolicy s?,
    25 restartPolicyRules [ContainerRestartRule]
EvictionResponder:
    1 name s!, 2 priority i~
ExecAction:
    1 command [s]
FileKeySelector:
    1 volumeName s!, 2 path s!, 3 key s!, 4 optional b?
GRPCAction:
    1 port i!, 2 service s~, 3 mode s?
HTTPGetAction:
    1 path s, 2 port intstr!, 3 host s, 4 scheme s, 5 httpHeaders [HTTPHeader],
    6 protocol s?
HTTPHeader:
    1 name s!, 2 value s!
HostAlias:
    1 ip s!, 2 hostnames [s]
HostIP:
    1 ip s!
ImageVolumeStatus:
    1 imageRef s
Lifecycle:
    1 postStart LifecycleHandler?, 2 preStop LifecycleHandler?, 3 stopSignal s?
LifecycleHandler:
    1 exec ExecAction?, 2 httpGet HTTPGetAction?, 3 tcpSocket TCPSocketAction?,
    4 sleep SleepAction?
LinuxContainerUser:
    1 uid l!, 2 gid l!, 3 supplementalGroups [l]
NodeAffinity:
    1 requiredDuringSchedulingIgnoredDuringExecution NodeSelector?,
    2 preferredDuringSchedulingIgnoredDuringExecution [PreferredSchedulingTerm]
NodeAllocatableMappedResources:
    1 name s!, 2 quantity quantity~
NodeAllocatableOverheadResources:
    1 name s!, 2 perPod quantity?, 3 perContainer quantity?
NodeAllocatableResourceClaimStatus:
    1 resourceClaimName s!, 2 containers [s], 4 mapping [NodeAllocatableMappedResources],
    5 overhead [NodeAllocatableOverheadResources]
NodeSelector:
    1 nodeSelectorTerms [NodeSelectorTerm]!
NodeSelectorRequirement:
    1 key s!, 2 operator s!, 3 values [s]
NodeSelectorTerm:
    1 matchExpressions [NodeSelectorRequirement], 2 matchFields [NodeSelectorRequirement]
Pod:
    1 metadata ObjectMeta!, 2 spec PodSpec!, 3 status PodStatus!
PodAffinity:
    1 requiredDuringSchedulingIgnoredDuringExecution [PodAffinityTerm],
    2 preferredDuringSchedulingIgnoredDuringExecution [WeightedPodAffinityTerm]
PodAffinityTerm:
    1 labelSelector LabelSelector?, 2 namespaces [s], 3 topologyKey s!,
    4 namespaceSelector LabelSelector?, 5 matchLabelKeys [s], 6 mismatchLabelKeys [s]
PodAntiAffinity:
    1 requiredDuringSchedulingIgnoredDuringExecution [PodAffinityTerm],
    2 preferredDuringSchedulingIgnoredDuringExecution [WeightedPodAffinityTerm]
PodCondition:
    1 type s!, 2 status s!, 3 lastProbeTime time!, 4 lastTransitionTime time!, 5 reason s,
    6 message s, 7 observedGeneration l
PodDNSConfig:
    1 nameservers [s], 2 searches [s], 3 options [PodDNSConfigOption]
PodDNSConfigOption:
    1 name s, 2 value s?
PodExtendedResourceClaimStatus:
    1 requestMappings [ContainerExtendedResourceRequest]!, 2 resourceClaimName s!
PodIP:
    1 ip s!
PodOS:
    1 name s!
PodReadinessGate:
    1 conditionType s!
PodResourceClaim:
    1 name s!, 3 resourceClaimName s?, 4 resourceClaimTemplateName s?
PodResourceClaimStatus:
    1 name s!, 2 resourceClaimName s?
PodSchedulingGate:
    1 name s!
PodSchedulingGroup:
    1 podGroupName s?
PodSecurityContext:
    1 seLinuxOptions SELinuxOptions?, 2 runAsUser l?, 3 runAsNonRoot b?,
    4 supplementalGroups [l], 5 fsGroup l?, 6 runAsGroup l?, 7 sysctls [Sysctl],
    8 windowsOptions WindowsSecurityContextOptions?, 9 fsGroupChangePolicy s?,
    10 seccompProfile SeccompProfile?, 11 appArmorProfile AppArmorProfile?,
    12 supplementalGroupsPolicy s?, 13 seLinuxChangePolicy s?
PodSpec:
    1 volumes [Volume], 2 containers [Container]!, 3 restartPolicy s,
    4 terminationGracePeriodSeconds l?, 5 activeDeadlineSeconds l?, 6 dnsPolicy s,
    7 nodeSelector {s}, 8 serviceAccountName s, 9 serviceAccount s, 10 nodeName s,
    11 hostNetwork b, 12 hostPID b, 13 hostIPC b, 14 securityContext PodSecurityContext?,
    15 imagePullSecrets [LocalObjectReference], 16 hostname s, 17 subdomain s,
    18 affinity Affinity?, 19 schedulerName s, 20 initContainers [Container],
    21 automountServiceAccountToken b?, 22 tolerations [Toleration],
    23 hostAliases [HostAlias], 24 priorityClassName s, 25 priority i?,
    26 dnsConfig PodDNSConfig?, 27 shareProcessNamespace b?,
    28 readinessGates [PodReadinessGate], 29 runtimeClassName s?, 30 enableServiceLinks b?,
    31 preemptionPolicy s?, 32 overhead {quantity},
    33 topologySpreadConstraints [TopologySpreadConstraint],
    34 ephemeralContainers [EphemeralContainer], 35 setHostnameAsFQDN b?, 36 os PodOS?,
    37 hostUsers b?, 38 schedulingGates [PodSchedulingGate],
    39 resourceClaims [PodResourceClaim], 40 resources ResourceRequirements?,
    41 hostnameOverride s?, 43 schedulingGroup PodSchedulingGroup?,
    44 evictionResponders [EvictionResponder]
PodStatus:
    1 phase s, 2 conditions [PodCondition], 3 message s, 4 reason s, 5 hostIP s, 6 podIP s,
    7 startTime time?, 8 containerStatuses [ContainerStatus], 9 qosClass s,
    10 initContainerStatuses [ContainerStatus], 11 nominatedNodeName s, 12 podIPs [PodIP],
    13 ephemeralContainerStatuses [ContainerStatus], 14 resize s,
    15 resourceClaimStatuses [PodResourceClaimStatus], 16 hostIPs [HostIP],
    17 observedGeneration l, 18 extendedResourceClaimStatus PodExtendedResourceClaimStatus?,
    19 allocatedResources {quantity}, 20 resources ResourceRequirements?,
    21 nodeAllocatableResourceClaimStatuses [NodeAllocatableResourceClaimStatus],
    22 volumeHealth [PodVolumeHealth]
PodVolumeHealth:
    1 name s!, 2 healthConditions [VolumeHealthCondition], 3 lastTransitionTime time!
PreferredSchedulingTerm:
    1 weight i!, 2 preference NodeSelectorTerm!
Probe:
    1 * ProbeHandler, 2 initialDelaySeconds i, 3 timeoutSeconds i, 4 periodSeconds i,
    5 successThreshold i, 6 failureThreshold i, 7 terminationGracePeriodSeconds l?
ProbeHandler:
    1 exec ExecAction?, 2 httpGet HTTPGetAction?, 3 tcpSocket TCPSocketAction?,
    4 grpc GRPCAction?
ResourceClaim:
    1 name s!, 2 request s
ResourceHealth:
    1 resourceID s!, 2 health s, 6 message s?
ResourceRequirements:
    1 limits {quantity}, 2 requests {quantity}, 3 claims [ResourceClaim]
ResourceStatus:
    1 name s!, 2 resources [ResourceHealth]
SELinuxOptions:
    1 user s, 2 role s, 3 type s, 4 level s
SeccompProfile:
    1 type s!, 2 localhostProfile s?
SecretEnvSource:
    1 * LocalObjectReference, 2 optional b?
SecretKeySelector:
    1 * LocalObjectReference, 2 key s!, 3 optional b?
SecurityContext:
    1 capabilities Capabilities?, 2 privileged b?, 3 seLinuxOptions SELinuxOptions?,
    4 runAsUser l?, 5 runAsNonRoot b?, 6 readOnlyRootFilesystem b?,
    7 allowPrivilegeEscalation b?, 8 runAsGroup l?, 9 procMount s?,
    10 windowsOptions WindowsSecurityContextOptions?, 11 seccompProfile SeccompProfile?,
    12 appArmorProfile AppArmorProfile?
SleepAction:
    1 seconds l!
Sysctl:
    1 name s!, 2 value s!
TCPSocketAction:
    1 port intstr!, 2 host s
Toleration:
    1 key s, 2 operator s, 3 value s, 4 effect s, 5 tolerationSeconds l?
TopologySpreadConstraint:
    1 maxSkew i!, 2 topologyKey s!, 3 whenUnsatisfiable s!, 4 labelSelector LabelSelector?,
    5 minDomains i?, 6 nodeAffinityPolicy s?, 7 nodeTaintsPolicy s?, 8 matchLabelKeys [s]
VolumeDevice:
    1 name s!, 2 devicePath s!
VolumeHealthCondition:
    1 status s!, 2 reason s!, 3 message s
VolumeMount:
    1 name s!, 2 readOnly b, 3 mountPath s!, 4 subPath s, 5 mountPropagation s?,
    6 subPathExpr s, 7 recursiveReadOnly s?, 8 bindMountOptions [s]
VolumeMountStatus:
    1 name s!, 2 mountPath s!, 3 readOnly b, 4 recursiveReadOnly s?,
    5 volumeStatus VolumeStatus?
VolumeStatus:
    1 image ImageVolumeStatus?
WeightedPodAffinityTerm:
    1 weight i!, 2 podAffinityTerm PodAffinityTerm!
WindowsSecurityContextOptions:
    1 gmsaCredentialSpecName s?, 2 gmsaCredentialSpec s?, 3 runAsUserName s?,
    4 hostProcess b?
"""
)
