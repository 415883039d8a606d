"""JSON patch (RFC 6902) as kube-apiserver applies it, with its status codes and texts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.errors import BadRequest, RequestEntityTooLarge
from kubeproc.api.patch import GENERIC_422, MAX_OPERATIONS, Unprocessable, json_patch


@pytest.mark.parametrize(
    ("doc", "ops", "expected"),
    [
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"foo": "bar", "baz": "qux"},
            id="A1-add-member",
        ),
        pytest.param(
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
            id="A2-add-array-element",
        ),
        pytest.param(
            {"baz": "qux", "foo": "bar"},
            [{"op": "remove", "path": "/baz"}],
            {"foo": "bar"},
            id="A3-remove-member",
        ),
        pytest.param(
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
            id="A4-remove-array-element",
        ),
        pytest.param(
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
            id="A5-replace",
        ),
        pytest.param(
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
            id="A6-move-member",
        ),
        pytest.param(
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
            id="A7-move-array-element",
        ),
        pytest.param(
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2},
            ],
            {"baz": "qux", "foo": ["a", 2, "c"]},
            id="A8-test-success",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
            id="A10-add-nested",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
            {"foo": "bar", "baz": "qux"},
            id="A11-ignore-unknown-members",
        ),
        pytest.param(
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": 10}, {"op": "remove", "path": "/~1"}],
            {"~1": 10},
            id="A14-escapes",
        ),
        pytest.param(
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
            id="A16-append-with-dash",
        ),
        pytest.param(
            {"foo": ["a", "b", "c"]},
            [
                {"op": "remove", "path": "/foo/-1"},
                {"op": "replace", "path": "/foo/-2", "value": "z"},
            ],
            {"foo": ["z", "b"]},
            id="negative-index-counts-from-end",
        ),
        pytest.param(
            {"metadata": {"labels": {"a": "1"}}},
            [{"op": "replace", "path": "/metadata/labels/b", "value": "2"}],
            {"metadata": {"labels": {"a": "1", "b": "2"}}},
            id="replace-missing-member-adds-it",
        ),
        pytest.param(
            {"a": {}},
            [{"op": "copy", "from": "/a/missing", "path": "/b"}],
            {"a": {}, "b": None},
            id="copy-missing-member-copies-null",
        ),
        pytest.param(
            {"a": 1},
            [{"op": "test", "path": "/missing", "value": None}],
            {"a": 1},
            id="test-missing-equals-null",
        ),
        pytest.param({"a": 1}, None, {"a": 1}, id="null-body-is-no-ops"),
    ],
)
def test_operations_apply(doc: dict[str, Any], ops: Any, expected: dict[str, Any]) -> None:
    """RFC 6902 appendix A examples, and evanphx v4's deviations the apiserver inherits."""
    assert json_patch(doc, ops) == expected


@pytest.mark.parametrize(
    ("ops", "detail"),
    [
        pytest.param(
            [{"op": "test", "path": "/baz", "value": "bar"}],
            "testing value /baz failed: test failed",
            id="A9-test-fails",
        ),
        pytest.param(
            [{"op": "add", "path": "/baz/bat", "value": "qux"}],
            'add operation does not apply: doc is missing path: "/baz/bat": missing value',
            id="A12-add-to-missing-parent",
        ),
        pytest.param(
            [{"op": "test", "path": "/n", "value": "10"}],
            "testing value /n failed: test failed",
            id="A15-string-is-not-number",
        ),
        pytest.param(
            [{"op": "remove", "path": "/nope"}],
            "error in remove for path: '/nope': "
            "Unable to remove nonexistent key: nope: missing value",
            id="remove-missing-member",
        ),
        pytest.param(
            [{"op": "add", "path": "/list/5", "value": 1}],
            "error in add for path: '/list/5': Unable to access invalid index: 5: "
            "invalid index referenced",
            id="index-out-of-range",
        ),
        pytest.param(
            [{"op": "add", "path": "/list/x", "value": 1}],
            "error in add for path: '/list/x': value was not a proper array index: 'x': "
            'strconv.Atoi: parsing "x": invalid syntax',
            id="index-not-a-number",
        ),
        pytest.param(
            [{"op": "replace", "value": 1}],
            "replace operation failed to decode path: operation missing path field: missing value",
            id="missing-path",
        ),
        pytest.param(
            [{"op": "move", "path": "/x"}],
            "move operation failed to decode from: operation, missing from field: missing value",
            id="missing-from",
        ),
        pytest.param([{"op": "frob", "path": "/x"}], "Unexpected kind: frob", id="unknown-op"),
        pytest.param([{"path": "/x"}], "Unexpected kind: unknown", id="missing-op"),
    ],
)
def test_operation_that_does_not_apply_is_generic_422(ops: list[Any], detail: str) -> None:
    """A failing operation answers 422 Invalid with the apiserver's generic message."""
    doc = {"baz": "qux", "n": 10, "list": [1]}
    with pytest.raises(Unprocessable) as caught:
        json_patch(doc, ops)
    status = caught.value.status()
    assert (status["code"], status["reason"], status["message"]) == (422, "Invalid", GENERIC_422)
    assert caught.value.detail == detail


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ({"op": "add"}, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        ("x", "json: cannot unmarshal string into Go value of type jsonpatch.Patch"),
        ([1], "json: cannot unmarshal number into Go value of type jsonpatch.Operation"),
    ],
)
def test_body_that_is_not_a_list_of_objects_is_bad_request(ops: Any, message: str) -> None:
    """A body that does not decode as a JSON patch is a 400 with Go's decoding text."""
    with pytest.raises(BadRequest) as caught:
        json_patch({}, ops)
    assert caught.value.message == message


def test_too_many_operations_is_request_entity_too_large() -> None:
    """More than 10000 operations is refused before any is applied."""
    ops = [{"op": "test", "path": "/a", "value": 1}] * (MAX_OPERATIONS + 1)
    with pytest.raises(RequestEntityTooLarge) as caught:
        json_patch({"a": 1}, ops)
    assert (
        caught.value.message == "The allowed maximum operations in a JSON patch is 10000, got 10001"
    )


def test_inputs_are_not_mutated() -> None:
    """json_patch leaves the document and the operations as they were."""
    doc = {"a": {"b": [1, 2]}}
    ops = [{"op": "add", "path": "/a/b/-", "value": {"c": 1}}, {"op": "remove", "path": "/a/b/0"}]
    before = copy.deepcopy((doc, ops))
    result = json_patch(doc, ops)
    result["a"]["b"][-1]["c"] = 2
    assert (doc, ops) == before
