"""Pod and pod-template defaults: ``SetDefaults_PodSpec`` and everything nested in it.

Two layers, as in kube-apiserver. ``default_pod_spec`` is what the generated defaulters do
to any PodSpec (pods and the templates of ReplicationControllers, ReplicaSets and
Deployments): policies, grace period, scheduler, security context, container pull policy
and termination message, port protocols, probe timings and handler defaults, env field
references, volume modes and types, and resource quantities rounded to milli-units in
canonical form. ``default_pod`` adds what only a Pod gets: ``SetDefaults_Pod`` (requests
from limits, service links, host-network ports) and the mutations of the admission plugins
every real cluster runs (service account, priority, default not-ready/unreachable
tolerations), because users see them on every pod they create. Admission runs on create
only; an object being created has no ``resourceVersion`` yet (the store assigns it), which
is how it is told apart from an update, where re-adding what a user removed would hide the
real server's "pod updates may not change fields" error.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.validation.quantity import canonical, parse_quantity, round_up_milli

DEFAULT_TOLERATION_SECONDS = 300
_NOT_READY = "node.kubernetes.io/not-ready"
_UNREACHABLE = "node.kubernetes.io/unreachable"
_VOLUME_SOURCES = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
)
_MODE_DEFAULTS = {"secret": 0o644, "configMap": 0o644, "downwardAPI": 0o644, "projected": 0o644}


def _dict(parent: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = parent.get(key)
    return value if isinstance(value, dict) else None


def _dicts(parent: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = parent.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def image_tag(image: str) -> str:
    """The tag the image reference names: ``latest`` when it names none and no digest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if digest or not image else "latest"


def default_resource_list(resources: object) -> None:
    """``SetDefaults_ResourceList``: round up to milli-units; store canonically."""
    if not isinstance(resources, dict):
        return
    for name, raw in list(resources.items()):
        q = parse_quantity(raw)
        if q is not None:
            resources[name] = canonical(round_up_milli(q))


def _default_http_get(handler: dict[str, Any]) -> None:
    action = _dict(handler, "httpGet")
    if action is not None:
        if not action.get("path"):
            action["path"] = "/"
        if not action.get("scheme"):
            action["scheme"] = "HTTP"


def default_probe(probe: dict[str, Any]) -> None:
    """``SetDefaults_Probe``: zero (or unset) counters get their defaults."""
    for field, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(field):
            probe[field] = value
    _default_http_get(probe)
    grpc = _dict(probe, "grpc")
    if grpc is not None and grpc.get("service") is None:
        grpc["service"] = ""


def _default_field_ref(holder: dict[str, Any]) -> None:
    ref = _dict(holder, "fieldRef")
    if ref is not None and not ref.get("apiVersion"):
        ref["apiVersion"] = "v1"


