"""The decoder's verdicts on write bodies, in kube-apiserver's words, as pure functions.

Go's JSON syntax errors, go-yaml's errors, the apiVersion/kind checks, the Go type checks
(JSON decoder and unstructured converter wording), and the ``fieldValidation`` answers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubeproc.api.errors import BadRequest, Invalid, StatusError
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.apiserver import decoding, fieldvalidation, gojson, media

CONFIGMAPS = REGISTRY.get("", "v1", "configmaps")
DEPLOYMENTS = REGISTRY.get("apps", "v1", "deployments")
assert CONFIGMAPS is not None and DEPLOYMENTS is not None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"a":1}', None),
        (b' [1, "x", true, null, -0.5e+3] ', None),
        (b"", "unexpected end of JSON input"),
        (b'{"a":1', "unexpected end of JSON input"),
        (b"{a}", "invalid character 'a' looking for beginning of object key string"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b"{} {}", "invalid character '{' after top-level value"),
        (b'{"a":tru}', "invalid character '}' in literal true (expecting 'e')"),
        (b'{"a":nul}', "invalid character '}' in literal null (expecting 'l')"),
        (b'{"a":-}', "invalid character '}' in numeric literal"),
        (b'{"a":1.}', "invalid character '}' after decimal point in numeric literal"),
        (b'{"a":1e+}', "invalid character '}' in exponent of numeric literal"),
        (b'{"a":"\\x"}', "invalid character 'x' in string escape code"),
        (b'{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"),
        (b'{"a":"\x01"}', "invalid character '\\x01' in string literal"),
        (b'{"a":"\n"}', "invalid character '\\n' in string literal"),
        (b"{'a':1}", "invalid character '\\'' looking for beginning of object key string"),
        (b"NaN", "invalid character 'N' looking for beginning of value"),
        (b"-", "invalid character ' ' in numeric literal"),
        (b'{"a":01}', "invalid character '1' after object key:value pair"),
    ],
)
def test_json_syntax_errors_are_gos(data: bytes, error: str | None) -> None:
    """The scanner stops at the byte Go stops at and says what Go says."""
    assert gojson.syntax_error(data) == error


def test_bodies_that_are_not_objects_fail_the_kind_lookup() -> None:
    """Arrays and typed apiVersions fail the decoder's apiVersion/kind struct; null is empty."""
    with pytest.raises(media.BodyError) as err:
        media.decode_object(b"[1]", "application/json")
    assert err.value.message == (
        "couldn't get version/kind; json parse error: json: cannot unmarshal array into Go "
        'value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
        'Kind string "json:\\"kind,omitempty\\"" }'
    )
    with pytest.raises(media.BodyError) as err:
        media.decode_object(b'{"kind":{}}', None)
    assert err.value.message.endswith(
        "json: cannot unmarshal object into Go struct field .kind of type string"
    )
    assert media.decode_object(b"null", "application/json") == {}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"a: [b", "yaml: line 1: did not find expected ',' or ']'"),
        (b"a: b: c", "yaml: mapping values are not allowed in this context"),
        (b"a:\n\tb: 1", "yaml: line 2: found character that cannot start any token"),
        (b"a: 1\nb: .inf", "json: unsupported value: +Inf"),
    ],
)
def test_yaml_errors_are_go_yamls(text: bytes, error: str) -> None:
    """libyaml's problems, placed on a line the way go-yaml's parser reports them."""
    with pytest.raises(media.BodyError) as err:
        media.decode_object(text, "application/yaml")
    assert err.value.message == error


def test_yaml_keeps_timestamps_as_strings_and_reads_only_the_first_document() -> None:
    """As sigs.k8s.io/yaml does: no datetime objects, later documents ignored."""
    text = b"kind: ConfigMap\ndata:\n  at: 2026-01-01T00:00:00Z\n  day: 2026-01-01\n---\nkind: X\n"
    assert media.decode_object(text, "application/yaml") == {
        "kind": "ConfigMap",
        "data": {"at": "2026-01-01T00:00:00Z", "day": "2026-01-01"},
    }


def test_media_types() -> None:
    """Only the three serializers' types are bodies; CBOR apply is not a served patch type."""
    assert media.body_media_type(None) == "application/json"
    assert media.body_media_type("application/yaml; charset=utf-8") == "application/yaml"
    for bad in ("text/yaml", "*/*", "application/x-www-form-urlencoded"):
        with pytest.raises(StatusError) as err:
            media.body_media_type(bad)
        assert err.value.code == 415
    with pytest.raises(StatusError) as err:
        media.patch_type("application/apply-patch+cbor")
    assert err.value.message.endswith(
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml"
    )


