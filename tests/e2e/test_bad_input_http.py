"""Bad requests over raw HTTPS: the exact ``Status`` kube-apiserver answers, and no write.

Each case sends what a client might (a body that is not JSON, a kind the URL does not
name, a type Go cannot decode, a field the kind does not have, an old resourceVersion, a
body over 3 MiB, a media type no serializer reads) and compares the whole ``Status`` body
with the real server's, then checks the store: the object is absent or unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.harness import Node
from tests.e2e.test_bad_input_support import (
    NOT_FOUND_PATH,
    configmap,
    failure,
    get,
    missing,
    names,
    new_namespace,
    pod,
    status,
)

pytestmark = pytest.mark.e2e

FIND_KIND = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)
UNRECOGNIZED = "the object provided is unrecognized (must be of type ConfigMap): "
LIMIT = 3 * 1024 * 1024


def cm_path(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/configmaps" + (f"/{name}" if name else "")


def bad_request(message: str) -> dict[str, Any]:
    return status(400, "BadRequest", message)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"',
            "application/json",
            UNRECOGNIZED + "couldn't get version/kind; json parse error: unexpected end of "
            'JSON input ({"apiVersion":"v1","kind":"Con ...)',
        ),
        (
            b'{"metadata": {name: "c"}}',
            "application/json",
            UNRECOGNIZED + "couldn't get version/kind; json parse error: invalid character "
            """'n' looking for beginning of object key string ({"metadata": {name: "c"}})""",
        ),
        (
            b'{"kind":"ConfigMap",}',
            "application/json",
            UNRECOGNIZED + "couldn't get version/kind; json parse error: invalid character "
            """'}' looking for beginning of object key string ({"kind":"ConfigMap",})""",
        ),
        (
            b"[]",
            "application/json",
            UNRECOGNIZED + "couldn't get version/kind; json parse error: json: cannot "
            f"unmarshal array into Go value of type {FIND_KIND} (5b5d)",
        ),
        (
            b'{"apiVersion":1}',
            "application/json",
            UNRECOGNIZED + "couldn't get version/kind; json parse error: json: cannot "
            'unmarshal number into Go struct field .apiVersion of type string ({"apiVersion":1})',
        ),
        (
            b"",
            "application/json",
            UNRECOGNIZED + "couldn't get version/kind; json parse error: unexpected end of "
            "JSON input (<empty>)",
        ),
        (
            b"metadata: [c",
            "application/yaml",
            UNRECOGNIZED
            + "yaml: line 1: did not find expected ',' or ']' (6d657461646174613a205b63)",
        ),
        (
            b"metadata:\n\tname: c",
            "application/yaml",
            UNRECOGNIZED + "yaml: line 2: found character that cannot start any token "
            "(6d657461646174613a0a096e616d653a2063)",
        ),
    ],
    ids=[
        "truncated",
        "bare-key",
        "trailing-comma",
        "array",
        "typed-version",
        "empty",
        "yaml",
        "tab",
    ],
)
def test_bodies_that_do_not_parse_are_unrecognized(
    node: Node, body: bytes, content_type: str, message: str
) -> None:
    """JSON and YAML syntax errors are 400s in Go's own words; nothing is created."""
    ns = new_namespace(node, "parse")
    res = node.http("POST", cm_path(ns), body, content_type=content_type)
    assert (res.status, failure(res)) == (400, bad_request(message))
    assert names(node, cm_path(ns)) == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}},
            'Secret in version "v1" cannot be handled as a ConfigMap: converting (v1.Secret) to '
            "(core.ConfigMap): unknown conversion",
        ),
        (
            {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: no kind "ConfigMap" is '
            'registered for version "apps/v1" in scheme "pkg/api/legacyscheme/scheme.go:30"',
        ),
        (
            {"apiVersion": "v1", "kind": "configmap", "metadata": {"name": "c"}},
            'configmap in version "v1" cannot be handled as a ConfigMap: no kind "configmap" is '
            'registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30"',
        ),
        (
            {"apiVersion": "a/b/c", "kind": "ConfigMap", "metadata": {"name": "c"}},
            UNRECOGNIZED
            + 'unexpected GroupVersion string: a/b/c ({"apiVersion": "a/b/c", "kind" ...)',
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": 1}},
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
            "number into Go struct field ConfigMap.data of type string",
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": "x"}},
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
            "string into Go struct field ObjectMeta.metadata.labels of type map[string]string",
        ),
    ],
    ids=["other-kind", "other-group", "lowercase-kind", "bad-version", "data-type", "labels-type"],
)
def test_bodies_the_decoder_cannot_handle(node: Node, doc: dict[str, Any], message: str) -> None:
    """A body of another kind, group or Go type than the URL's is a 400; nothing is created."""
    ns = new_namespace(node, "decode")
    res = node.http("POST", cm_path(ns), doc)
    assert (res.status, failure(res)) == (400, bad_request(message))
    assert names(node, cm_path(ns)) == []


