"""Schemas of the core/v1 Pod kind: PodSpec, the pod security context, DNS and
other pod-level settings, PodStatus with its container states, PodTemplateSpec and Binding.

Containers, volumes and scheduling constraints live in their own modules.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    BOOL,
    INT32,
    INT64,
    OBJECT_META,
    QUANTITY,
    STRING,
    TIME,
    TYPE_META,
    Package,
    Schema,
    enum,
    f,
    list_of,
    map_of,
)

core = Package("io.k8s.api.core.v1")
meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")


SCHEMAS: tuple[Schema, ...] = (
    core.struct(
        "Pod",
        "The smallest deployable unit: one or more containers that share a network namespace "
        "and volumes and are scheduled onto one node together.",
        [
            *TYPE_META,
            OBJECT_META,
            f(
                "spec",
                core.ref("PodSpec"),
                "Desired state of the pod: its containers, volumes and scheduling constraints.",
            ),
            f(
                "status",
                core.ref("PodStatus"),
                "Observed state of the pod, reported by the kubelet. Read-only for clients.",
            ),
        ],
    ),
    core.list_kind("Pod"),
    core.struct(
        "PodSpec",
        "What a pod should run and where.",
        [
            f(
                "volumes",
                list_of(core.ref("Volume")),
                "Volumes the pod's containers can mount.",
                list_type="map",
                map_keys=("name",),
                patch="merge,retainKeys",
                merge_key="name",
            ),
            f(
                "initContainers",
                list_of(core.ref("Container")),
                "Containers run one after another, each to completion, before the main "
                "containers start. A failing init container is handled by restartPolicy.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f(
                "containers",
                list_of(core.ref("Container")),
                "The pod's main containers. At least one is required; the list cannot change "
                "after creation.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f(
                "ephemeralContainers",
                list_of(core.ref("EphemeralContainer")),
                "Debugging containers added to a running pod through the ephemeralcontainers "
                "subresource.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f(
                "restartPolicy",
                enum("Always", "Never", "OnFailure"),
                "Whether containers are restarted when they exit: Always, OnFailure or Never. "
                "Defaults to Always.",
            ),
            f(
                "terminationGracePeriodSeconds",
                INT64,
                "Seconds the pod gets to shut down after SIGTERM before it is killed. Defaults "
                "to 30; 0 means kill immediately.",
            ),
            f(
                "activeDeadlineSeconds",
                INT64,
                "Seconds the pod may be active, counted from its start time, before the system "
                "fails it.",
            ),
            f(
                "dnsPolicy",
                enum("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"),
                "How DNS is set up: ClusterFirst, ClusterFirstWithHostNet, Default or None. "
                "Defaults to ClusterFirst.",
            ),
            f(
                "nodeSelector",
                map_of(STRING),
                "Labels a node must carry for the pod to be scheduled there.",
                map_type="atomic",
            ),
            f(
                "serviceAccountName",
                STRING,
                'Service account the pod runs as. Defaults to "default".',
            ),
            f("serviceAccount", STRING, "Deprecated alias of serviceAccountName."),
            f(
                "automountServiceAccountToken",
                BOOL,
                "Whether a service account token is mounted automatically into the pod.",
            ),
            f(
                "nodeName",
                STRING,
                "Node the pod is bound to. Normally set by the scheduler; setting it yourself "
                "skips scheduling.",
            ),
            f(
                "hostNetwork",
                BOOL,
                "Use the node's network namespace. The ports the pod uses must then be free on "
                "the node. Defaults to false.",
            ),
            f("hostPID", BOOL, "Use the node's process ID namespace. Defaults to false."),
            f("hostIPC", BOOL, "Use the node's IPC namespace. Defaults to false."),
            f(
                "shareProcessNamespace",
                BOOL,
                "Put all containers of the pod in one process namespace, so they can see and "
                "signal each other's processes.",
            ),
            f(
                "securityContext",
                core.ref("PodSecurityContext"),
                "Security settings for the whole pod; containers can override some of them.",
            ),
            f(
                "imagePullSecrets",
                list_of(core.ref("LocalObjectReference")),
                "Secrets in the pod's namespace holding registry credentials for pulling images.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f(
                "hostname",
                STRING,
                "Hostname of the pod. Defaults to a value chosen by the system, normally the "
                "pod name.",
            ),
            f(
                "subdomain",
                STRING,
                "Subdomain, so the pod's FQDN becomes "
                "hostname.subdomain.namespace.svc.cluster-domain.",
            ),
            f("affinity", core.ref("Affinity"), "Node and pod affinity rules for scheduling."),
            f(
                "schedulerName",
                STRING,
                "Scheduler that places the pod. Defaults to the default scheduler.",
            ),
            f(
                "tolerations",
                list_of(core.ref("Toleration")),
                "Taints the pod tolerates.",
                list_type="atomic",
            ),
            f(
                "hostAliases",
                list_of(core.ref("HostAlias")),
                "Extra entries for the pod's /etc/hosts.",
                list_type="map",
                map_keys=("ip",),
                patch="merge",
                merge_key="ip",
            ),
            f("priorityClassName", STRING, "PriorityClass whose value becomes the pod's priority."),
            f(
                "priority",
                INT32,
                "Scheduling priority, filled in from priorityClassName by admission. Higher is "
                "more important.",
            ),
            f(
                "dnsConfig",
                core.ref("PodDNSConfig"),
                "Extra DNS settings merged into the resolver configuration made by dnsPolicy.",
            ),
            f(
                "readinessGates",
                list_of(core.ref("PodReadinessGate")),
                "Extra pod conditions that must be True for the pod to be Ready.",
                list_type="atomic",
            ),
            f(
                "runtimeClassName",
                STRING,
                "RuntimeClass used to run the pod. Empty means the node's default runtime.",
            ),
            f(
                "enableServiceLinks",
                BOOL,
                "Inject Docker-link style environment variables for Services. Defaults to true.",
            ),
            f(
                "preemptionPolicy",
                enum("Never", "PreemptLowerPriority"),
                "Whether this pod may preempt lower-priority pods: PreemptLowerPriority "
                "(default) or Never.",
            ),
            f(
                "overhead",
                map_of(QUANTITY),
                "Resources charged for running the pod itself, on top of its containers' "
                "requests. Set from the RuntimeClass.",
            ),
            f(
                "topologySpreadConstraints",
                list_of(core.ref("TopologySpreadConstraint")),
                "Rules for spreading matching pods across topology domains such as zones or nodes.",
                list_type="map",
                map_keys=("topologyKey", "whenUnsatisfiable"),
                patch="merge",
                merge_key="topologyKey",
            ),
            f(
                "setHostnameAsFQDN",
                BOOL,
                "Set the container hostname to the pod's FQDN rather than its short name. "
                "Defaults to false.",
            ),
            f(
                "os",
                core.ref("PodOS"),
                "Operating system the pod's containers need; gates which fields validation allows.",
            ),
            f(
                "hostUsers",
                BOOL,
                "Whether the pod uses the host's user namespace. False gives the pod its own "
                "user namespace. Defaults to true.",
            ),
            f(
                "schedulingGates",
                list_of(core.ref("PodSchedulingGate")),
                "Gates that keep the pod from being scheduled while any remain.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f(
                "resourceClaims",
                list_of(core.ref("PodResourceClaim")),
                "Dynamic resource claims the pod's containers can use.",
                list_type="map",
                map_keys=("name",),
                patch="merge,retainKeys",
                merge_key="name",
            ),
            f(
                "resources",
                core.ref("ResourceRequirements"),
                "Resources for the pod as a whole, shared by its containers. Only cpu and memory.",
            ),
        ],
        required=("containers",),
    ),
    core.struct(
        "PodSecurityContext",
        "Security settings shared by all containers of a pod. Fields also in a container's "
        "securityContext are overridden there.",
        [
            f("seLinuxOptions", core.ref("SELinuxOptions"), "SELinux context for all containers."),
            f(
                "windowsOptions",
                core.ref("WindowsSecurityContextOptions"),
                "Settings that apply only to Windows containers.",
            ),
            f("runAsUser", INT64, "UID the containers' processes run as."),
            f("runAsGroup", INT64, "Primary GID the containers' processes run as."),
            f("runAsNonRoot", BOOL, "Refuse to start any container that would run as UID 0."),
            f(
                "supplementalGroups",
                list_of(INT64),
                "Extra GIDs added to each container's first process.",
                list_type="atomic",
            ),
            f(
                "supplementalGroupsPolicy",
                enum("Merge", "Strict"),
                "How supplemental groups are worked out: Merge (with the image's groups) or "
                "Strict. Defaults to Merge.",
            ),
            f(
                "fsGroup",
                INT64,
                "GID that owns supporting volumes and is added to every container's groups.",
            ),
            f(
                "sysctls",
                list_of(core.ref("Sysctl")),
                "Namespaced kernel parameters to set for the pod.",
                list_type="atomic",
            ),
            f(
                "fsGroupChangePolicy",
                enum("Always", "OnRootMismatch"),
                "When volume ownership is changed to fsGroup: OnRootMismatch or Always. "
                "Defaults to Always.",
            ),
            f("seccompProfile", core.ref("SeccompProfile"), "Seccomp profile for all containers."),
            f(
                "appArmorProfile",
                core.ref("AppArmorProfile"),
                "AppArmor profile for all containers.",
            ),
            f(
                "seLinuxChangePolicy",
                STRING,
                "How the SELinux label is applied to volumes: Recursive or MountOption.",
            ),
        ],
    ),
    core.struct(
        "Sysctl",
        "One kernel parameter.",
        [
            f("name", STRING, "Parameter name, e.g. net.ipv4.ip_local_port_range."),
            f("value", STRING, "Value to set."),
        ],
        required=("name", "value"),
    ),
    core.struct(
        "HostAlias",
        "An /etc/hosts entry.",
        [
            f("ip", STRING, "IP address of the entry."),
            f("hostnames", list_of(STRING), "Hostnames for that IP address.", list_type="atomic"),
        ],
        required=("ip",),
    ),
    core.struct(
        "PodDNSConfig",
        "DNS resolver settings for a pod.",
        [
            f(
                "nameservers",
                list_of(STRING),
                "Name server IP addresses added to the configuration.",
                list_type="atomic",
            ),
            f(
                "searches",
                list_of(STRING),
                "DNS search domains added to the configuration.",
                list_type="atomic",
            ),
            f(
                "options",
                list_of(core.ref("PodDNSConfigOption")),
                "Resolver options; these override options of the same name from dnsPolicy.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "PodDNSConfigOption",
        "One resolver option.",
        [
            f("name", STRING, "Option name, e.g. ndots."),
            f("value", STRING, "Option value."),
        ],
    ),
    core.struct(
        "PodReadinessGate",
        "A pod condition that must be True for the pod to be Ready.",
        [
            f("conditionType", STRING, "Type of the pod condition to wait for."),
        ],
        required=("conditionType",),
    ),
    core.struct(
        "PodOS",
        "The pod's operating system.",
        [
            f("name", STRING, "Operating system name: linux or windows."),
        ],
        required=("name",),
    ),
    core.struct(
        "PodSchedulingGate",
        "One gate that holds back scheduling.",
        [
            f("name", STRING, "Name of the gate, unique within the pod."),
        ],
        required=("name",),
    ),
    core.struct(
        "PodResourceClaim",
        "A named reference from a pod to a ResourceClaim or ResourceClaimTemplate.",
        [
            f("name", STRING, "Name used for this claim inside the pod."),
            f(
                "resourceClaimName",
                STRING,
                "Name of an existing ResourceClaim in the pod's namespace.",
            ),
            f(
                "resourceClaimTemplateName",
                STRING,
                "Name of a ResourceClaimTemplate from which a claim is made for this pod.",
            ),
        ],
        required=("name",),
    ),
    core.struct(
        "PodStatus",
        "Observed state of a pod. It can lag behind reality.",
        [
            f("observedGeneration", INT64, "The metadata.generation this status was computed for."),
            f(
                "phase",
                enum("Failed", "Pending", "Running", "Succeeded", "Unknown"),
                "Coarse summary of the pod's life: Pending, Running, Succeeded, Failed or Unknown.",
            ),
            f(
                "conditions",
                list_of(core.ref("PodCondition")),
                "Current conditions of the pod, such as PodScheduled, Initialized, "
                "ContainersReady and Ready.",
                list_type="map",
                map_keys=("type",),
                patch="merge",
                merge_key="type",
            ),
            f("message", STRING, "Human-readable detail about why the pod is in its state."),
            f("reason", STRING, "Short CamelCase reason for the state, e.g. Evicted."),
            f(
                "nominatedNodeName",
                STRING,
                "Node on which the scheduler expects to place the pod once preemption finishes.",
            ),
            f("hostIP", STRING, "Primary IP address of the node the pod runs on."),
            f(
                "hostIPs",
                list_of(core.ref("HostIP")),
                "IP addresses of the node; the first equals hostIP.",
                list_type="atomic",
                patch="merge",
                merge_key="ip",
            ),
            f("podIP", STRING, "Primary IP address of the pod. Empty until allocated."),
            f(
                "podIPs",
                list_of(core.ref("PodIP")),
                "IP addresses of the pod, at most one per family; the first equals podIP.",
                list_type="map",
                map_keys=("ip",),
                patch="merge",
                merge_key="ip",
            ),
            f(
                "startTime",
                TIME,
                "When the kubelet acknowledged the pod, before pulling any image.",
            ),
            f(
                "initContainerStatuses",
                list_of(core.ref("ContainerStatus")),
                "Status of each init container.",
                list_type="atomic",
            ),
            f(
                "containerStatuses",
                list_of(core.ref("ContainerStatus")),
                "Status of each main container.",
                list_type="atomic",
            ),
            f(
                "qosClass",
                enum("BestEffort", "Burstable", "Guaranteed"),
                "Quality-of-service class derived from the containers' requests and limits.",
            ),
            f(
                "ephemeralContainerStatuses",
                list_of(core.ref("ContainerStatus")),
                "Status of each ephemeral container.",
                list_type="atomic",
            ),
            f("resize", STRING, "State of an in-place resize of the pod's resources."),
            f(
                "resourceClaimStatuses",
                list_of(core.ref("PodResourceClaimStatus")),
                "Names of the ResourceClaims generated for the pod's claim templates.",
                list_type="map",
                map_keys=("name",),
                patch="merge,retainKeys",
                merge_key="name",
            ),
        ],
    ),
    core.struct(
        "PodCondition",
        "One aspect of a pod's state.",
        [
            f("type", STRING, "Condition type, e.g. Ready or PodScheduled."),
            f("observedGeneration", INT64, "The metadata.generation this condition was set for."),
            f("status", STRING, "True, False or Unknown."),
            f("lastProbeTime", TIME, "When the condition was last checked."),
            f("lastTransitionTime", TIME, "When status last changed."),
            f("reason", STRING, "Short CamelCase reason for the last transition."),
            f("message", STRING, "Human-readable detail about the last transition."),
        ],
        required=("type", "status"),
    ),
    core.struct(
        "HostIP",
        "One IP address of the node running the pod.",
        [
            f("ip", STRING, "The address."),
        ],
        required=("ip",),
    ),
    core.struct(
        "PodIP",
        "One IP address of a pod.",
        [
            f("ip", STRING, "The address."),
        ],
        required=("ip",),
    ),
    core.struct(
        "ContainerStatus",
        "Observed state of one container.",
        [
            f("name", STRING, "Name of the container, as in the spec."),
            f("state", core.ref("ContainerState"), "Current state of the container."),
            f(
                "lastState",
                core.ref("ContainerState"),
                "State of the container's previous run, if it has been restarted.",
            ),
            f("ready", BOOL, "Whether the container passes its readiness probe."),
            f("restartCount", INT32, "Number of times the container has been restarted."),
            f("image", STRING, "Image the container runs."),
            f("imageID", STRING, "ID of that image, typically including its digest."),
            f("containerID", STRING, "Runtime ID of the container, as <type>://<id>."),
            f("started", BOOL, "Whether the container has started and passed its startup probe."),
            f(
                "allocatedResources",
                map_of(QUANTITY),
                "Resources allocated on the node for the container.",
            ),
            f(
                "resources",
                core.ref("ResourceRequirements"),
                "Resources actually configured for the running container.",
            ),
            f(
                "volumeMounts",
                list_of(core.ref("VolumeMountStatus")),
                "Volume mounts in effect for the container.",
                list_type="map",
                map_keys=("mountPath",),
                patch="merge",
                merge_key="mountPath",
            ),
            f("user", core.ref("ContainerUser"), "Identity the container's first process runs as."),
            f(
                "allocatedResourcesStatus",
                list_of(core.ref("ResourceStatus")),
                "Health of the devices allocated to the container.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f("stopSignal", STRING, "Signal the runtime sends to stop the container."),
        ],
        required=("name", "ready", "restartCount", "image", "imageID"),
    ),
    core.struct(
        "ContainerState",
        "The state of a container. Exactly one field is set; none means waiting.",
        [
            f("waiting", core.ref("ContainerStateWaiting"), "The container is not running yet."),
            f("running", core.ref("ContainerStateRunning"), "The container is running."),
            f("terminated", core.ref("ContainerStateTerminated"), "The container has exited."),
        ],
    ),
    core.struct(
        "ContainerStateWaiting",
        "A container that is not running yet.",
        [
            f("reason", STRING, "Why it is waiting, e.g. ContainerCreating or CrashLoopBackOff."),
            f("message", STRING, "Detail about why it is waiting."),
        ],
    ),
    core.struct(
        "ContainerStateRunning",
        "A running container.",
        [
            f("startedAt", TIME, "When the container last started."),
        ],
    ),
    core.struct(
        "ContainerStateTerminated",
        "A container that has exited.",
        [
            f("exitCode", INT32, "Exit status of its last run."),
            f("signal", INT32, "Signal that ended it, if any."),
            f("reason", STRING, "Short reason, e.g. Completed, Error or OOMKilled."),
            f("message", STRING, "Detail about the exit, such as the termination message."),
            f("startedAt", TIME, "When the run started."),
            f("finishedAt", TIME, "When the run ended."),
            f("containerID", STRING, "Runtime ID of the container, as <type>://<id>."),
        ],
        required=("exitCode",),
    ),
    core.struct(
        "VolumeMountStatus",
        "A volume mount as it is in effect.",
        [
            f("name", STRING, "Name of the volume."),
            f("mountPath", STRING, "Path the volume is mounted at."),
            f("readOnly", BOOL, "Whether the mount is read-only."),
            f(
                "recursiveReadOnly",
                STRING,
                "Whether read-only applies to submounts too: Disabled or Enabled.",
            ),
        ],
        required=("name", "mountPath"),
    ),
    core.struct(
        "ContainerUser",
        "The identity of a container's first process.",
        [
            f("linux", core.ref("LinuxContainerUser"), "User and groups on Linux."),
        ],
    ),
    core.struct(
        "LinuxContainerUser",
        "Linux user and groups of a process.",
        [
            f("uid", INT64, "User ID."),
            f("gid", INT64, "Primary group ID."),
            f("supplementalGroups", list_of(INT64), "Supplementary group IDs.", list_type="atomic"),
        ],
        required=("uid", "gid"),
    ),
    core.struct(
        "ResourceStatus",
        "Health of the devices behind one resource.",
        [
            f("name", STRING, "Resource name, as in the container's resources."),
            f(
                "resources",
                list_of(core.ref("ResourceHealth")),
                "Health of each device allocated for that resource.",
                list_type="map",
                map_keys=("resourceID",),
            ),
        ],
        required=("name",),
    ),
    core.struct(
        "ResourceHealth",
        "Health of one allocated device.",
        [
            f("resourceID", STRING, "Identifier of the device."),
            f("health", STRING, "Healthy, Unhealthy or Unknown."),
        ],
        required=("resourceID",),
    ),
    core.struct(
        "PodResourceClaimStatus",
        "The ResourceClaim made for one of the pod's claims.",
        [
            f("name", STRING, "Name of the entry in spec.resourceClaims."),
            f(
                "resourceClaimName",
                STRING,
                "Name of the ResourceClaim that was generated. Empty when none was needed.",
            ),
        ],
        required=("name",),
    ),
    core.struct(
        "Binding",
        "Assigns an object to another, usually a pod to a node. Created by schedulers.",
        [
            *TYPE_META,
            OBJECT_META,
            f("target", core.ref("ObjectReference"), "The object to bind to, e.g. a Node."),
        ],
        required=("target",),
    ),
    core.struct(
        "PodTemplateSpec",
        "The pod a controller creates from a template: metadata plus a pod spec.",
        [
            f(
                "metadata",
                meta.ref("ObjectMeta"),
                "Labels, annotations and other metadata given to each pod created from the "
                "template.",
            ),
            f("spec", core.ref("PodSpec"), "Spec of each pod created from the template."),
        ],
    ),
)
