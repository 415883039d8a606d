"""Schemas of the cluster-scoped core/v1 kinds Node and Namespace, with node
spec, status, addresses, conditions and system information.

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


SCHEMAS: tuple[Schema, ...] = (
    core.struct(
        "Namespace",
        "A scope for names: most objects live in exactly one namespace.",
        [
            *TYPE_META,
            OBJECT_META,
            f("spec", core.ref("NamespaceSpec"), "Behaviour of the namespace."),
            f("status", core.ref("NamespaceStatus"), "Observed state of the namespace."),
        ],
    ),
    core.list_kind("Namespace"),
    core.struct(
        "NamespaceSpec",
        "Behaviour of a namespace.",
        [
            f(
                "finalizers",
                list_of(STRING),
                "Finalizers that must be cleared before the namespace is removed from storage.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "NamespaceStatus",
        "Observed state of a namespace.",
        [
            f(
                "phase",
                enum("Active", "Terminating"),
                "Active, or Terminating while it is being deleted.",
            ),
            f(
                "conditions",
                list_of(core.ref("NamespaceCondition")),
                "Current conditions of the namespace.",
                list_type="map",
                map_keys=("type",),
                patch="merge",
                merge_key="type",
            ),
        ],
    ),
    core.struct(
        "NamespaceCondition",
        "One aspect of a namespace's state.",
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
        "Node",
        "A machine that runs pods, registered by its kubelet.",
        [
            *TYPE_META,
            OBJECT_META,
            f("spec", core.ref("NodeSpec"), "Configuration of the node."),
            f(
                "status",
                core.ref("NodeStatus"),
                "Most recently observed state of the node, reported by its kubelet.",
            ),
        ],
    ),
    core.list_kind("Node"),
    core.struct(
        "NodeSpec",
        "Configuration of a node.",
        [
            f("podCIDR", STRING, "IP range assigned to the node for pod addresses."),
            f(
                "podCIDRs",
                list_of(STRING),
                "IP ranges assigned to the node, at most one per family; the first equals podCIDR.",
                list_type="set",
                patch="merge",
            ),
            f("providerID", STRING, "Identifier of the node at its cloud provider."),
            f("unschedulable", BOOL, "Keep new pods off the node (cordon). Defaults to false."),
            f("taints", list_of(core.ref("Taint")), "Taints on the node.", list_type="atomic"),
            f("configSource", core.ref("NodeConfigSource"), "Deprecated; no longer used."),
            f("externalID", STRING, "Deprecated; no longer used."),
        ],
    ),
    core.struct(
        "NodeConfigSource",
        "Deprecated source of kubelet configuration.",
        [
            f(
                "configMap",
                core.ref("ConfigMapNodeConfigSource"),
                "ConfigMap holding the configuration.",
            ),
        ],
    ),
    core.struct(
        "ConfigMapNodeConfigSource",
        "Deprecated: a ConfigMap holding kubelet configuration.",
        [
            f("namespace", STRING, "Namespace of the ConfigMap."),
            f("name", STRING, "Name of the ConfigMap."),
            f("uid", STRING, "UID of the ConfigMap."),
            f("resourceVersion", STRING, "Resource version of the ConfigMap."),
            f("kubeletConfigKey", STRING, "Key of the ConfigMap that holds the configuration."),
        ],
        required=("namespace", "name", "kubeletConfigKey"),
    ),
    core.struct(
        "NodeStatus",
        "Observed state of a node.",
        [
            f("capacity", map_of(QUANTITY), "Total resources of the node."),
            f(
                "allocatable",
                map_of(QUANTITY),
                "Resources of the node available to pods. Defaults to capacity.",
            ),
            f(
                "phase",
                enum("Pending", "Running", "Terminated"),
                "Deprecated lifecycle phase of the node.",
            ),
            f(
                "conditions",
                list_of(core.ref("NodeCondition")),
                "Current conditions of the node, such as Ready, MemoryPressure and DiskPressure.",
                list_type="map",
                map_keys=("type",),
                patch="merge",
                merge_key="type",
            ),
            f(
                "addresses",
                list_of(core.ref("NodeAddress")),
                "Addresses of the node, such as InternalIP and Hostname.",
                list_type="map",
                map_keys=("type",),
                patch="merge",
                merge_key="type",
            ),
            f(
                "daemonEndpoints",
                core.ref("NodeDaemonEndpoints"),
                "Ports of daemons running on the node.",
            ),
            f(
                "nodeInfo",
                core.ref("NodeSystemInfo"),
                "Identity and versions of the node's software.",
            ),
            f(
                "images",
                list_of(core.ref("ContainerImage")),
                "Container images present on the node.",
                list_type="atomic",
            ),
            f(
                "volumesInUse",
                list_of(STRING),
                "Attachable volumes in use (mounted) on the node.",
                list_type="atomic",
            ),
            f(
                "volumesAttached",
                list_of(core.ref("AttachedVolume")),
                "Volumes attached to the node.",
                list_type="atomic",
            ),
            f(
                "config",
                core.ref("NodeConfigStatus"),
                "Status of dynamic kubelet configuration; no longer used.",
            ),
            f(
                "runtimeHandlers",
                list_of(core.ref("NodeRuntimeHandler")),
                "Runtime handlers the node offers.",
                list_type="atomic",
            ),
            f("features", core.ref("NodeFeatures"), "Optional features the node supports."),
        ],
    ),
    core.struct(
        "NodeCondition",
        "One aspect of a node's state.",
        [
            f("type", STRING, "Condition type, e.g. Ready."),
            f("status", STRING, "True, False or Unknown."),
            f("lastHeartbeatTime", TIME, "When the condition was last reported."),
            f("lastTransitionTime", TIME, "When status last changed."),
            f("reason", STRING, "Short CamelCase reason for the last transition."),
            f("message", STRING, "Human-readable detail about the last transition."),
        ],
        required=("type", "status"),
    ),
    core.struct(
        "NodeAddress",
        "One address of a node.",
        [
            f("type", STRING, "Address type, e.g. Hostname, InternalIP or ExternalIP."),
            f("address", STRING, "The address."),
        ],
        required=("type", "address"),
    ),
    core.struct(
        "NodeDaemonEndpoints",
        "Ports of daemons on a node.",
        [
            f("kubeletEndpoint", core.ref("DaemonEndpoint"), "Port the kubelet listens on."),
        ],
    ),
    core.struct(
        "DaemonEndpoint",
        "A daemon's port.",
        [
            f("Port", INT32, "Port number."),
        ],
        required=("Port",),
    ),
    core.struct(
        "NodeSystemInfo",
        "Identity and software versions of a node.",
        [
            f("machineID", STRING, "Machine ID reported by the node (/etc/machine-id)."),
            f("systemUUID", STRING, "System UUID reported by the node."),
            f("bootID", STRING, "Boot ID of the node."),
            f("kernelVersion", STRING, "Kernel version (uname -r)."),
            f("osImage", STRING, "Operating system image (from /etc/os-release)."),
            f(
                "containerRuntimeVersion",
                STRING,
                "Container runtime and version, as <runtime>://<version>.",
            ),
            f("kubeletVersion", STRING, "Kubelet version."),
            f("kubeProxyVersion", STRING, "Deprecated: kube-proxy version, not reliable."),
            f("operatingSystem", STRING, "Operating system, e.g. linux."),
            f("architecture", STRING, "CPU architecture, e.g. amd64."),
            f("swap", core.ref("NodeSwapStatus"), "Swap memory of the node."),
        ],
        required=(
            "machineID",
            "systemUUID",
            "bootID",
            "kernelVersion",
            "osImage",
            "containerRuntimeVersion",
            "kubeletVersion",
            "kubeProxyVersion",
            "operatingSystem",
            "architecture",
        ),
    ),
    core.struct(
        "NodeSwapStatus",
        "Swap memory of a node.",
        [
            f("capacity", INT64, "Total swap memory, in bytes."),
        ],
    ),
    core.struct(
        "ContainerImage",
        "A container image present on a node.",
        [
            f(
                "names",
                list_of(STRING),
                "Names the image is known by, e.g. repository:tag and digests.",
                list_type="atomic",
            ),
            f("sizeBytes", INT64, "Size of the image, in bytes."),
        ],
    ),
    core.struct(
        "AttachedVolume",
        "A volume attached to a node.",
        [
            f("name", STRING, "Name of the attached volume."),
            f("devicePath", STRING, "Path where the volume should be available on the node."),
        ],
        required=("name", "devicePath"),
    ),
    core.struct(
        "NodeConfigStatus",
        "Deprecated status of dynamic kubelet configuration.",
        [
            f("assigned", core.ref("NodeConfigSource"), "Configuration the node was asked to use."),
            f("active", core.ref("NodeConfigSource"), "Configuration the node is using."),
            f(
                "lastKnownGood",
                core.ref("NodeConfigSource"),
                "Configuration the node falls back to.",
            ),
            f("error", STRING, "Problem with the configuration, if any."),
        ],
    ),
    core.struct(
        "NodeRuntimeHandler",
        "A runtime handler offered by a node.",
        [
            f("name", STRING, "Handler name; empty for the default handler."),
            f("features", core.ref("NodeRuntimeHandlerFeatures"), "Features the handler supports."),
        ],
    ),
    core.struct(
        "NodeRuntimeHandlerFeatures",
        "Features of a runtime handler.",
        [
            f("recursiveReadOnlyMounts", BOOL, "Whether recursive read-only mounts are supported."),
            f("userNamespaces", BOOL, "Whether user namespaces are supported."),
        ],
    ),
    core.struct(
        "NodeFeatures",
        "Optional features a node supports.",
        [
            f(
                "supplementalGroupsPolicy",
                BOOL,
                "Whether the node supports pod supplementalGroupsPolicy.",
            ),
        ],
    ),
)