@pytest.mark.parametrize(
    ("kind", "body", "strict", "message"),
    [
        (media.PatchType.STRATEGIC, b"[1]", True, "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        (media.PatchType.STRATEGIC, b"{x", False, "invalid character 'x' looking for beginning of object key string"),
        (media.PatchType.MERGE, b"{x", True, "error decoding patch: invalid character 'x' looking for beginning of object key string"),
        (media.PatchType.MERGE, b"{x", False, "Invalid JSON Patch"),
        (media.PatchType.JSON_PATCH, b"{}", True, "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"),
        (media.PatchType.JSON_PATCH, b"{}", False, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        (media.PatchType.APPLY_YAML, b"a: [b", True, "error decoding patch: error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'"),
    ],
)  # fmt: skip
def test_patch_bodies_that_do_not_decode(
    kind: media.PatchType, body: bytes, strict: bool, message: str
) -> None:
    """Each patcher's own wording; strict decoding of merge and JSON patches says so."""
    with pytest.raises(BadRequest) as err:
        media.decode_patch(body, kind, strict=strict)
    assert err.value.message == message


def test_summaries_show_json_as_text_and_anything_else_as_hex() -> None:
    """``summarizeData``: 30 bytes, then `` ...``."""
    assert decoding.summarize(b"") == "<empty>"
    assert decoding.summarize(b'{"a":1}') == '{"a":1}'
    assert decoding.summarize(b"{" + b"x" * 40) == "{" + "x" * 29 + " ..."
    assert decoding.summarize(b"a: [") == "613a205b"


def claim(rt: ResourceType, doc: dict[str, Any]) -> str:
    with pytest.raises(BadRequest) as err:
        decoding.check_body(rt, doc, json.dumps(doc).encode())
    return err.value.message


def test_a_body_of_another_kind_than_the_url() -> None:
    """Unregistered kinds, conversions that do not exist, and another version of the kind."""
    assert claim(CONFIGMAPS, {"apiVersion": "v1", "kind": "Pod"}) == (
        'Pod in version "v1" cannot be handled as a ConfigMap: converting (v1.Pod) to '
        "(core.ConfigMap): unknown conversion"
    )
    assert claim(DEPLOYMENTS, {"apiVersion": "apps/v1", "kind": "ReplicaSet"}) == (
        'ReplicaSet in version "v1" cannot be handled as a Deployment: converting '
        "(v1.ReplicaSet) to (apps.Deployment): unknown conversion"
    )
    assert claim(DEPLOYMENTS, {"apiVersion": "apps/v1beta2", "kind": "Deployment"}) == (
        "the API version in the data (apps/v1beta2) does not match the expected API version "
        "(apps/v1)"
    )
    assert claim(CONFIGMAPS, {"apiVersion": "v2", "kind": "ConfigMap"}) == (
        'ConfigMap in version "v2" cannot be handled as a ConfigMap: no kind "ConfigMap" is '
        'registered for version "v2" in scheme "pkg/api/legacyscheme/scheme.go:30"'
    )


def test_missing_api_version_and_kind_default_from_the_url() -> None:
    """``gvkWithDefaults``: an empty apiVersion or kind is the URL's."""
    assert decoding.check_body(CONFIGMAPS, {}, b"{}") == ("ConfigMap", "v1")
    assert decoding.check_body(DEPLOYMENTS, {"apiVersion": "apps/"}, b"{}") == (
        "Deployment",
        "v1",
    )


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ({"metadata": {"name": 5}}, "number into Go struct field ObjectMeta.metadata.name of type string"),
        ({"metadata": {"labels": []}}, "array into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
        ({"spec": {"replicas": "3"}}, "string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        ({"spec": {"replicas": 2**31}}, "number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32"),
        ({"spec": {"paused": "yes"}}, "string into Go struct field DeploymentSpec.spec.paused of type bool"),
        ({"spec": {"strategy": {"rollingUpdate": {"maxSurge": True}}}}, "bool into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32"),
        ({"spec": {"template": {"spec": {"containers": {}}}}}, "object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container"),
    ],
)  # fmt: skip
def test_go_type_errors_name_the_struct_and_field_path(doc: dict[str, Any], error: str) -> None:
    """``UnmarshalTypeError``: the innermost struct, the JSON path without indexes, the Go type."""
    assert decoding.type_error("apps", "v1", "Deployment", doc) == f"json: cannot unmarshal {error}"


def test_values_that_fit_their_types_pass() -> None:
    """Nulls, int-or-strings either way, quantities as numbers, whole numbers."""
    doc = {
        "metadata": {"name": "x", "labels": None},
        "spec": {
            "replicas": 3,
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {
                "spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": 1}}}]}
            },
        },
    }
    assert decoding.type_error("apps", "v1", "Deployment", doc) is None


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ({"data": {"a": 1}}, "unrecognized type: string"),
        ({"immutable": "yes"}, "unrecognized type: bool"),
        ({"metadata": {"generation": "1"}}, "unrecognized type: int64"),
        ({"metadata": {"generation": 1.5}}, "cannot convert float64 to int64"),
        ({"metadata": "x"}, "cannot restore struct from: string"),
        ({"metadata": {"finalizers": "x"}}, "cannot restore slice from string"),
        ({"data": ["a"]}, "cannot restore map from slice"),
    ],
)
def test_strategic_patches_are_converted_in_the_converters_words(
    doc: dict[str, Any], error: str
) -> None:
    """The unstructured converter names only the Go kind it could not fill."""
    assert decoding.converter_error("", "v1", "ConfigMap", doc) == error
    assert (
        decoding.converter_error("", "v1", "ConfigMap", {"metadata": {"generation": 2.0}}) is None
    )


