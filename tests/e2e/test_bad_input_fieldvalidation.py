"""``fieldValidation`` Strict, Warn and Ignore on every write verb, over raw HTTPS.

kube-apiserver answers an unknown field differently per verb: create and update with the
decoder's 400, merge/JSON/strategic patches with a 422 on the field ``patch``, server-side
apply with the field manager's reason-less 500. The scale subresource checks against
autoscaling/v1 ``Scale``, not the parent kind. Every refusal leaves the object as it was.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.harness import Node
from tests.e2e.test_bad_input_support import (
    configmap,
    failure,
    get,
    missing,
    names,
    new_namespace,
    status,
)

pytestmark = pytest.mark.e2e

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def cm_path(ns: str, name: str = "", query: str = "") -> str:
    path = f"/api/v1/namespaces/{ns}/configmaps" + (f"/{name}" if name else "")
    return path + (f"?{query}" if query else "")


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": "nginx"}]},
            },
        },
    }


def patch_invalid(bad_value: str, reason: str) -> dict[str, Any]:
    """``NewInvalid(GroupKind{}, "", ...)``: no kind, no name, one cause on ``patch``."""
    body = f"Invalid value: {json.dumps(bad_value)}: {reason}"
    return status(
        422,
        "Invalid",
        f' "" is invalid: patch: {body}',
        {"causes": [{"reason": "FieldValueInvalid", "message": body, "field": "patch"}]},
    )


def test_create_and_update_under_each_directive(node: Node) -> None:
    """Strict refuses (400), Warn stores without the field and warns, Ignore stores silently."""
    ns = new_namespace(node, "fv-create")
    typo = configmap("c", data={"a": "1"}, dta={"b": "2"})
    res = node.http("POST", cm_path(ns, query="fieldValidation=Strict"), typo)
    strict = (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "dta"'
    )
    assert (res.status, failure(res)) == (400, status(400, "BadRequest", strict))
    assert missing(node, cm_path(ns, "c"))

    res = node.http("POST", cm_path(ns, query="fieldValidation=Warn"), typo)
    assert res.status == 201
    assert res.headers.get("Warning") == '299 - "unknown field \\"dta\\""'
    assert "dta" not in get(node, cm_path(ns, "c"))

    res = node.http(
        "POST", cm_path(ns, query="fieldValidation=Ignore"), {**typo, "metadata": {"name": "d"}}
    )
    assert res.status == 201
    assert "Warning" not in res.headers
    assert "dta" not in get(node, cm_path(ns, "d"))

    current = get(node, cm_path(ns, "c"))
    res = node.http("PUT", cm_path(ns, "c", "fieldValidation=Strict"), {**current, "dta": {}})
    assert (res.status, failure(res)) == (400, status(400, "BadRequest", strict))
    assert get(node, cm_path(ns, "c")) == current


def test_an_unknown_directive_is_an_invalid_option(node: Node) -> None:
    """fieldValidation=Loose: 422 on CreateOptions/PatchOptions, before the body is read."""
    ns = new_namespace(node, "fv-bad")
    res = node.http("POST", cm_path(ns, query="fieldValidation=Loose"), configmap("c"))
    cause = 'Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"'

    def options_invalid(kind: str) -> dict[str, Any]:
        return status(
            422,
            "Invalid",
            f'{kind}.meta.k8s.io "" is invalid: fieldValidation: {cause}',
            {
                "group": "meta.k8s.io",
                "kind": kind,
                "causes": [
                    {
                        "reason": "FieldValueNotSupported",
                        "message": cause,
                        "field": "fieldValidation",
                    }
                ],
            },
        )

    assert (res.status, failure(res)) == (422, options_invalid("CreateOptions"))
    assert names(node, cm_path(ns)) == []
    node.http("POST", cm_path(ns), configmap("c"))
    res = node.http(
        "PATCH", cm_path(ns, "c", "fieldValidation=Loose"), {"data": {"a": "1"}}, content_type=MERGE
    )
    assert (res.status, failure(res)) == (422, options_invalid("PatchOptions"))
    assert "data" not in get(node, cm_path(ns, "c"))


def test_strict_patches_are_invalid_on_the_field_patch(node: Node) -> None:
    """Merge, JSON and strategic patches adding an unknown field: 422, object unchanged."""
    ns = new_namespace(node, "fv-patch")
    created = node.http("POST", cm_path(ns), configmap("c", data={"a": "1"}))
    before = get(node, cm_path(ns, "c"))
    path = cm_path(ns, "c", "fieldValidation=Strict")
    unknown = 'strict decoding error: unknown field "dta"'

    res = node.http("PATCH", path, {"dta": {"b": "2"}}, content_type=STRATEGIC)
    assert (res.status, failure(res)) == (422, patch_invalid("map[dta:map[b:2]]", unknown))

    for body, content_type in (
        ({"dta": {"b": "2"}}, MERGE),
        ([{"op": "add", "path": "/dta", "value": {"b": "2"}}], JSON_PATCH),
    ):
        res = node.http("PATCH", path, body, content_type=content_type)
        answer = failure(res)
        assert res.status == 422
        assert answer["reason"] == "Invalid"
        assert answer["details"]["causes"][0]["field"] == "patch"
        # The bad value is the whole patched object, as JSON.
        assert answer["message"].startswith(' "" is invalid: patch: Invalid value: "{\\"kind\\":')
        assert answer["message"].endswith(f": {unknown}")
    assert get(node, cm_path(ns, "c")) == before == created.json()

    res = node.http(
        "PATCH", cm_path(ns, "c", "fieldValidation=Warn"), {"dta": {}}, content_type=MERGE
    )
    assert res.status == 200
    assert res.headers.get("Warning") == '299 - "unknown field \\"dta\\""'


def test_patches_that_break_go_types_are_invalid_whatever_the_directive(node: Node) -> None:
    """A patched value the Go type cannot hold: 422 on ``patch``, in each patcher's words."""
    ns = new_namespace(node, "fv-types")
    node.http("POST", cm_path(ns), configmap("c", data={"a": "1"}))
    before = get(node, cm_path(ns, "c"))
    res = node.http("PATCH", cm_path(ns, "c"), {"data": {"a": 2}}, content_type=STRATEGIC)
    assert (res.status, failure(res)) == (
        422,
        patch_invalid("map[data:map[a:2]]", "unrecognized type: string"),
    )
    res = node.http("PATCH", cm_path(ns, "c"), {"data": {"a": 2}}, content_type=MERGE)
    answer = failure(res)
    assert res.status == 422
    assert answer["message"].endswith(
        ": json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
    )
    assert get(node, cm_path(ns, "c")) == before


