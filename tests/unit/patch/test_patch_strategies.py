"""The per-kind merge table: the facts from Kubernetes' types that both algorithms read."""

from __future__ import annotations

import pytest

from kubeproc.api.patch import ListType, Schema, reset_fields, schema_for, zero_object


def _at(schema: Schema, *path: str) -> Schema:
    for name in path:
        schema = schema.item() if name == "[]" else schema.child(name)
    return schema


POD_SPEC = ("spec",)
TEMPLATE_SPEC = ("spec", "template", "spec")


@pytest.mark.parametrize(
    ("group", "kind", "path", "keys", "merge_key"),
    [
        ("", "Pod", (*POD_SPEC, "containers"), ("name",), "name"),
        ("", "Pod", (*POD_SPEC, "initContainers"), ("name",), "name"),
        ("", "Pod", (*POD_SPEC, "ephemeralContainers"), ("name",), "name"),
        ("", "Pod", (*POD_SPEC, "containers", "[]", "env"), ("name",), "name"),
        ("", "Pod", (*POD_SPEC, "containers", "[]", "volumeMounts"), ("mountPath",), "mountPath"),
        (
            "",
            "Pod",
            (*POD_SPEC, "containers", "[]", "ports"),
            ("containerPort", "protocol"),
            "containerPort",
        ),
        ("", "Pod", (*POD_SPEC, "volumes"), ("name",), "name"),
        ("", "Pod", (*POD_SPEC, "imagePullSecrets"), ("name",), "name"),
        ("", "Pod", (*POD_SPEC, "hostAliases"), ("ip",), "ip"),
        (
            "",
            "Pod",
            (*POD_SPEC, "topologySpreadConstraints"),
            ("topologyKey", "whenUnsatisfiable"),
            "topologyKey",
        ),
        ("", "Pod", ("status", "conditions"), ("type",), "type"),
        ("", "Pod", ("status", "podIPs"), ("ip",), "ip"),
        ("", "Service", ("spec", "ports"), ("port", "protocol"), "port"),
        ("", "Node", ("status", "addresses"), ("type",), "type"),
        ("", "ServiceAccount", ("secrets",), ("name",), "name"),
        ("apps", "Deployment", (*TEMPLATE_SPEC, "containers"), ("name",), "name"),
        ("apps", "ReplicaSet", (*TEMPLATE_SPEC, "containers", "[]", "env"), ("name",), "name"),
        ("", "ReplicationController", (*TEMPLATE_SPEC, "volumes"), ("name",), "name"),
        ("apps", "Deployment", ("status", "conditions"), ("type",), "type"),
        ("", "ConfigMap", ("metadata", "ownerReferences"), ("uid",), "uid"),
    ],
)
def test_keyed_lists(
    group: str, kind: str, path: tuple[str, ...], keys: tuple[str, ...], merge_key: str
) -> None:
    """Lists merged by key carry SSA's list-map keys and SMP's merge key."""
    schema = _at(schema_for(group, kind), *path)
    assert (schema.list_type, schema.keys, schema.merge_key, schema.merge) == (
        ListType.MAP,
        keys,
        merge_key,
        True,
    )


@pytest.mark.parametrize(
    ("group", "kind", "path"),
    [
        ("", "Pod", (*POD_SPEC, "tolerations")),
        ("", "Pod", (*POD_SPEC, "containers", "[]", "args")),
        ("", "Namespace", ("spec", "finalizers")),
        ("discovery.k8s.io", "EndpointSlice", ("endpoints",)),
        ("networking.k8s.io", "NetworkPolicy", ("spec", "ingress")),
    ],
)
def test_atomic_lists(group: str, kind: str, path: tuple[str, ...]) -> None:
    """Lists Kubernetes replaces whole are atomic and not merged by SMP."""
    schema = _at(schema_for(group, kind), *path)
    assert (schema.list_type, schema.merge) == (ListType.ATOMIC, False)


def test_special_cases_from_the_types() -> None:
    """Facts where SMP and SSA disagree, retainKeys, sets and atomic maps and structs."""
    pod = schema_for("", "Pod")
    host_ips = _at(pod, "status", "hostIPs")
    assert (host_ips.list_type, host_ips.merge_key) == (ListType.ATOMIC, "ip")
    claims = _at(pod, "spec", "containers", "[]", "resources", "claims")
    assert (claims.list_type, claims.keys, claims.merge) == (ListType.MAP, ("name",), False)
    assert _at(pod, "spec", "volumes").retain_keys
    assert _at(schema_for("apps", "Deployment"), "spec", "strategy").retain_keys
    assert _at(pod, "metadata", "finalizers").list_type is ListType.SET
    assert _at(schema_for("", "Node"), "spec", "podCIDRs").list_type is ListType.SET
    assert _at(pod, "spec", "nodeSelector").atomic
    assert _at(schema_for("", "Service"), "spec", "selector").atomic
    assert _at(schema_for("apps", "Deployment"), "spec", "selector").atomic
    assert _at(schema_for("", "Event"), "involvedObject").atomic
    assert _at(pod, "spec", "containers", "[]", "ports").key_defaults == {"protocol": "TCP"}
    assert not _at(pod, "metadata", "labels").is_field("app")


def test_zero_objects_and_reset_fields() -> None:
    """Go zero values and per-endpoint reset fields match the registry strategies."""
    assert zero_object("apps", "Deployment")["spec"]["template"]["spec"] == {"containers": None}
    assert zero_object("", "ConfigMap") == {"metadata": {"creationTimestamp": None}}
    assert reset_fields("", "Pod", "") == (("status",),)
    assert reset_fields("", "ConfigMap", "") == ()
    assert ("spec",) in reset_fields("", "Pod", "status")