def test_go_format_is_percent_plus_v() -> None:
    """Maps with sorted keys, lists with spaces, nil, bools and Go's float forms."""
    value = {"b": [1, "x", None], "a": {"t": True, "f": 1.5, "big": 1e21, "whole": 3.0}}
    assert (
        fieldvalidation.go_format(value)
        == "map[a:map[big:1e+21 f:1.5 t:true whole:3] b:[1 x <nil>]]"
    )


def test_strict_patch_answers_are_invalid_with_no_kind() -> None:
    """The 422 a strict patch gets: message ``"" is invalid``, no name or kind in details."""
    rt = CONFIGMAPS
    with pytest.raises(Invalid) as err:
        fieldvalidation.check_patched("Strict", rt, {"dta": 1}, "map[dta:1]", strategic=True)
    body = 'Invalid value: "map[dta:1]": strict decoding error: unknown field "dta"'
    assert err.value.message == f' "" is invalid: patch: {body}'
    assert err.value.details == {
        "causes": [{"reason": "FieldValueInvalid", "message": body, "field": "patch"}]
    }
    assert fieldvalidation.check_patched("Ignore", rt, {"dta": 1}, "") == {}
    assert fieldvalidation.check_patched("Warn", rt, {"dta": 1}, "") == {
        "Warning": '299 - "unknown field \\"dta\\""'
    }


def test_apply_of_undeclared_fields_is_the_field_managers_error() -> None:
    """structured-merge-diff paths: list elements by key (with defaults), else by index."""
    doc = {
        "metadata": {"name": "web", "namespace": "ns", "bogus": 1},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "main", "ports": [{"containerPort": 80, "x": 1}]}],
                    "tolerations": [{"key": "k", "y": 2}],
                }
            }
        },
    }
    err = fieldvalidation.typed_patch_error("apps", "v1", "Deployment", doc)
    assert err is not None
    assert (err.code, err.reason) == (500, "")
    assert err.message == (
        "failed to create typed patch object (ns/web; apps/v1, Kind=Deployment): errors:\n"
        "  .metadata.bogus: field not declared in schema\n"
        '  .spec.template.spec.containers[name="main"].ports[containerPort=80,protocol="TCP"].x: '
        "field not declared in schema\n"
        "  .spec.template.spec.tolerations[0].y: field not declared in schema"
    )
    assert fieldvalidation.typed_patch_error("apps", "v1", "Deployment", {"spec": {}}) is None


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("", None),
        ("aGVsbG8=", None),
        ("aGVs\nbG8=\n", None),
        ("aGVsbG8", 4),
        ("!!!", 0),
        ("aGV!", 3),
        ("aGVsbA=", 7),
        ("aGVsbA=x", 6),
        ("aGVsbA==x", 8),
        ("a===", 1),
    ],
)
def test_base64_errors_are_gos(text: str, offset: int | None) -> None:
    """``base64.StdEncoding``: padding required, newlines skipped, the first bad byte named."""
    expected = None if offset is None else f"illegal base64 data at input byte {offset}"
    assert decoding.base64_error(text) == expected


def test_quantities_are_parsed_while_decoding() -> None:
    """``ParseQuantity`` on the trimmed text: format, then suffix; any number is fine."""
    assert decoding.quantity_error(" 100m ") is None
    assert decoding.quantity_error(1.5) is None
    assert decoding.quantity_error("lots") == decoding.QUANTITY_FORMAT_ERROR
    assert decoding.quantity_error("") == decoding.QUANTITY_FORMAT_ERROR
    assert decoding.quantity_error("1.2.3") == "unable to parse quantity's suffix"
    assert decoding.type_error("", "v1", "Secret", {"data": {"k": "dg=x"}}) == (
        "illegal base64 data at input byte 2"
    )
