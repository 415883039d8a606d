"""A Pod sent as protobuf by a generic client decodes field for field, as its JSON would.

The body is written by hand with field numbers read from core/v1 ``generated.proto``, not
from our tables, so this is an independent check of the Pod, container, probe, volume and
status messages. The expected dicts follow Go's JSON rules: ``resources`` and
``lastState`` are structs (always present), pointer fields keep zero values
(``privileged: false``, ``terminationGracePeriodSeconds: 0``), omitempty values drop.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.protobuf import decode_body
from kubeproc.api.protobuf.testing import body, entry, field, message, packed

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
T0_JSON = "2023-11-14T22:13:20Z"


def _time(seconds: int) -> bytes:
    return message(field(1, seconds))


def _quantity(text: str) -> bytes:
    return message(field(1, text))


def _int_port(port: int) -> bytes:
    return message(field(1, 0), field(2, port))


def _named_port(name: str) -> bytes:
    return message(field(1, 1), field(3, name))


def _main_container() -> bytes:
    env = [
        message(field(1, "A"), field(2, "1")),
        message(field(1, "POD"), field(3, message(field(1, message(field(2, "metadata.name")))))),
        message(
            field(1, "PW"),
            field(3, message(field(4, message(field(1, message(field(1, "s"))), field(2, "pw"))))),
        ),
    ]
    liveness = message(
        field(1, message(field(2, message(
            field(1, "/healthz"),
            field(2, _named_port("http")),
            field(4, "HTTP"),
            field(5, message(field(1, "X-Probe"), field(2, "yes"))),
        )))),
        field(2, 3),
        field(4, 10),
        field(6, 3),
    )  # fmt: skip
    readiness = message(field(1, message(field(3, message(field(1, _int_port(80)))))), field(3, 1))
    startup = message(field(1, message(field(1, message(field(1, ["cat", "/tmp/ready"]))))))
    lifecycle = message(
        field(1, message(field(1, message(field(1, ["echo", "hi"]))))),
        field(2, message(field(4, message(field(1, 5))))),
    )
    env_from = message(field(1, "CFG_"), field(2, message(field(1, message(field(1, "cfg"))))))
    security = message(
        field(1, message(field(1, "NET_ADMIN"), field(2, "ALL"))),
        field(2, False),
        field(4, 1000),
        field(5, True),
        field(6, True),
        field(7, False),
    )
    return message(
        field(1, "main"),
        field(2, "nginx"),
        field(4, ["-g", "daemon off;"]),
        field(5, "/srv"),
        field(6, message(field(1, "http"), field(3, 80), field(4, "TCP"))),
        field(19, env_from),
        field(7, env),
        field(8, message(
            entry(1, "cpu", _quantity("500m")),
            entry(1, "memory", _quantity("128Mi")),
            entry(2, "cpu", _quantity("100m")),
        )),
        field(9, message(field(1, "data"), field(2, True), field(3, "/data"))),
        field(10, liveness),
        field(11, readiness),
        field(22, startup),
        field(12, lifecycle),
        field(13, "/dev/termination-log"),
        field(20, "File"),
        field(14, "IfNotPresent"),
        field(15, security),
        field(16, False),
        field(18, True),
    )  # fmt: skip


def _pod() -> bytes:
    metadata = message(
        field(1, "web"),
        field(3, "default"),
        field(8, _time(T0)),
        entry(11, "app", "web"),
        entry(12, "note", "x"),
    )
    volumes = [
        message(field(1, "data"), field(2, message(field(2, message(
            field(1, "Memory"), field(2, _quantity("1Gi"))
        ))))),
        message(field(1, "cfg"), field(2, message(field(19, message(
            field(1, message(field(1, "cfg"))),
            field(2, message(field(1, "k"), field(2, "p"), field(3, 0o400))),
            field(3, 420),
        ))))),
    ]  # fmt: skip
    sidecar = message(
        field(1, "grpc"),
        field(2, "grpc-server"),
        field(11, message(field(1, message(field(4, message(field(1, 9000))))))),
    )
    spec = message(
        field(1, volumes),
        field(20, message(field(1, "init"), field(2, "busybox"), field(3, ["sh", "-c", "true"]))),
        field(2, [_main_container(), sidecar]),
        field(3, "Always"),
        field(4, 0),
        field(6, "ClusterFirst"),
        entry(7, "disk", "ssd"),
        field(8, "default"),
        field(10, "node-1"),
        field(11, False),
        field(14, message(field(2, 1000), field(5, 2000), packed(4, [1, 2]))),
        field(22, message(field(1, "k"), field(2, "Exists"), field(4, "NoExecute"), field(5, 60))),
    )
    status = message(
        field(1, "Running"),
        field(2, message(field(1, "Ready"), field(2, "True"), field(4, _time(T0)))),
        field(6, "10.0.0.5"),
        field(12, message(field(1, "10.0.0.5"))),
        field(7, _time(T0)),
        field(8, message(
            field(1, "main"),
            field(2, message(field(2, message(field(1, _time(T0)))))),
            field(4, True),
            field(5, 0),
            field(6, "nginx"),
            field(7, "docker.io/library/nginx@sha256:0"),
            field(8, "containerd://1"),
            field(9, True),
        )),
        field(9, "Burstable"),
    )  # fmt: skip
    return message(field(1, metadata), field(2, spec), field(3, status))


EXPECTED_MAIN: dict[str, Any] = {
    "name": "main",
    "image": "nginx",
    "args": ["-g", "daemon off;"],
    "workingDir": "/srv",
    "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
    "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "cfg"}}],
    "env": [
        {"name": "A", "value": "1"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
    ],
    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
    "volumeMounts": [{"name": "data", "readOnly": True, "mountPath": "/data"}],
    "livenessProbe": {
        "httpGet": {
            "path": "/healthz",
            "port": "http",
            "scheme": "HTTP",
            "httpHeaders": [{"name": "X-Probe", "value": "yes"}],
        },
        "initialDelaySeconds": 3,
        "periodSeconds": 10,
        "failureThreshold": 3,
    },
    "readinessProbe": {"tcpSocket": {"port": 80}, "timeoutSeconds": 1},
    "startupProbe": {"exec": {"command": ["cat", "/tmp/ready"]}},
    "lifecycle": {
        "postStart": {"exec": {"command": ["echo", "hi"]}},
        "preStop": {"sleep": {"seconds": 5}},
    },
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "imagePullPolicy": "IfNotPresent",
    "securityContext": {
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
        "privileged": False,
        "runAsUser": 1000,
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
    },
    "tty": True,
}


def test_pod_metadata() -> None:
    """Name, namespace, labels, annotations and creationTimestamp come out as in JSON."""
    pod = decode_body(body("v1", "Pod", _pod()))

    assert pod["apiVersion"] == "v1"
    assert pod["kind"] == "Pod"
    assert pod["metadata"] == {
        "name": "web",
        "namespace": "default",
        "creationTimestamp": T0_JSON,
        "labels": {"app": "web"},
        "annotations": {"note": "x"},
    }


def test_pod_main_container_has_every_field() -> None:
    """Ports, env, resources, mounts, three probes, lifecycle and securityContext decode."""
    containers = decode_body(body("v1", "Pod", _pod()))["spec"]["containers"]

    assert containers[0] == EXPECTED_MAIN


def test_grpc_probe_service_is_null_when_not_sent() -> None:
    """GRPCAction.service is a pointer without omitempty, so JSON carries null."""
    sidecar = decode_body(body("v1", "Pod", _pod()))["spec"]["containers"][1]

    assert sidecar == {
        "name": "grpc",
        "image": "grpc-server",
        "resources": {},
        "readinessProbe": {"grpc": {"port": 9000, "service": None}},
    }


def test_pod_spec_fields_and_inline_volume_sources() -> None:
    """Volume sources sit inline beside the volume name; pointer zeros are kept."""
    spec = decode_body(body("v1", "Pod", _pod()))["spec"]

    assert spec["volumes"] == [
        {"name": "data", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
        {
            "name": "cfg",
            "configMap": {
                "name": "cfg",
                "items": [{"key": "k", "path": "p", "mode": 0o400}],
                "defaultMode": 420,
            },
        },
    ]
    assert spec["initContainers"] == [
        {"name": "init", "image": "busybox", "command": ["sh", "-c", "true"], "resources": {}}
    ]
    rest = {k: v for k, v in spec.items() if k not in {"volumes", "initContainers", "containers"}}
    assert rest == {
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 0,
        "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"disk": "ssd"},
        "serviceAccountName": "default",
        "nodeName": "node-1",
        "securityContext": {"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [1, 2]},
        "tolerations": [
            {"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}
        ],
    }


def test_pod_status() -> None:
    """Conditions, IPs, times and container states decode; unset times are null."""
    status = decode_body(body("v1", "Pod", _pod()))["status"]

    assert status == {
        "phase": "Running",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": T0_JSON,
            }
        ],
        "podIP": "10.0.0.5",
        "podIPs": [{"ip": "10.0.0.5"}],
        "startTime": T0_JSON,
        "containerStatuses": [
            {
                "name": "main",
                "state": {"running": {"startedAt": T0_JSON}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": "nginx",
                "imageID": "docker.io/library/nginx@sha256:0",
                "containerID": "containerd://1",
                "started": True,
            }
        ],
        "qosClass": "Burstable",
    }


def test_empty_pod_is_what_go_prints_for_a_zero_pod() -> None:
    """A Pod with no fields has the struct fields JSON always prints, containers null."""
    assert decode_body(body("v1", "Pod", b"")) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"creationTimestamp": None},
        "spec": {"containers": None},
        "status": {},
    }
