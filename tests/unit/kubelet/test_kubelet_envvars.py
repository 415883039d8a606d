"""Container environments resolve, expand and fail with the kubelet's own words."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubeproc.kubelet.envvars import (
    EnvError,
    expand,
    expand_command,
    make_environment,
    service_env,
)


class Sources:
    def __init__(self, maps: dict[str, dict[str, str]], secrets: dict[str, dict[str, str]]) -> None:
        self.maps = maps
        self.secrets = secrets

    async def config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        data = self.maps.get(name)
        return None if data is None else {"data": data}

    async def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        data = self.secrets.get(name)
        if data is None:
            return None
        return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


SOURCES = Sources({"cm": {"color": "blue", "bad key": "x"}}, {"s": {"password": "hunter2"}})
POD: dict[str, Any] = {
    "metadata": {
        "name": "web",
        "namespace": "shop",
        "uid": "u-1",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"note": 'say "hi"'},
    },
    "spec": {"nodeName": "node-a", "serviceAccountName": "default", "containers": []},
}


async def env_of(container: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    result = await make_environment(
        POD, container, SOURCES, pod_ips=["10.88.0.7"], host_ip="127.0.0.1", **kwargs
    )
    return result.as_dict()


async def test_values_references_and_fields() -> None:
    """value, configMapKeyRef, secretKeyRef and fieldRef resolve; $(VAR) sees earlier vars."""
    env = await env_of(
        {
            "name": "c",
            "env": [
                {"name": "A", "value": "one"},
                {"name": "B", "value": "$(A)-two $$(A) $(MISSING)"},
                {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "color"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
                {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "LABELS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}},
            ],
        }
    )
    assert env["B"] == "one-two $(A) $(MISSING)"
    assert (env["COLOR"], env["PW"]) == ("blue", "hunter2")
    assert (env["NAME"], env["NS"], env["IP"], env["HOST"], env["NODE"]) == (
        "web",
        "shop",
        "10.88.0.7",
        "127.0.0.1",
        "node-a",
    )
    assert env["APP"] == "web"
    assert env["LABELS"] == 'app="web"\ntier="front"'


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            {"configMapKeyRef": {"name": "cm", "key": "size"}},
            "couldn't find key size in ConfigMap shop/cm",
        ),
        ({"configMapKeyRef": {"name": "nope", "key": "k"}}, 'configmap "nope" not found'),
        ({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found'),
        ({"secretKeyRef": {"name": "s", "key": "user"}}, "couldn't find key user in Secret shop/s"),
    ],
)
async def test_missing_required_values_fail_with_kubelet_text(
    ref: dict[str, Any], message: str
) -> None:
    """A missing key or object is an error with kubelet_pods.go's exact message."""
    with pytest.raises(EnvError) as caught:
        await env_of({"name": "c", "env": [{"name": "X", "valueFrom": ref}]})
    assert caught.value.message == message


async def test_optional_references_are_skipped() -> None:
    """optional: true and missing: the variable is simply not set."""
    env = await env_of(
        {
            "name": "c",
            "env": [
                {
                    "name": "X",
                    "valueFrom": {
                        "configMapKeyRef": {"name": "nope", "key": "k", "optional": True}
                    },
                },
                {
                    "name": "Y",
                    "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k", "optional": True}},
                },
            ],
        }
    )
    assert "X" not in env and "Y" not in env


async def test_env_from_with_prefix_and_invalid_names() -> None:
    """envFrom imports keys (with prefix), skips invalid names with a warning; env overrides."""
    result = await make_environment(
        POD,
        {
            "name": "c",
            "envFrom": [
                {"configMapRef": {"name": "cm"}, "prefix": "CM_"},
                {"secretRef": {"name": "s"}},
            ],
            "env": [{"name": "CM_color", "value": "red"}],
        },
        Sources({"cm": {"color": "blue", "bad=key": "x"}}, {"s": {"password": "p"}}),
        pod_ips=[],
        host_ip="127.0.0.1",
    )
    env = result.as_dict()
    assert env["CM_color"] == "red"
    assert env["password"] == "p"
    assert result.warnings == [
        "Keys [CM_bad=key] from the EnvFrom configMap shop/cm were skipped since they are "
        "considered invalid environment variable names."
    ]


async def test_resource_field_refs_with_divisors() -> None:
    """resourceFieldRef rounds up in the divisor's unit; unset limits are the node's."""
    container = {
        "name": "c",
        "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}, "requests": {"cpu": "100m"}},
        "env": [
            {
                "name": "MEM",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            {
                "name": "MCPU",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}},
            },
            {
                "name": "REQ",
                "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}},
            },
            {
                "name": "DISK",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.ephemeral-storage"}},
            },
        ],
    }
    env = await env_of(container, allocatable={"ephemeral-storage": "10Gi"})
    assert (env["MEM"], env["CPU"], env["MCPU"], env["REQ"]) == ("64", "1", "250", "100")
    assert env["DISK"] == str(10 * 1024**3)


async def test_service_links() -> None:
    """Service variables come after the container's own, which win on a clash."""
    services = service_env(
        [
            {
                "metadata": {"name": "redis-primary"},
                "spec": {
                    "clusterIP": "10.0.0.11",
                    "ports": [{"name": "db", "port": 6379, "protocol": "TCP"}],
                },
            },
            {
                "metadata": {"name": "headless"},
                "spec": {"clusterIP": "None", "ports": [{"port": 80}]},
            },
        ]
    )
    assert services == {
        "REDIS_PRIMARY_SERVICE_HOST": "10.0.0.11",
        "REDIS_PRIMARY_SERVICE_PORT": "6379",
        "REDIS_PRIMARY_SERVICE_PORT_DB": "6379",
        "REDIS_PRIMARY_PORT": "tcp://10.0.0.11:6379",
        "REDIS_PRIMARY_PORT_6379_TCP": "tcp://10.0.0.11:6379",
        "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "6379",
        "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "10.0.0.11",
    }
    env = await env_of(
        {
            "name": "c",
            "env": [
                {"name": "REDIS_PRIMARY_SERVICE_PORT", "value": "1"},
                {"name": "U", "value": "$(REDIS_PRIMARY_SERVICE_HOST)"},
            ],
        },
        services=services,
    )
    assert env["REDIS_PRIMARY_SERVICE_PORT"] == "1"
    assert env["U"] == "10.0.0.11"


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$(A)", "1"),
        ("x$(A)y", "x1y"),
        ("$$(A)", "$(A)"),
        ("$$", "$"),
        ("$(B", "$(B"),
        ("$A", "$A"),
        ("$(UNSET)", "$(UNSET)"),
        ("a$", "a$"),
    ],
)
def test_expand(text: str, expanded: str) -> None:
    """$(VAR) expansion follows Kubernetes' expansion package, escapes included."""
    assert expand(text, {"A": "1"}) == expanded


def test_command_and_args_are_expanded() -> None:
    """command then args, each expanded against the final environment."""
    container = {"command": ["sh", "-c"], "args": ["echo $(GREETING) $$(GREETING)"]}
    assert expand_command(container, {"GREETING": "hi"}) == ["sh", "-c", "echo hi $(GREETING)"]