def default_container(ctr: dict[str, Any]) -> None:
    if not ctr.get("imagePullPolicy"):
        image = ctr.get("image")
        tag = image_tag(image) if isinstance(image, str) else ""
        ctr["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    if not ctr.get("terminationMessagePath"):
        ctr["terminationMessagePath"] = "/dev/termination-log"
    if not ctr.get("terminationMessagePolicy"):
        ctr["terminationMessagePolicy"] = "File"
    for port in _dicts(ctr, "ports"):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for env in _dicts(ctr, "env"):
        source = _dict(env, "valueFrom")
        if source is not None:
            _default_field_ref(source)
    resources = ctr.setdefault("resources", {})
    if isinstance(resources, dict):
        default_resource_list(resources.get("limits"))
        default_resource_list(resources.get("requests"))
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = _dict(ctr, kind)
        if probe is not None:
            default_probe(probe)
    lifecycle = _dict(ctr, "lifecycle")
    if lifecycle is not None:
        for hook in ("postStart", "preStop"):
            handler = _dict(lifecycle, hook)
            if handler is not None:
                _default_http_get(handler)


def default_volume(volume: dict[str, Any]) -> None:
    if not any(volume.get(kind) is not None for kind in _VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for kind, mode in _MODE_DEFAULTS.items():
        source = _dict(volume, kind)
        if source is not None and source.get("defaultMode") is None:
            source["defaultMode"] = mode
    host_path = _dict(volume, "hostPath")
    if host_path is not None and host_path.get("type") is None:
        host_path["type"] = ""
    downward = _dict(volume, "downwardAPI")
    if downward is not None:
        for item in _dicts(downward, "items"):
            _default_field_ref(item)
    projected = _dict(volume, "projected")
    if projected is not None:
        for source in _dicts(projected, "sources"):
            token = _dict(source, "serviceAccountToken")
            if token is not None and token.get("expirationSeconds") is None:
                token["expirationSeconds"] = 3600
            api = _dict(source, "downwardAPI")
            if api is not None:
                for item in _dicts(api, "items"):
                    _default_field_ref(item)
    iscsi = _dict(volume, "iscsi")
    if iscsi is not None and not iscsi.get("iscsiInterface"):
        iscsi["iscsiInterface"] = "default"


def default_pod_spec(spec: dict[str, Any]) -> None:
    """``SetDefaults_PodSpec`` and the defaults of everything a PodSpec holds."""
    for field, value in (
        ("dnsPolicy", "ClusterFirst"),
        ("restartPolicy", "Always"),
        ("schedulerName", "default-scheduler"),
    ):
        if not spec.get(field):
            spec[field] = value
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    for volume in _dicts(spec, "volumes"):
        default_volume(volume)
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for ctr in _dicts(spec, field):
            default_container(ctr)
    default_resource_list(spec.get("overhead"))


def _requests_from_limits(ctr: dict[str, Any]) -> None:
    resources = _dict(ctr, "resources")
    limits = _dict(resources, "limits") if resources is not None else None
    if resources is None or limits is None:
        return
    requests = resources.setdefault("requests", {})
    if isinstance(requests, dict):
        for name, value in limits.items():
            requests.setdefault(name, value)


def _tolerates(tolerations: list[dict[str, Any]], key: str) -> bool:
    return any(
        t.get("key", "") in (key, "") and t.get("effect", "") in ("NoExecute", "")
        for t in tolerations
    )


def _admission(spec: dict[str, Any]) -> None:
    """What the ServiceAccount, Priority and DefaultTolerationSeconds plugins add."""
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
    if not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    if spec.get("priority") is None and not spec.get("priorityClassName"):
        spec["priority"] = 0
    if spec.get("preemptionPolicy") is None:
        spec["preemptionPolicy"] = "PreemptLowerPriority"
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = []
    if not isinstance(tolerations, list):
        return
    existing = [t for t in tolerations if isinstance(t, dict)]
    added = [
        {
            "key": key,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
        }
        for key in (_NOT_READY, _UNREACHABLE)
        if not _tolerates(existing, key)
    ]
    if added:
        spec["tolerations"] = [*tolerations, *added]


def default_pod(pod: dict[str, Any]) -> None:
    """A Pod's defaults: ``SetDefaults_Pod`` first, then the spec's, then admission's."""
    spec = pod.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    for field in ("containers", "initContainers"):
        for ctr in _dicts(spec, field):
            _requests_from_limits(ctr)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for field in ("containers", "initContainers"):
            for ctr in _dicts(spec, field):
                for port in _dicts(ctr, "ports"):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort", 0)
    default_pod_spec(spec)
    meta = pod.get("metadata")
    if not (isinstance(meta, dict) and meta.get("resourceVersion")):
        _admission(spec)


def default_template(template: object) -> None:
    """A pod template inside a controller object: the spec-level defaults only."""
    if isinstance(template, dict):
        spec = template.get("spec")
        if isinstance(spec, dict):
            default_pod_spec(spec)
