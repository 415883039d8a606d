"""Strict field validation: unknown fields found and named as kube-apiserver's decoder does."""

from __future__ import annotations

from typing import Any

import pytest

from kubeproc.api.openapi import (
    prune_unknown,
    strict_decoding_message,
    strict_error_message,
    strict_warnings,
    unknown_field_error,
    unknown_fields,
)


def _pod(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec},
    }


def test_a_valid_pod_has_no_unknown_fields() -> None:
    """A pod using probes, env, volumes, resources and status fields is accepted whole."""
    pod = _pod(
        volumes=[{"name": "v", "configMap": {"name": "cm", "items": [{"key": "k", "path": "p"}]}}],
        tolerations=[{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
    )
    pod["spec"]["containers"][0].update(
        livenessProbe={"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5},
        env=[{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        resources={"limits": {"cpu": "500m", "memory": "64Mi"}},
        volumeMounts=[{"name": "v", "mountPath": "/etc/v"}],
    )
    pod["metadata"]["managedFields"] = [{"manager": "m", "fieldsV1": {"f:spec": {"anything": 1}}}]
    pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    assert unknown_fields("", "v1", "Pod", pod) == []


def test_unknown_fields_are_named_by_path_with_list_indexes() -> None:
    """A misspelt probe in the second container is spec.containers[1].livenssProbe."""
    pod = _pod()
    pod["spec"]["containers"].append({"name": "d", "livenssProbe": {}})
    assert unknown_fields("", "v1", "Pod", pod) == ["spec.containers[1].livenssProbe"]


def test_unknown_fields_are_reported_in_body_order_at_every_depth() -> None:
    """Top-level, nested and deeply nested unknown keys all appear, in the body's order."""
    pod = _pod(foo=1)
    pod["bar"] = True
    pod["spec"]["containers"][0]["livenessProbe"] = {"httpGet": {"port": 80, "paht": "/"}}
    assert unknown_fields("", "v1", "Pod", pod) == [
        "spec.containers[0].livenessProbe.httpGet.paht",
        "spec.foo",
        "bar",
    ]


def test_field_names_are_case_sensitive() -> None:
    """Spec is not spec: Kubernetes decodes JSON case-sensitively."""
    assert unknown_fields("", "v1", "ConfigMap", {"Data": {}}) == ["Data"]


def test_map_values_are_walked_with_the_key_in_the_path() -> None:
    """Map keys join the path like fields do (the decoder's strict field stack)."""
    svc = {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "nodeport": 1}]}}
    assert unknown_fields("", "v1", "Service", svc) == ["spec.ports[0].nodeport"]


def test_values_of_the_wrong_shape_are_left_to_the_decoder() -> None:
    """A string where an object belongs is not walked (decoding fails for another reason)."""
    assert unknown_fields("", "v1", "Pod", {"spec": "oops", "metadata": None}) == []
    assert unknown_fields("", "v1", "Pod", {"spec": {"containers": [None, "x"]}}) == []


@pytest.mark.parametrize(
    ("group", "kind", "body", "expected"),
    [
        (
            "apps",
            "Deployment",
            {"spec": {"template": {"spec": {"containerz": []}}}},
            ["spec.template.spec.containerz"],
        ),
        (
            "apps",
            "Deployment",
            {"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%", "x": 1}}}},
            ["spec.strategy.rollingUpdate.x"],
        ),
        (
            "networking.k8s.io",
            "NetworkPolicy",
            {"spec": {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "exept": []}}]}]}},
            ["spec.ingress[0].from[0].ipBlock.exept"],
        ),
        (
            "discovery.k8s.io",
            "EndpointSlice",
            {"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"], "ready": True}]},
            ["endpoints[0].ready"],
        ),
        ("coordination.k8s.io", "Lease", {"spec": {"holder": "x"}}, ["spec.holder"]),
        ("events.k8s.io", "Event", {"regarding": {"kind": "Pod", "nam": "x"}}, ["regarding.nam"]),
        ("", "PodList", {"items": [{"spec": {"x": 1}}]}, ["items[0].spec.x"]),
        ("autoscaling", "Scale", {"spec": {"replicas": 2, "replica": 3}}, ["spec.replica"]),
    ],
)
def test_every_served_group_is_checked(
    group: str, kind: str, body: dict[str, Any], expected: list[str]
) -> None:
    """Kinds of every served group, list kinds and subresource bodies are walked."""
    assert unknown_fields(group, "v1", kind, body) == expected


def test_kinds_without_a_schema_are_not_checked() -> None:
    """An unserved kind yields no unknown fields rather than an error."""
    assert unknown_fields("batch", "v1", "Job", {"spec": {"anything": 1}}) == []


def test_at_most_one_hundred_errors_are_kept() -> None:
    """The decoder stops collecting strict errors at 100; so does the checker."""
    body = {f"f{i}": i for i in range(150)}
    found = unknown_fields("", "v1", "ConfigMap", body)
    assert len(found) == 100
    assert found[0] == "f0"
    assert found[-1] == "f99"


def test_strict_error_message_matches_the_apiserver() -> None:
    """The aggregated error reads 'strict decoding error: unknown field "a", unknown field "b"'."""
    paths = ["spec.foo", "spec.containers[0].livenssProbe"]
    assert strict_error_message(paths) == (
        'strict decoding error: unknown field "spec.foo", '
        'unknown field "spec.containers[0].livenssProbe"'
    )


def test_create_rejection_message_names_kind_and_version() -> None:
    """Create/update with Strict fail: '<Kind> in version "<v>" cannot be handled as a <Kind>'."""
    assert strict_decoding_message("Deployment", "v1", ["spec.foo"]) == (
        'Deployment in version "v1" cannot be handled as a Deployment: '
        'strict decoding error: unknown field "spec.foo"'
    )


def test_warn_mode_gives_one_warning_per_field() -> None:
    """fieldValidation=Warn sends each unknown field as its own warning text."""
    assert strict_warnings(["spec.foo", "bar"]) == [
        'unknown field "spec.foo"',
        'unknown field "bar"',
    ]


def test_quotes_in_field_names_are_escaped_like_go() -> None:
    """A key containing quotes or backslashes is quoted as Go's strconv.Quote would."""
    assert unknown_field_error('a"b\\c\n') == 'unknown field "a\\"b\\\\c\\n"'


def test_prune_unknown_drops_unknown_fields_at_every_depth() -> None:
    """The pruned body keeps known fields and loses unknown ones, nested ones included."""
    pod = _pod(foo=1)
    pod["spec"]["containers"][0]["livenssProbe"] = {}
    pod["metadata"]["labels"]["x"] = "y"
    pruned = prune_unknown("", "v1", "Pod", pod)
    assert pruned == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web", "x": "y"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    assert unknown_fields("", "v1", "Pod", pruned) == []


def test_prune_unknown_leaves_the_input_alone() -> None:
    """The input is not modified; opaque values (fieldsV1) and unknown kinds pass through."""
    pod = _pod(foo=1)
    pod["metadata"]["managedFields"] = [{"manager": "m", "fieldsV1": {"f:spec": {}}}]
    pruned = prune_unknown("", "v1", "Pod", pod)
    assert pod["spec"]["foo"] == 1
    assert pruned["metadata"]["managedFields"] == [{"manager": "m", "fieldsV1": {"f:spec": {}}}]
    job = {"spec": {"anything": 1}}
    assert prune_unknown("batch", "v1", "Job", job) == job
