"""kubectl explain's walk over the served documents, reimplemented from its template.

kubectl (pkg/explain/v2/templates/plaintext.tmpl) finds a resource's kind from the
``x-kubernetes-group-version-kind`` of the operations on its collection and item paths,
finds the schema carrying that kind, then follows the field path through ``properties``,
``items``, ``additionalProperties`` and ``allOf``/``$ref``. Its type hint for a field is the
last segment of a ref to an object schema, or the primitive type.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubeproc.api.openapi import group_version_document

JSON = dict[str, Any]


def _resolve(schema: JSON, doc: JSON) -> JSON:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target: JSON = doc
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _type_guess(schema: JSON, doc: JSON) -> str:
    if "items" in schema:
        return "[]" + _type_guess(schema["items"], doc)
    if isinstance(schema.get("additionalProperties"), dict):
        return "map[string]" + _type_guess(schema["additionalProperties"], doc)
    if "allOf" in schema and "properties" not in schema and len(schema["allOf"]) == 1:
        return _type_guess(schema["allOf"][0], doc)
    if "$ref" in schema:
        target = _resolve(schema, doc)
        if target.get("type") in (None, "object"):
            return str(schema["$ref"]).rsplit("/", 1)[-1].rsplit(".", 1)[-1]
        return str(target["type"])
    return "Object" if schema.get("type", "object") == "object" else str(schema["type"])


def _find_gvk(doc: JSON, prefix: str, version: str, resource: str) -> JSON:
    candidates = (
        f"{prefix}/{version}/{resource}",
        f"{prefix}/{version}/{resource}/{{name}}",
        f"{prefix}/{version}/namespaces/{{namespace}}/{resource}",
        f"{prefix}/{version}/namespaces/{{namespace}}/{resource}/{{name}}",
    )
    for path in candidates:
        for method in ("get", "post", "put", "patch", "delete"):
            op = doc["paths"].get(path, {}).get(method)
            if op and "x-kubernetes-group-version-kind" in op:
                gvk: JSON = op["x-kubernetes-group-version-kind"]
                return gvk
    raise AssertionError(f"no GVK for {resource}")


def _step(schema: JSON, name: str, doc: JSON) -> JSON | None:
    resolved = _resolve(schema, doc)
    if name in resolved.get("properties", {}):
        sub: JSON = resolved["properties"][name]
        return sub
    if "items" in resolved:
        return _step(resolved["items"], name, doc)
    if isinstance(resolved.get("additionalProperties"), dict):
        return _step(resolved["additionalProperties"], name, doc)
    for alternative in resolved.get("allOf", []):
        found = _step(alternative, name, doc)
        if found is not None:
            return found
    return None


def explain(doc_path: str, resource: str, field_path: str) -> tuple[str, JSON, JSON]:
    """(type hint, field schema, resolved schema) as kubectl explain would show them."""
    doc = group_version_document(doc_path)
    assert doc is not None
    prefix, _, version = ("/" + doc_path).rpartition("/")
    gvk = _find_gvk(doc, prefix, version, resource)
    [schema] = [
        s
        for s in doc["components"]["schemas"].values()
        if gvk in s.get("x-kubernetes-group-version-kind", [])
    ]
    current: JSON = schema
    for name in field_path.split(".") if field_path else []:
        nxt = _step(current, name, doc)
        assert nxt is not None, f"field {name!r} does not exist"
        current = nxt
    resolved = current
    while True:
        resolved = _resolve(resolved, doc)
        if "items" in resolved:
            resolved = resolved["items"]
        elif "allOf" in resolved and "properties" not in resolved:
            resolved = resolved["allOf"][0]
        else:
            break
    return _type_guess(current, doc), current, resolved


def test_liveness_probe_walks_to_probe_with_its_fields_and_types() -> None:
    """explain pod.spec.containers.livenessProbe shows <Probe>, a description and its fields."""
    hint, fld, probe = explain("api/v1", "pods", "spec.containers.livenessProbe")
    assert hint == "Probe"
    assert fld["description"]
    assert probe["description"]
    doc = group_version_document("api/v1")
    assert doc is not None
    fields = {name: _type_guess(s, doc) for name, s in probe["properties"].items()}
    assert fields == {
        "exec": "ExecAction",
        "failureThreshold": "integer",
        "grpc": "GRPCAction",
        "httpGet": "HTTPGetAction",
        "initialDelaySeconds": "integer",
        "periodSeconds": "integer",
        "successThreshold": "integer",
        "tcpSocket": "TCPSocketAction",
        "terminationGracePeriodSeconds": "integer",
        "timeoutSeconds": "integer",
    }
    assert all(s["description"] for s in probe["properties"].values())


@pytest.mark.parametrize(
    ("doc_path", "resource", "field_path", "hint"),
    [
        ("api/v1", "pods", "", "Object"),
        ("api/v1", "pods", "spec", "PodSpec"),
        ("api/v1", "pods", "spec.containers", "[]Container"),
        ("api/v1", "pods", "spec.containers.livenessProbe.httpGet.port", "IntOrString"),
        ("api/v1", "pods", "spec.containers.resources.limits", "map[string]Quantity"),
        ("api/v1", "pods", "metadata.creationTimestamp", "string"),
        ("api/v1", "pods", "metadata.labels", "map[string]string"),
        (
            "api/v1",
            "pods",
            "spec.volumes.projected.sources.serviceAccountToken",
            "ServiceAccountTokenProjection",
        ),
        ("api/v1", "pods", "spec.affinity.nodeAffinity", "NodeAffinity"),
        ("api/v1", "pods", "status.containerStatuses.state.waiting", "ContainerStateWaiting"),
        ("api/v1", "nodes", "status.nodeInfo", "NodeSystemInfo"),
        ("api/v1", "services", "spec.ports.targetPort", "IntOrString"),
        ("api/v1", "secrets", "data", "map[string]string"),
        ("apis/apps/v1", "deployments", "spec.template.spec.containers", "[]Container"),
        ("apis/apps/v1", "replicasets", "spec.selector", "LabelSelector"),
        (
            "apis/discovery.k8s.io/v1",
            "endpointslices",
            "endpoints.conditions",
            "EndpointConditions",
        ),
        (
            "apis/networking.k8s.io/v1",
            "networkpolicies",
            "spec.ingress.from",
            "[]NetworkPolicyPeer",
        ),
        ("apis/coordination.k8s.io/v1", "leases", "spec.renewTime", "string"),
        ("apis/events.k8s.io/v1", "events", "regarding", "ObjectReference"),
    ],
)
def test_explain_paths_resolve_with_kubectl_type_hints(
    doc_path: str, resource: str, field_path: str, hint: str
) -> None:
    """Every explained field path resolves, and shows the type kubectl would print."""
    shown, fld, _ = explain(doc_path, resource, field_path)
    if field_path:
        assert shown == hint
        assert fld["description"]


def test_required_fields_are_marked_where_kubectl_reads_them() -> None:
    """Container lists name as required and the Deployment spec its selector and template."""
    _, _, container = explain("api/v1", "pods", "spec.containers")
    assert container["required"] == ["name"]
    _, _, spec = explain("apis/apps/v1", "deployments", "spec")
    assert spec["required"] == ["selector", "template"]


def test_enum_fields_carry_their_values() -> None:
    """imagePullPolicy lists Always, IfNotPresent and Never, as kubectl's ENUM section shows."""
    _, fld, _ = explain("api/v1", "pods", "spec.containers.imagePullPolicy")
    assert fld["enum"] == ["Always", "IfNotPresent", "Never"]


def test_a_missing_field_does_not_resolve() -> None:
    """A misspelt field fails the walk, as kubectl reports 'field does not exist'."""
    with pytest.raises(AssertionError, match="livenssProbe"):
        explain("api/v1", "pods", "spec.containers.livenssProbe")
