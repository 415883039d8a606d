"""The pod the benches store: a realistic manifest of a few KB, as a team would deploy it.

Two containers (an app and a log-shipping sidecar) with env, resources, all three probe
kinds, ports, volume mounts and a security context, so defaulting, validation, managed
fields and the table printer all do the work they do for real pods.
"""

from __future__ import annotations

from typing import Any

NAMESPACE = "bench"
SEQ_LABEL = "bench-seq"
SCHEDULER = "bench-unscheduled"


def pod_name(index: int) -> str:
    return f"web-{index:06d}"


def _env() -> list[dict[str, Any]]:
    plain = [
        {"name": f"FEATURE_FLAG_{i:02d}", "value": "enabled" if i % 2 else "disabled"}
        for i in range(12)
    ]
    return [
        *plain,
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "DATABASE_URL", "value": "postgres://app@db.bench.svc:5432/app"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]


def _app_container() -> dict[str, Any]:
    return {
        "name": "app",
        "image": "registry.example.com/team/web:1.42.7",
        "imagePullPolicy": "IfNotPresent",
        "command": ["/app/server"],
        "args": ["--listen=:8080", "--metrics=:9090", "--config=/etc/app/config.yaml"],
        "ports": [
            {"name": "http", "containerPort": 8080, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
        ],
        "env": _env(),
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "startupProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "periodSeconds": 2,
            "failureThreshold": 30,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": 8080},
            "periodSeconds": 5,
            "successThreshold": 1,
            "failureThreshold": 2,
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/app", "readOnly": True},
            {"name": "cache", "mountPath": "/var/cache/app"},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _sidecar_container() -> dict[str, Any]:
    return {
        "name": "log-shipper",
        "image": "registry.example.com/platform/log-shipper:3.1.0",
        "args": ["--input=/var/log/app", "--output=tcp://logs.platform.svc:5170"],
        "env": [{"name": "SHIPPER_BATCH", "value": "512"}],
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "livenessProbe": {
            "exec": {"command": ["/bin/shipper", "health"]},
            "periodSeconds": 15,
        },
        "volumeMounts": [{"name": "cache", "mountPath": "/var/log/app", "readOnly": True}],
    }


def pod_manifest(index: int) -> dict[str, Any]:
    """Pod number ``index``; every pod has the same shape, only names and labels vary."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(index),
            "namespace": NAMESPACE,
            "labels": {
                "app": "web",
                "tier": "frontend",
                "shard": str(index % 16),
                "app.kubernetes.io/version": "1.42.7",
                SEQ_LABEL: "0",
            },
            "annotations": {
                "team.example.com/owner": "web-platform",
                "team.example.com/runbook": "https://runbooks.example.com/web",
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9090",
            },
        },
        "spec": {
            # Bound to a node that has no kubelet: this bench measures the API server and
            # its store, not 10,000 pods running on this machine.
            "nodeName": "bench-node-without-kubelet",
            "containers": [_app_container(), _sidecar_container()],
            "volumes": [
                {"name": "config", "configMap": {"name": "web-config"}},
                {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
            ],
            "terminationGracePeriodSeconds": 30,
            "restartPolicy": "Always",
            "serviceAccountName": "default",
            "schedulerName": SCHEDULER,
            "securityContext": {"fsGroup": 10001},
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
        },
    }
