"""Schemas of a core/v1 Container and EphemeralContainer with their ports,
environment, resources, mounts and security context.

Probes and lifecycle hooks, the other half of a container, are in ``core_probe.py``.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    BOOL,
    INT32,
    INT64,
    QUANTITY,
    STRING,
    Package,
    Schema,
    enum,
    f,
    list_of,
    map_of,
)

core = Package("io.k8s.api.core.v1")

PULL_POLICY = enum("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICY = enum("FallbackToLogsOnError", "File")

SCHEMAS: tuple[Schema, ...] = (
    core.struct(
        "Container",
        "One process (an image plus its command, environment, mounts and health checks) run "
        "inside a pod.",
        [
            f(
                "name",
                STRING,
                "Container name, unique within the pod and a DNS label; cannot be changed after "
                "creation.",
            ),
            f(
                "image",
                STRING,
                "Image reference to run, e.g. registry/name:tag. Workload templates may leave "
                "it empty for a controller to fill in.",
            ),
            f(
                "command",
                list_of(STRING),
                "Executable and arguments that replace the image's ENTRYPOINT. $(VAR) expands "
                "from the container's environment; $$ escapes a dollar sign. Not run through a "
                "shell.",
                list_type="atomic",
            ),
            f(
                "args",
                list_of(STRING),
                "Arguments that replace the image's CMD, passed after the command. $(VAR) "
                "references expand as in command.",
                list_type="atomic",
            ),
            f(
                "workingDir",
                STRING,
                "Directory the process starts in. Defaults to the image's working directory.",
            ),
            f(
                "ports",
                list_of(core.ref("ContainerPort")),
                "Ports the container listens on. Informational: any port the process opens is "
                "reachable whether listed here or not.",
                list_type="map",
                map_keys=("containerPort", "protocol"),
                patch="merge",
                merge_key="containerPort",
            ),
            f(
                "envFrom",
                list_of(core.ref("EnvFromSource")),
                "Sources whose every key becomes an environment variable. Explicit env entries "
                "win over these, and later sources win over earlier ones.",
                list_type="atomic",
            ),
            f(
                "env",
                list_of(core.ref("EnvVar")),
                "Environment variables to set in the container.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f(
                "resources",
                core.ref("ResourceRequirements"),
                "CPU, memory and other resources the container requests and may not exceed.",
            ),
            f(
                "resizePolicy",
                list_of(core.ref("ContainerResizePolicy")),
                "How each resource may be resized in place on a running container.",
                list_type="atomic",
            ),
            f(
                "restartPolicy",
                STRING,
                'Only for init containers: "Always" turns the init container into a sidecar '
                "that keeps running next to the main containers.",
            ),
            f(
                "volumeMounts",
                list_of(core.ref("VolumeMount")),
                "Pod volumes to mount into the container's filesystem.",
                list_type="map",
                map_keys=("mountPath",),
                patch="merge",
                merge_key="mountPath",
            ),
            f(
                "volumeDevices",
                list_of(core.ref("VolumeDevice")),
                "Block devices from the pod's volumes to expose inside the container.",
                list_type="map",
                map_keys=("devicePath",),
                patch="merge",
                merge_key="devicePath",
            ),
            f(
                "livenessProbe",
                core.ref("Probe"),
                "Periodic check of whether the container is still alive; after enough failures "
                "the kubelet restarts it.",
            ),
            f(
                "readinessProbe",
                core.ref("Probe"),
                "Periodic check of whether the container can serve; while it fails the pod is "
                "removed from Service endpoints.",
            ),
            f(
                "startupProbe",
                core.ref("Probe"),
                "Check that must succeed before the liveness and readiness probes start; if it "
                "keeps failing the container is restarted.",
            ),
            f(
                "lifecycle",
                core.ref("Lifecycle"),
                "Hooks the kubelet runs right after the container starts and just before it is "
                "stopped.",
            ),
            f(
                "terminationMessagePath",
                STRING,
                "File inside the container whose contents become the termination message. "
                "Defaults to /dev/termination-log.",
            ),
            f(
                "terminationMessagePolicy",
                TERMINATION_MESSAGE_POLICY,
                "Where the termination message comes from: File, or FallbackToLogsOnError to "
                "use the log tail when the file is empty and the container failed.",
            ),
            f(
                "imagePullPolicy",
                PULL_POLICY,
                "When to pull the image: Always, IfNotPresent or Never. Defaults to Always for "
                "the :latest tag (or no tag), else IfNotPresent.",
            ),
            f(
                "securityContext",
                core.ref("SecurityContext"),
                "Security settings for this container; they override the matching pod-level "
                "settings.",
            ),
            f(
                "stdin",
                BOOL,
                "Keep a stdin buffer open for the container, so it can be attached to.",
            ),
            f(
                "stdinOnce",
                BOOL,
                "Close stdin after the first attached client disconnects. Only meaningful with "
                "stdin.",
            ),
            f("tty", BOOL, "Allocate a terminal for the container. Requires stdin."),
        ],
        required=("name",),
    ),
    core.struct(
        "ContainerPort",
        "A network port a container listens on.",
        [
            f(
                "name",
                STRING,
                "Optional IANA_SVC_NAME for the port, unique in the pod; Services can target "
                "the port by this name.",
            ),
            f(
                "hostPort",
                INT32,
                "Port to open on the node and forward to containerPort. Rarely needed; with "
                "hostNetwork it must equal containerPort.",
            ),
            f("containerPort", INT32, "Port number on the pod's IP address, 1-65535."),
            f("protocol", enum("SCTP", "TCP", "UDP"), "TCP, UDP or SCTP. Defaults to TCP."),
            f("hostIP", STRING, "Node address to bind hostPort to."),
        ],
        required=("containerPort",),
    ),
    core.struct(
        "EnvFromSource",
        "A ConfigMap or Secret whose keys become environment variables.",
        [
            f("prefix", STRING, "String prepended to every key taken from the source."),
            f("configMapRef", core.ref("ConfigMapEnvSource"), "The ConfigMap to read."),
            f("secretRef", core.ref("SecretEnvSource"), "The Secret to read."),
        ],
    ),
    core.struct(
        "ConfigMapEnvSource",
        "A ConfigMap used as a whole for environment variables.",
        [
            f("name", STRING, "Name of the ConfigMap."),
            f("optional", BOOL, "When true, a missing ConfigMap is not an error."),
        ],
    ),
    core.struct(
        "SecretEnvSource",
        "A Secret used as a whole for environment variables.",
        [
            f("name", STRING, "Name of the Secret."),
            f("optional", BOOL, "When true, a missing Secret is not an error."),
        ],
    ),
    core.struct(
        "EnvVar",
        "One environment variable for a container.",
        [
            f("name", STRING, "Variable name."),
            f(
                "value",
                STRING,
                "Literal value. $(VAR) references to earlier variables are expanded; $$ escapes "
                "a dollar sign. Defaults to empty.",
            ),
            f(
                "valueFrom",
                core.ref("EnvVarSource"),
                "Takes the value from a field, a resource, a ConfigMap or a Secret instead of "
                "value.",
            ),
        ],
        required=("name",),
    ),
    core.struct(
        "EnvVarSource",
        "Where an environment variable's value comes from. Set exactly one field.",
        [
            f(
                "fieldRef",
                core.ref("ObjectFieldSelector"),
                "A field of the pod, e.g. metadata.name, metadata.namespace, spec.nodeName, "
                "status.podIP.",
            ),
            f(
                "resourceFieldRef",
                core.ref("ResourceFieldSelector"),
                "A limit or request of a container, e.g. limits.memory.",
            ),
            f(
                "configMapKeyRef",
                core.ref("ConfigMapKeySelector"),
                "A key of a ConfigMap in the pod's namespace.",
            ),
            f(
                "secretKeyRef",
                core.ref("SecretKeySelector"),
                "A key of a Secret in the pod's namespace.",
            ),
        ],
    ),
    core.struct(
        "ObjectFieldSelector",
        "Picks a field of the pod by its path.",
        [
            f(
                "apiVersion",
                STRING,
                "API version the fieldPath is written against. Defaults to v1.",
            ),
            f("fieldPath", STRING, "Path of the field to read, e.g. metadata.labels['app']."),
        ],
        required=("fieldPath",),
        atomic=True,
    ),
    core.struct(
        "ResourceFieldSelector",
        "Picks a container resource limit or request, scaled by a divisor.",
        [
            f(
                "containerName",
                STRING,
                "Container to read from. Optional for environment variables, required for volumes.",
            ),
            f("resource", STRING, "Resource to read, e.g. limits.cpu or requests.memory."),
            f(
                "divisor",
                QUANTITY,
                "Unit the value is expressed in, e.g. 1m or 1Mi. Defaults to 1.",
            ),
        ],
        required=("resource",),
        atomic=True,
    ),
    core.struct(
        "ConfigMapKeySelector",
        "Picks one key of a ConfigMap.",
        [
            f("name", STRING, "Name of the ConfigMap."),
            f("key", STRING, "Key to read."),
            f("optional", BOOL, "When true, a missing ConfigMap or key is not an error."),
        ],
        required=("key",),
        atomic=True,
    ),
    core.struct(
        "SecretKeySelector",
        "Picks one key of a Secret.",
        [
            f("name", STRING, "Name of the Secret."),
            f("key", STRING, "Key to read."),
            f("optional", BOOL, "When true, a missing Secret or key is not an error."),
        ],
        required=("key",),
        atomic=True,
    ),
    core.struct(
        "ResourceRequirements",
        "Compute resources a container asks for (requests) and may not exceed (limits).",
        [
            f(
                "limits",
                map_of(QUANTITY),
                "Maximum amount of each resource the container may use, e.g. cpu: 500m, memory: "
                "128Mi.",
            ),
            f(
                "requests",
                map_of(QUANTITY),
                "Amount of each resource the scheduler reserves for the container. Defaults to "
                "the limit when only a limit is given.",
            ),
            f(
                "claims",
                list_of(core.ref("ResourceClaim")),
                "Names of pod resourceClaims this container uses. Set through the "
                "DynamicResourceAllocation feature; cannot be changed.",
                list_type="map",
                map_keys=("name",),
            ),
        ],
    ),
    core.struct(
        "ResourceClaim",
        "A reference from a container to one of the pod's resource claims.",
        [
            f("name", STRING, "Name of an entry in the pod's spec.resourceClaims."),
            f(
                "request",
                STRING,
                "Name of a single request inside the claim, to use only that part of it.",
            ),
        ],
        required=("name",),
    ),
    core.struct(
        "ContainerResizePolicy",
        "Whether resizing one resource needs a container restart.",
        [
            f("resourceName", STRING, "Resource this policy applies to: cpu or memory."),
            f("restartPolicy", STRING, "NotRequired (resize in place) or RestartContainer."),
        ],
        required=("resourceName", "restartPolicy"),
    ),
    core.struct(
        "VolumeMount",
        "Where a pod volume appears inside a container.",
        [
            f("name", STRING, "Name of the pod volume to mount."),
            f("readOnly", BOOL, "Mount read-only. Defaults to false."),
            f(
                "recursiveReadOnly",
                STRING,
                "Whether a read-only mount is also read-only for its submounts: Disabled, "
                "IfPossible or Enabled.",
            ),
            f(
                "mountPath",
                STRING,
                "Absolute path in the container to mount at; must not contain ':'.",
            ),
            f(
                "subPath",
                STRING,
                "Path inside the volume to mount instead of its root. Defaults to the root.",
            ),
            f(
                "mountPropagation",
                enum("Bidirectional", "HostToContainer", "None"),
                "How mounts propagate between host and container: None, HostToContainer or "
                "Bidirectional. Defaults to None.",
            ),
            f(
                "subPathExpr",
                STRING,
                "Like subPath, but $(VAR) references are expanded from the container's "
                "environment. Cannot be combined with subPath.",
            ),
        ],
        required=("name", "mountPath"),
    ),
    core.struct(
        "VolumeDevice",
        "A raw block device from a pod volume, exposed inside a container.",
        [
            f("name", STRING, "Name of a persistentVolumeClaim volume of the pod."),
            f("devicePath", STRING, "Path in the container where the device appears."),
        ],
        required=("name", "devicePath"),
    ),
    core.struct(
        "SecurityContext",
        "Security settings for one container. Where a field is also set in the pod's "
        "securityContext, this value wins.",
        [
            f(
                "capabilities",
                core.ref("Capabilities"),
                "Linux capabilities to add to or drop from the runtime's defaults.",
            ),
            f(
                "privileged",
                BOOL,
                "Run as privileged, roughly root on the host. Defaults to false.",
            ),
            f(
                "seLinuxOptions",
                core.ref("SELinuxOptions"),
                "SELinux context to apply to the container.",
            ),
            f(
                "windowsOptions",
                core.ref("WindowsSecurityContextOptions"),
                "Settings that apply only to Windows containers.",
            ),
            f("runAsUser", INT64, "UID the process runs as. Defaults to the image's user."),
            f(
                "runAsGroup",
                INT64,
                "Primary GID the process runs as. Defaults to the runtime's choice.",
            ),
            f("runAsNonRoot", BOOL, "Refuse to start the container if it would run as UID 0."),
            f(
                "readOnlyRootFilesystem",
                BOOL,
                "Mount the container's root filesystem read-only. Defaults to false.",
            ),
            f(
                "allowPrivilegeEscalation",
                BOOL,
                "Whether a process may gain more privileges than its parent (no_new_privs). "
                "Always true when privileged or with CAP_SYS_ADMIN.",
            ),
            f(
                "procMount",
                enum("Default", "Unmasked"),
                "Kind of /proc mount: Default masks and read-only paths, Unmasked does not.",
            ),
            f("seccompProfile", core.ref("SeccompProfile"), "Seccomp profile for the container."),
            f(
                "appArmorProfile",
                core.ref("AppArmorProfile"),
                "AppArmor profile for the container.",
            ),
        ],
    ),
    core.struct(
        "Capabilities",
        "Linux capabilities to add and drop.",
        [
            f("add", list_of(STRING), "Capabilities to add, e.g. NET_ADMIN.", list_type="atomic"),
            f("drop", list_of(STRING), "Capabilities to remove, e.g. ALL.", list_type="atomic"),
        ],
    ),
    core.struct(
        "SELinuxOptions",
        "An SELinux label.",
        [
            f("user", STRING, "SELinux user part of the label."),
            f("role", STRING, "SELinux role part of the label."),
            f("type", STRING, "SELinux type part of the label."),
            f("level", STRING, "SELinux level part of the label."),
        ],
    ),
    core.struct(
        "WindowsSecurityContextOptions",
        "Settings used only for Windows containers.",
        [
            f("gmsaCredentialSpecName", STRING, "Name of the GMSA credential spec to use."),
            f(
                "gmsaCredentialSpec",
                STRING,
                "Contents of the GMSA credential spec, filled in by a webhook from "
                "gmsaCredentialSpecName.",
            ),
            f("runAsUserName", STRING, "Windows user name to run the entrypoint as."),
            f(
                "hostProcess",
                BOOL,
                "Run as a Windows HostProcess container; all containers of the pod must agree.",
            ),
        ],
    ),
    core.struct(
        "SeccompProfile",
        "Which seccomp profile to apply.",
        [
            f(
                "type",
                enum("Localhost", "RuntimeDefault", "Unconfined"),
                "RuntimeDefault (the runtime's profile), Unconfined, or Localhost (a file on "
                "the node).",
            ),
            f(
                "localhostProfile",
                STRING,
                "Path of the profile file, relative to the kubelet's seccomp directory. "
                "Required only for type Localhost.",
            ),
        ],
        required=("type",),
    ),
    core.struct(
        "AppArmorProfile",
        "Which AppArmor profile to apply.",
        [
            f(
                "type",
                enum("Localhost", "RuntimeDefault", "Unconfined"),
                "RuntimeDefault, Unconfined, or Localhost (a profile already loaded on the node).",
            ),
            f(
                "localhostProfile",
                STRING,
                "Name of the profile loaded on the node. Required only for type Localhost.",
            ),
        ],
        required=("type",),
    ),
    core.struct(
        "EphemeralContainer",
        "A temporary container added to a running pod for debugging. It has no resources, ports "
        "or probes and is never restarted.",
        [
            f(
                "name",
                STRING,
                "Name of the ephemeral container, unique among all containers of the pod.",
            ),
            f("image", STRING, "Image reference to run."),
            f(
                "command",
                list_of(STRING),
                "Executable and arguments that replace the image's ENTRYPOINT, with $(VAR) "
                "expansion.",
                list_type="atomic",
            ),
            f(
                "args",
                list_of(STRING),
                "Arguments that replace the image's CMD.",
                list_type="atomic",
            ),
            f("workingDir", STRING, "Directory the process starts in."),
            f(
                "ports",
                list_of(core.ref("ContainerPort")),
                "Not allowed for ephemeral containers.",
                list_type="map",
                map_keys=("containerPort", "protocol"),
                patch="merge",
                merge_key="containerPort",
            ),
            f(
                "envFrom",
                list_of(core.ref("EnvFromSource")),
                "Sources whose keys all become environment variables.",
                list_type="atomic",
            ),
            f(
                "env",
                list_of(core.ref("EnvVar")),
                "Environment variables to set.",
                list_type="map",
                map_keys=("name",),
                patch="merge",
                merge_key="name",
            ),
            f(
                "resources",
                core.ref("ResourceRequirements"),
                "Not allowed: ephemeral containers use the resources the pod already has.",
            ),
            f(
                "resizePolicy",
                list_of(core.ref("ContainerResizePolicy")),
                "Not allowed for ephemeral containers.",
                list_type="atomic",
            ),
            f("restartPolicy", STRING, "Not allowed for ephemeral containers."),
            f(
                "volumeMounts",
                list_of(core.ref("VolumeMount")),
                "Pod volumes to mount. subPath mounts are not allowed.",
                list_type="map",
                map_keys=("mountPath",),
                patch="merge",
                merge_key="mountPath",
            ),
            f(
                "volumeDevices",
                list_of(core.ref("VolumeDevice")),
                "Block devices to expose inside the container.",
                list_type="map",
                map_keys=("devicePath",),
                patch="merge",
                merge_key="devicePath",
            ),
            f("livenessProbe", core.ref("Probe"), "Not allowed for ephemeral containers."),
            f("readinessProbe", core.ref("Probe"), "Not allowed for ephemeral containers."),
            f("startupProbe", core.ref("Probe"), "Not allowed for ephemeral containers."),
            f("lifecycle", core.ref("Lifecycle"), "Not allowed for ephemeral containers."),
            f(
                "terminationMessagePath",
                STRING,
                "File whose contents become the termination message.",
            ),
            f(
                "terminationMessagePolicy",
                TERMINATION_MESSAGE_POLICY,
                "Where the termination message comes from (File or FallbackToLogsOnError).",
            ),
            f(
                "imagePullPolicy",
                PULL_POLICY,
                "When to pull the image: Always, IfNotPresent or Never.",
            ),
            f(
                "securityContext",
                core.ref("SecurityContext"),
                "Security settings for this container.",
            ),
            f("stdin", BOOL, "Keep a stdin buffer open so the container can be attached to."),
            f("stdinOnce", BOOL, "Close stdin after the first attached client disconnects."),
            f("tty", BOOL, "Allocate a terminal. Requires stdin."),
            f(
                "targetContainerName",
                STRING,
                "Name of an existing container whose process namespaces (PID, IPC) this one "
                "should share, if the runtime supports it.",
            ),
        ],
        required=("name",),
    ),
)