def test_wrong_go_types_in_a_pod_are_refused_not_crashed(node: Node) -> None:
    """Types the pod's Go struct cannot hold are 400s naming the struct field, never 500s."""
    ns = new_namespace(node, "podtypes")
    path = f"/api/v1/namespaces/{ns}/pods"
    cases = {
        "spec-list": (
            {**pod("a"), "spec": []},
            "array into Go struct field Pod.spec of type v1.PodSpec",
        ),
        "port-string": (
            pod("b", ports=[{"containerPort": "80"}]),
            "string into Go struct field ContainerPort.spec.containers.ports.containerPort of "
            "type int32",
        ),
        "grace-float": (
            {**pod("c"), "spec": {**pod("c")["spec"], "terminationGracePeriodSeconds": 1.5}},
            "number 1.5 into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type "
            "int64",
        ),
    }
    for doc, tail in cases.values():
        res = node.http("POST", path, doc)
        expected = f'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal {tail}'
        assert (res.status, failure(res)) == (400, bad_request(expected))
    assert names(node, path) == []


def test_a_media_type_no_serializer_reads_is_unsupported(node: Node) -> None:
    """415 for a create in text/plain and a patch in plain JSON, listing what is accepted."""
    ns = new_namespace(node, "media")
    res = node.http("POST", cm_path(ns), configmap("c"), content_type="text/plain")
    accepted = "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    assert (res.status, failure(res)) == (
        415,
        status(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: {accepted}",
        ),
    )
    assert names(node, cm_path(ns)) == []
    created = node.http("POST", cm_path(ns), configmap("c", data={"a": "1"}))
    assert created.status == 201
    res = node.http(
        "PATCH", cm_path(ns, "c"), {"data": {"a": "2"}}, content_type="application/json"
    )
    patch_types = (
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml"
    )
    assert (res.status, failure(res)) == (
        415,
        status(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: {patch_types}",
        ),
    )
    assert get(node, cm_path(ns, "c")) == created.json()


def test_a_body_over_three_mebibytes_is_too_large(node: Node) -> None:
    """413 with kube-apiserver's text for a create and a patch; the store is untouched."""
    ns = new_namespace(node, "large")
    big = json.dumps(configmap("big", data={"blob": "x" * LIMIT})).encode()
    too_large = status(413, "RequestEntityTooLarge", f"Request entity too large: limit is {LIMIT}")
    res = node.http("POST", cm_path(ns), big)
    assert (res.status, failure(res)) == (413, too_large)
    assert missing(node, cm_path(ns, "big"))
    created = node.http("POST", cm_path(ns), configmap("small"))
    assert created.status == 201
    patch = json.dumps({"data": {"blob": "x" * LIMIT}}).encode()
    res = node.http(
        "PATCH", cm_path(ns, "small"), patch, content_type="application/merge-patch+json"
    )
    assert (res.status, failure(res)) == (413, too_large)
    assert get(node, cm_path(ns, "small")) == created.json()


