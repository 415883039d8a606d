"""The schema tables hold the facts of k8s.io/api v1.33 for the kinds kubeproc serves."""

from __future__ import annotations

import pytest

from kubeproc.api.openapi import catalog
from kubeproc.api.openapi.dsl import (
    BOOL,
    INT32,
    INT64,
    INT_OR_STRING,
    QUANTITY,
    STRING,
    ListOf,
    MapOf,
    Prim,
    Ref,
    Schema,
    schema_json,
)

CORE = "io.k8s.api.core.v1"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"


def _schema(name: str) -> Schema:
    return catalog().get(name)


def _fields(name: str) -> set[str]:
    return set(_schema(name).by_name)


def test_probe_has_exactly_the_kubernetes_fields_and_types() -> None:
    """Probe: the four handlers, the timing fields as int32, the grace period as int64."""
    probe = _schema(f"{CORE}.Probe")
    types = {fld.name: fld.type for fld in probe.fields}
    assert types == {
        "exec": Ref(f"{CORE}.ExecAction"),
        "httpGet": Ref(f"{CORE}.HTTPGetAction"),
        "tcpSocket": Ref(f"{CORE}.TCPSocketAction"),
        "grpc": Ref(f"{CORE}.GRPCAction"),
        "initialDelaySeconds": INT32,
        "timeoutSeconds": INT32,
        "periodSeconds": INT32,
        "successThreshold": INT32,
        "failureThreshold": INT32,
        "terminationGracePeriodSeconds": INT64,
    }
    assert probe.required == ()


def test_container_has_every_field() -> None:
    """Container lists all 24 fields of v1.33, with name required."""
    assert _fields(f"{CORE}.Container") == {
        "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env",
        "resources", "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices",
        "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
        "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
        "securityContext", "stdin", "stdinOnce", "tty",
    }  # fmt: skip
    assert _schema(f"{CORE}.Container").required == ("name",)


def test_ephemeral_container_adds_target_container_name() -> None:
    """EphemeralContainer has the Container fields plus targetContainerName."""
    assert _fields(f"{CORE}.EphemeralContainer") == _fields(f"{CORE}.Container") | {
        "targetContainerName"
    }


@pytest.mark.parametrize(
    "source",
    [
        "emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected",
        "persistentVolumeClaim", "ephemeral", "csi", "nfs", "image",
    ],
)  # fmt: skip
def test_volume_sources_are_typed_structs(source: str) -> None:
    """Each volume source is a reference to a struct schema with its own fields."""
    fld = _schema(f"{CORE}.Volume").by_name[source]
    assert isinstance(fld.type, Ref)
    assert _schema(fld.type.name).fields


def test_pod_spec_lists_carry_merge_keys() -> None:
    """containers, volumes and tolerations carry the list and patch semantics of Kubernetes."""
    spec = _schema(f"{CORE}.PodSpec").by_name
    assert spec["containers"].map_keys == ("name",)
    assert spec["containers"].patch_merge_key == "name"
    assert spec["volumes"].patch_strategy == "merge,retainKeys"
    assert spec["tolerations"].list_type == "atomic"
    assert spec["nodeSelector"].map_type == "atomic"
    ports = _schema(f"{CORE}.Container").by_name["ports"]
    assert (ports.list_type, ports.map_keys) == ("map", ("containerPort", "protocol"))


def test_field_types_cover_maps_int_or_string_and_quantities() -> None:
    """Resources are maps of Quantity, probe ports IntOrString, labels maps of strings."""
    resources = _schema(f"{CORE}.ResourceRequirements").by_name
    assert resources["limits"].type == MapOf(QUANTITY)
    assert _schema(f"{CORE}.HTTPGetAction").by_name["port"].type == INT_OR_STRING
    assert _schema(f"{META}.ObjectMeta").by_name["labels"].type == MapOf(STRING)
    assert _schema(f"{CORE}.Container").by_name["command"].type == ListOf(STRING)
    assert _schema(f"{CORE}.PodSpec").by_name["hostNetwork"].type == BOOL


def test_primitive_schemas_render_as_kubectl_expects() -> None:
    """IntOrString and Quantity have no type (shown by name); Time is a date-time string."""
    int_or_string = schema_json(catalog().get(INT_OR_STRING.name))
    assert int_or_string["x-kubernetes-int-or-string"] is True
    assert "type" not in int_or_string
    assert "type" not in schema_json(catalog().get(QUANTITY.name))
    time = schema_json(catalog().get(f"{META}.Time"))
    assert (time["type"], time["format"]) == ("string", "date-time")


def test_atomic_structs_and_required_lists_match_kubernetes() -> None:
    """LabelSelector and OwnerReference are atomic; OwnerReference needs four fields."""
    assert _schema(f"{META}.LabelSelector").atomic
    owner = _schema(f"{META}.OwnerReference")
    assert owner.atomic
    assert set(owner.required) == {"apiVersion", "kind", "name", "uid"}
    assert _schema("io.k8s.api.apps.v1.DeploymentSpec").required == ("selector", "template")
    assert set(_schema("io.k8s.api.discovery.v1.EndpointSlice").required) == {
        "addressType",
        "endpoints",
    }


def test_enums_are_published_sorted() -> None:
    """Enumerated strings list their values sorted, e.g. the pod restart policy."""
    restart = _schema(f"{CORE}.PodSpec").by_name["restartPolicy"].type
    assert restart == Prim("string", enum=("Always", "Never", "OnFailure"))
    address = _schema("io.k8s.api.discovery.v1.EndpointSlice").by_name["addressType"].type
    assert address == Prim("string", enum=("FQDN", "IPv4", "IPv6"))
