"""JSON merge patch (RFC 7386) as kube-apiserver applies it, for kubectl scale and patch."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.errors import BadRequest
from kubeproc.api.patch import json_merge


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_rfc7386_appendix_a(original: dict[str, Any], patch: Any, expected: dict[str, Any]) -> None:
    """The RFC's own examples with an object on both sides give the RFC's results."""
    assert json_merge(original, patch) == expected


def test_kubectl_scale_patch_sets_replicas() -> None:
    """kubectl scale's merge patch to /scale changes spec.replicas only."""
    scale = {"kind": "Scale", "spec": {"replicas": 2}, "status": {"replicas": 2}}
    assert json_merge(scale, {"spec": {"replicas": 3}}) == {
        "kind": "Scale",
        "spec": {"replicas": 3},
        "status": {"replicas": 2},
    }


def test_added_value_has_nested_nulls_pruned() -> None:
    """Objects the patch adds lose null members, also inside added arrays (evanphx v4)."""
    result = json_merge({"a": "x"}, {"a": [{"k": None, "v": 1}, None]})
    assert result == {"a": [{"v": 1}, None]}


@pytest.mark.parametrize("patch", [None, "bar", 1, True, ["c"]])
def test_non_object_patch_is_bad_request(patch: Any) -> None:
    """A body that is not a JSON object is refused with evanphx's text."""
    with pytest.raises(BadRequest) as caught:
        json_merge({"a": "foo"}, patch)
    assert caught.value.message == "Invalid JSON Patch"


def test_inputs_are_not_mutated() -> None:
    """json_merge leaves both the live object and the patch as they were."""
    original = {"a": {"b": 1}, "c": [1]}
    patch = {"a": {"b": None, "d": {"e": None}}, "c": None}
    before = copy.deepcopy((original, patch))
    json_merge(original, patch)
    assert (original, patch) == before