def test_a_body_just_under_the_limit_is_read_whole(node: Node) -> None:
    """A body of many TLS records is read to its end, not cut at the first chunk."""
    ns = new_namespace(node, "whole")
    data = {f"k{i}": "v" * 1000 for i in range(900)}  # ~0.9 MB: a ConfigMap holds 1 MiB
    res = node.http("POST", cm_path(ns), configmap("many", data=data))
    assert res.status == 201, res.body[:300]
    assert get(node, cm_path(ns, "many"))["data"] == data


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/foos",
        "/api/v1/namespaces/default/foos",
        "/apis/bar/v1/namespaces/default/foos",
        "/apis/apps/v9/deployments",
        "/api/v2/pods",
        "/apis/bar",
        "/apis/bar/v1",
        "/nothing/here",
    ],
)
def test_unknown_paths_are_not_found(node: Node, path: str) -> None:
    """Unknown resources, versions and groups: 404 with empty details, as go-restful says."""
    res = node.http("GET", path)
    assert (res.status, failure(res)) == (404, status(404, "NotFound", NOT_FOUND_PATH, {}))
    res = node.http("POST", path, configmap("c"))
    assert res.status == 404


def test_methods_a_path_does_not_route_are_not_allowed(node: Node) -> None:
    """POST or DELETE on the all-namespaces pod path, POST on a named path: 405, no write."""
    ns = new_namespace(node, "methods")
    not_allowed = status(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        {},
    )
    res = node.http("POST", "/api/v1/pods", pod("nowhere"))
    assert (res.status, failure(res)) == (405, not_allowed)
    res = node.http("DELETE", "/api/v1/configmaps")
    assert (res.status, failure(res)) == (405, not_allowed)
    res = node.http("POST", cm_path(ns, "named"), configmap("named"))
    assert (res.status, failure(res)) == (405, not_allowed)
    every = get(node, "/api/v1/pods")["items"]
    assert all(p["metadata"]["name"] != "nowhere" for p in every)
    assert names(node, cm_path(ns)) == []


def test_missing_namespace_is_found_before_the_object_is_validated(node: Node) -> None:
    """404 for the namespace even when the object is also invalid; a mismatch is a 400."""
    res = node.http("POST", cm_path("nope-ns"), configmap("Bad_Name"))
    assert (res.status, failure(res)) == (
        404,
        status(
            404,
            "NotFound",
            'namespaces "nope-ns" not found',
            {"name": "nope-ns", "kind": "namespaces"},
        ),
    )
    assert missing(node, "/api/v1/namespaces/nope-ns")
    ns = new_namespace(node, "mismatch")
    other = {**configmap("c"), "metadata": {"name": "c", "namespace": "elsewhere"}}
    res = node.http("POST", cm_path(ns), other)
    assert (res.status, failure(res)) == (
        400,
        bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        ),
    )
    assert names(node, cm_path(ns)) == []


def test_a_stale_resource_version_conflicts(node: Node) -> None:
    """PUT with an old resourceVersion is 409 Conflict; the stored object is unchanged."""
    ns = new_namespace(node, "stale")
    created = node.http("POST", cm_path(ns), configmap("c", data={"a": "1"})).json()
    changed = node.http(
        "PATCH", cm_path(ns, "c"), {"data": {"a": "2"}}, content_type="application/merge-patch+json"
    ).json()
    res = node.http("PUT", cm_path(ns, "c"), {**created, "data": {"a": "3"}})
    assert (res.status, failure(res)) == (
        409,
        status(
            409,
            "Conflict",
            'Operation cannot be fulfilled on configmaps "c": the object has been modified; '
            "please apply your changes to the latest version and try again",
            {"name": "c", "kind": "configmaps"},
        ),
    )
    assert get(node, cm_path(ns, "c")) == changed


def test_values_go_decodes_itself_are_checked_while_decoding(node: Node) -> None:
    """Secret bytes must be base64 and quantities must parse: 400s, before validation."""
    ns = new_namespace(node, "decoded")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    res = node.http("POST", f"/api/v1/namespaces/{ns}/secrets", {**secret, "data": {"k": "dg=x"}})
    assert (res.status, failure(res)) == (
        400,
        bad_request(
            'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input '
            "byte 2"
        ),
    )
    assert names(node, f"/api/v1/namespaces/{ns}/secrets") == []
    limited = pod("q", resources={"limits": {"cpu": "lots"}})
    res = node.http("POST", f"/api/v1/namespaces/{ns}/pods", limited)
    assert (res.status, failure(res)) == (
        400,
        bad_request(
            'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular '
            "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        ),
    )
    assert names(node, f"/api/v1/namespaces/{ns}/pods") == []
