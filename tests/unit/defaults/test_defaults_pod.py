"""Pod defaulting: SetDefaults_PodSpec and friends, SetDefaults_Pod, and admission's additions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.resources import REGISTRY, ResourceType

NOT_READY = {
    "key": "node.kubernetes.io/not-ready",
    "operator": "Exists",
    "effect": "NoExecute",
    "tolerationSeconds": 300,
}
UNREACHABLE = {**NOT_READY, "key": "node.kubernetes.io/unreachable"}


def pod_rt() -> ResourceType:
    found = REGISTRY.by_kind("", "v1", "Pod")
    assert found is not None
    return found


def defaulted(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    pod = {"metadata": {"name": "p", "namespace": "default", **meta}, "spec": spec}
    apply_defaults(pod_rt(), pod)
    return pod["spec"]


def one_container(**ctr: Any) -> dict[str, Any]:
    return {"containers": [{"name": "app", "image": "nginx:1.25", **ctr}]}


def test_minimal_pod_gets_every_default_users_see() -> None:
    """A name-and-image pod reads back exactly as from a real cluster (minus server-set fields)."""
    assert defaulted(one_container()) == {
        "containers": [
            {
                "name": "app",
                "image": "nginx:1.25",
                "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "resources": {},
            }
        ],
        "enableServiceLinks": True,
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "priority": 0,
        "preemptionPolicy": "PreemptLowerPriority",
        "tolerations": [NOT_READY, UNREACHABLE],
    }


PULL_POLICIES = [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("registry.local:5000/team/app", "Always"),
    ("nginx:1.25", "IfNotPresent"),
    ("registry.local:5000/team/app:v2", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
]


@pytest.mark.parametrize(("image", "policy"), PULL_POLICIES)
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    """``Always`` for ``:latest`` or no tag; ``IfNotPresent`` for any other tag or a digest."""
    assert defaulted(one_container(image=image))["containers"][0]["imagePullPolicy"] == policy


def test_explicit_values_are_kept() -> None:
    """Defaulting never overwrites what the user set."""
    spec = defaulted(
        one_container(imagePullPolicy="Never", terminationMessagePolicy="FallbackToLogsOnError")
        | {
            "restartPolicy": "OnFailure",
            "terminationGracePeriodSeconds": 5,
            "serviceAccountName": "robot",
        }
    )
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert spec["containers"][0]["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert (spec["restartPolicy"], spec["terminationGracePeriodSeconds"]) == ("OnFailure", 5)
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("robot", "robot")


def test_ports_env_and_probes_are_defaulted() -> None:
    """Ports get TCP, field refs get ``apiVersion: v1``, probes get timings and HTTP defaults."""
    spec = defaulted(
        one_container(
            ports=[{"containerPort": 80}],
            env=[{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            readinessProbe={"httpGet": {"port": 80}, "periodSeconds": 5},
            startupProbe={"grpc": {"port": 9090}},
            lifecycle={"preStop": {"httpGet": {"port": 80}}},
        )
    )
    ctr = spec["containers"][0]
    assert ctr["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert ctr["env"][0]["valueFrom"]["fieldRef"] == {
        "fieldPath": "spec.nodeName",
        "apiVersion": "v1",
    }
    assert ctr["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "periodSeconds": 5,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert ctr["startupProbe"]["grpc"] == {"port": 9090, "service": ""}
    assert ctr["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}


def test_volume_sources_get_their_defaults() -> None:
    """configMap/secret modes 420, hostPath type "", and a source-less volume is an emptyDir."""
    spec = defaulted(
        {
            **one_container(),
            "volumes": [
                {"name": "a", "configMap": {"name": "cfg"}},
                {"name": "b", "secret": {"secretName": "s"}},
                {"name": "c", "hostPath": {"path": "/var/log"}},
                {"name": "d"},
                {
                    "name": "e",
                    "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
                },
            ],
        }
    )
    assert spec["volumes"] == [
        {"name": "a", "configMap": {"name": "cfg", "defaultMode": 420}},
        {"name": "b", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "c", "hostPath": {"path": "/var/log", "type": ""}},
        {"name": "d", "emptyDir": {}},
        {
            "name": "e",
            "projected": {
                "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}],
                "defaultMode": 420,
            },
        },
    ]


def test_requests_default_to_limits_in_canonical_form() -> None:
    """Limits without requests become requests too; quantities are stored canonically."""
    spec = defaulted(one_container(resources={"limits": {"cpu": "0.5", "memory": "1024Mi"}}))
    assert spec["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "1Gi"},
        "requests": {"cpu": "500m", "memory": "1Gi"},
    }


def test_host_network_ports_get_host_ports() -> None:
    """With hostNetwork, each container port's hostPort defaults to its containerPort."""
    spec = defaulted(one_container(ports=[{"containerPort": 8080}]) | {"hostNetwork": True})
    assert spec["containers"][0]["ports"] == [
        {"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}
    ]


def test_existing_not_ready_toleration_is_not_duplicated() -> None:
    """A pod already tolerating not-ready only gets the unreachable toleration."""
    own = {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 5,
    }
    spec = defaulted(one_container() | {"tolerations": [own]})
    assert spec["tolerations"] == [own, UNREACHABLE]


def test_admission_defaults_are_not_reapplied_on_update() -> None:
    """An object with a resourceVersion is an update: admission's additions are not re-made."""
    spec = defaulted(one_container(), resourceVersion="12")
    assert "tolerations" not in spec
    assert "serviceAccountName" not in spec


def test_defaulting_is_idempotent() -> None:
    """Applying the defaults twice changes nothing the second time."""
    once = defaulted(
        one_container(resources={"limits": {"cpu": "1"}}, livenessProbe={"tcpSocket": {"port": 80}})
    )
    twice = copy.deepcopy(once)
    pod = {"metadata": {"name": "p"}, "spec": twice}
    apply_defaults(pod_rt(), pod)
    assert pod["spec"] == once