def test_server_side_apply_of_an_undeclared_field_fails_the_field_manager(node: Node) -> None:
    """Apply types the configuration first: 500 with no reason, structured-merge-diff paths."""
    ns = new_namespace(node, "fv-apply")
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web?fieldManager=me&fieldValidation=Ignore"
    doc = deployment("web")
    doc["metadata"]["namespace"] = ns
    doc["spec"]["template"]["spec"]["containers"][0]["livenssProbe"] = {}
    doc["spec"]["replica"] = 2
    res = node.http("PATCH", path, json.dumps(doc), content_type=APPLY)
    message = (
        f"failed to create typed patch object ({ns}/web; apps/v1, Kind=Deployment): errors:\n"
        '  .spec.template.spec.containers[name="main"].livenssProbe: field not declared in schema\n'
        "  .spec.replica: field not declared in schema"
    )
    assert (res.status, failure(res)) == (500, status(500, "", message))
    assert missing(node, f"/apis/apps/v1/namespaces/{ns}/deployments/web")


def test_scale_is_checked_as_an_autoscaling_scale(node: Node) -> None:
    """Scale bodies are Scales: their own fields pass, unknown ones are refused; replicas kept."""
    ns = new_namespace(node, "fv-scale")
    deploy = f"/apis/apps/v1/namespaces/{ns}/deployments"
    assert node.http("POST", deploy, deployment("web")).status == 201
    scale = f"{deploy}/web/scale?fieldValidation=Strict"
    current = get(node, f"{deploy}/web/scale")
    # status.selector is a Scale field (a Deployment's status has no such field).
    assert "selector" in current["status"]
    # Without a resourceVersion: the Deployment controller's status writes move it on.
    current["metadata"].pop("resourceVersion")
    res = node.http("PUT", scale, {**current, "spec": {"replicas": 2}})
    assert res.status == 200, res.body
    assert get(node, f"{deploy}/web")["spec"]["replicas"] == 2

    current = get(node, f"{deploy}/web/scale")
    res = node.http("PUT", scale, {**current, "spec": {"replicas": 5, "paused": True}})
    assert (res.status, failure(res)) == (
        400,
        status(
            400,
            "BadRequest",
            'Scale in version "v1" cannot be handled as a Scale: strict decoding error: unknown '
            'field "spec.paused"',
        ),
    )
    res = node.http("PATCH", scale, {"spec": {"replicas": 5, "paused": True}}, content_type=MERGE)
    answer = failure(res)
    assert res.status == 422
    assert answer["details"]["causes"][0]["field"] == "patch"
    assert answer["message"].startswith(
        ' "" is invalid: patch: Invalid value: "{\\"kind\\":\\"Scale\\"'
    )
    assert answer["message"].endswith(': strict decoding error: unknown field "spec.paused"')
    assert get(node, f"{deploy}/web")["spec"]["replicas"] == 2
