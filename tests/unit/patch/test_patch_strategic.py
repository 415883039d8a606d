"""Strategic merge patch as kube-apiserver applies it (kubectl-wire.md section 7.2)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.errors import BadRequest, Invalid, StatusError
from kubeproc.api.patch import strategic_merge


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "old": "x"}},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [
                                {"containerPort": 80, "protocol": "TCP"},
                                {"containerPort": 8080, "protocol": "TCP"},
                            ],
                        },
                        {"name": "side", "image": "busybox"},
                    ]
                }
            },
        },
    }


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


def test_kubectl_apply_patch_removes_label_container_env_and_port() -> None:
    """The patch kubectl apply sends to drop a label, container, env var and port applies."""
    patch = {
        "metadata": {"labels": {"old": None}},
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.26",
                            "$setElementOrder/env": [{"name": "A"}],
                            "env": [{"$patch": "delete", "name": "B"}],
                            "$setElementOrder/ports": [{"containerPort": 8080}],
                            "ports": [
                                {"containerPort": 8080},
                                {"$patch": "delete", "containerPort": 80},
                            ],
                        },
                        {"$patch": "delete", "name": "side"},
                    ],
                }
            },
        },
    }
    result = strategic_merge(_deployment(), patch, "apps", "Deployment")
    assert result["metadata"]["labels"] == {"app": "web"}
    assert result["spec"]["replicas"] == 3
    assert _containers(result) == [
        {
            "name": "nginx",
            "image": "nginx:1.26",
            "env": [{"name": "A", "value": "1"}],
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        }
    ]


def test_kubectl_apply_image_change_with_set_element_order() -> None:
    """The second-apply patch from kubectl-wire.md changes one image and keeps the rest."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "demo", "annotations": {"a": "1"}},
        "spec": {"containers": [{"image": "nginx:1.25", "name": "main", "tty": True}]},
    }
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
        "spec": {
            "$setElementOrder/containers": [{"name": "main"}],
            "containers": [{"image": "nginx:1.26", "name": "main"}],
        },
    }
    result = strategic_merge(pod, patch, "", "Pod")
    assert result["spec"]["containers"] == [{"image": "nginx:1.26", "name": "main", "tty": True}]
    assert result["metadata"]["annotations"] == {
        "a": "1",
        "kubectl.kubernetes.io/last-applied-configuration": "{}\n",
    }
    assert "$setElementOrder/containers" not in result["spec"]


def test_rollout_restart_annotation_patch_adds_template_annotation() -> None:
    """kubectl rollout restart's patch adds an annotation to the pod template."""
    patch = {"spec": {"template": {"metadata": {"annotations": {"r": "2025-01-01T11:44:50Z"}}}}}
    result = strategic_merge(_deployment(), patch, "apps", "Deployment")
    assert result["spec"]["template"]["metadata"] == {"annotations": {"r": "2025-01-01T11:44:50Z"}}
    assert len(_containers(result)) == 2


def _env_after(patch_env: list[Any], order: list[Any] | None = None) -> list[Any]:
    container: dict[str, Any] = {"name": "nginx", "env": patch_env}
    if order is not None:
        container["$setElementOrder/env"] = order
    patch = {"spec": {"template": {"spec": {"containers": [container]}}}}
    env: list[Any] = _containers(strategic_merge(_deployment(), patch, "apps", "Deployment"))[0][
        "env"
    ]
    return env


@pytest.mark.parametrize(
    ("patch_env", "order", "expected"),
    [
        pytest.param(
            [{"name": "A", "value": "9"}],
            None,
            [{"name": "A", "value": "9"}, {"name": "B", "value": "2"}],
            id="merge-by-name",
        ),
        pytest.param(
            [{"name": "C", "value": "3"}],
            None,
            [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            id="new-item-goes-before-server-items",
        ),
        pytest.param(
            [{"name": "C", "value": "3"}],
            [{"name": "A"}, {"name": "B"}, {"name": "C"}],
            [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}],
            id="set-element-order-places-new-item",
        ),
        pytest.param(
            [],
            [{"name": "B"}, {"name": "A"}],
            [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            id="set-element-order-reorders-only",
        ),
        pytest.param(
            [{"$patch": "replace"}, {"name": "Z", "value": "26"}],
            None,
            [{"name": "Z", "value": "26"}],
            id="patch-replace-replaces-list",
        ),
        pytest.param(
            [{"name": "A", "value": None}],
            None,
            [{"name": "A"}, {"name": "B", "value": "2"}],
            id="null-in-item-deletes-member",
        ),
    ],
)
def test_merge_list_by_merge_key(
    patch_env: list[Any], order: list[Any] | None, expected: list[Any]
) -> None:
    """Lists with a merge key merge item by item, ordered as apimachinery orders them."""
    assert _env_after(patch_env, order) == expected


def _config_map(**meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", **meta}}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param({"finalizers": ["c", "a"]}, ["c", "a", "b"], id="union"),
        pytest.param({"$deleteFromPrimitiveList/finalizers": ["a"]}, ["b"], id="delete-from-list"),
        pytest.param(
            {"$setElementOrder/finalizers": ["b", "a", "c"], "finalizers": ["c"]},
            ["b", "a", "c"],
            id="set-element-order",
        ),
        pytest.param({"finalizers": None}, None, id="null-deletes-list"),
    ],
)
def test_primitive_list_with_merge_strategy_merges_as_set(
    patch: dict[str, Any], expected: list[str] | None
) -> None:
    """A scalar list whose strategy is merge (finalizers) unions, and prunes on request."""
    result = strategic_merge(
        _config_map(finalizers=["a", "b"]), {"metadata": patch}, "", "ConfigMap"
    )
    assert result["metadata"].get("finalizers") == expected


def test_list_without_merge_strategy_is_replaced() -> None:
    """Lists Kubernetes does not merge (container args, tolerations) are replaced whole."""
    pod = {
        "spec": {"containers": [{"name": "c", "args": ["a", "b"]}], "tolerations": [{"key": "k"}]}
    }
    patch = {"spec": {"containers": [{"name": "c", "args": ["z"]}], "tolerations": [{"key": "n"}]}}
    result = strategic_merge(pod, patch, "", "Pod")
    assert result["spec"] == {
        "containers": [{"name": "c", "args": ["z"]}],
        "tolerations": [{"key": "n"}],
    }


def test_unknown_path_merges_maps_and_replaces_lists() -> None:
    """Fields the table does not know behave like a JSON merge patch."""
    original = {"spec": {"custom": {"a": 1, "b": [1, 2]}}}
    patch = {"spec": {"custom": {"b": [3], "c": None, "d": {"e": None, "f": 1}}}}
    result = strategic_merge(original, patch, "example.com", "Widget")
    assert result == {"spec": {"custom": {"a": 1, "b": [3], "d": {"f": 1}}}}


def test_retain_keys_clears_other_members_of_the_union() -> None:
    """$retainKeys on deployment strategy drops rollingUpdate when switching to Recreate."""
    dep = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert strategic_merge(dep, patch, "apps", "Deployment") == {
        "spec": {"strategy": {"type": "Recreate"}}
    }


def test_retain_keys_on_volume_switches_volume_source() -> None:
    """A volume patched with $retainKeys loses the source it no longer names."""
    pod = {"spec": {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]}}
    patch = {
        "spec": {
            "volumes": [
                {"$retainKeys": ["configMap", "name"], "name": "v", "configMap": {"name": "cm"}}
            ]
        }
    }
    result = strategic_merge(pod, patch, "", "Pod")
    assert result["spec"]["volumes"] == [
        {"name": "v", "configMap": {"name": "cm"}},
        {"name": "w", "emptyDir": {}},
    ]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param(
            {"spec": {"selector": {"$patch": "replace", "b": "2"}}}, {"b": "2"}, id="replace"
        ),
        pytest.param({"spec": {"selector": {"$patch": "delete"}}}, {}, id="delete"),
    ],
)
def test_patch_directive_on_a_map(patch: dict[str, Any], expected: dict[str, str]) -> None:
    """$patch: replace swaps a map for the patch's; $patch: delete empties it."""
    svc = {"spec": {"selector": {"a": "1"}, "type": "ClusterIP"}}
    result = strategic_merge(svc, patch, "", "Service")
    assert result["spec"] == {"selector": expected, "type": "ClusterIP"}


def test_new_subtree_loses_nulls_and_directives() -> None:
    """A value added where none existed keeps neither nulls nor $patch maps."""
    patch = {"metadata": {"labels": {"a": "1", "b": None}, "annotations": {"$patch": "delete"}}}
    assert strategic_merge({"metadata": {}}, patch, "", "ConfigMap") == {
        "metadata": {"labels": {"a": "1"}}
    }


def test_set_element_order_uses_apimachinery_view_of_live_list() -> None:
    """Deleting and adding in one ordered patch orders like apimachinery (shared slices)."""
    pod = {
        "spec": {"containers": [{"name": "1"}, {"name": "2", "x": "b"}, {"name": "4", "x": "c"}]}
    }
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "2"}, {"name": "3"}],
            "containers": [{"name": "3"}, {"name": "1", "$patch": "delete"}],
        }
    }
    result = strategic_merge(pod, patch, "", "Pod")
    assert [c["name"] for c in result["spec"]["containers"]] == ["2", "4", "3"]


def test_inputs_are_not_mutated() -> None:
    """strategic_merge leaves both the live object and the patch as they were."""
    original = _deployment()
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}}
    original_copy, patch_copy = copy.deepcopy(original), copy.deepcopy(patch)
    strategic_merge(original, patch, "apps", "Deployment")
    assert (original, patch) == (original_copy, patch_copy)


def test_null_patch_body_changes_nothing() -> None:
    """A JSON null body decodes to an empty patch."""
    assert strategic_merge(_deployment(), None, "apps", "Deployment") == _deployment()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("patch", "error", "message"),
    [
        pytest.param(
            ["a"],
            BadRequest,
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
            id="body-not-object",
        ),
        pytest.param(
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
            BadRequest,
            "invalid patch format of retainKeys",
            id="retain-keys-missing-patched-key",
        ),
        pytest.param(
            {"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}},
            BadRequest,
            "invalid patch format of primitive list",
            id="delete-list-without-slash",
        ),
        pytest.param(
            {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
            StatusError,
            "map: map[image:x] does not contain declared merge key: name",
            id="missing-merge-key",
        ),
        pytest.param(
            {"spec": {"template": {"spec": {"containers": [{"$patch": "merge", "name": "x"}]}}}},
            StatusError,
            "merging lists cannot yet be specified in the patch",
            id="patch-merge-in-list",
        ),
        pytest.param(
            {"spec": {"strategy": {"$patch": "merge"}}},
            StatusError,
            "unknown patch type: merge in map: map[$patch:merge]",
            id="patch-merge-on-map",
        ),
        pytest.param(
            {
                "spec": {
                    "template": {
                        "spec": {
                            "$setElementOrder/containers": [{"name": "nginx"}],
                            "containers": [{"name": "other"}],
                        }
                    }
                }
            },
            StatusError,
            "The order in patch list:\n[map[name:other]]\n doesn't match $setElementOrder list:"
            "\n[map[name:nginx]]\n",
            id="set-element-order-mismatch",
        ),
    ],
)
def test_malformed_patches_fail_like_the_apiserver(
    patch: Any, error: type[StatusError], message: str
) -> None:
    """Bad patches fail with apimachinery's text and the handler's status code."""
    with pytest.raises(error) as caught:
        strategic_merge(_deployment(), patch, "apps", "Deployment")
    assert caught.value.message == message
    if error is StatusError:
        assert (caught.value.code, caught.value.reason) == (500, "")


def test_list_of_lists_is_unprocessable() -> None:
    """Merging lists whose items are lists is a 422 with the generic message."""
    with pytest.raises(Invalid) as caught:
        strategic_merge(
            {"metadata": {"finalizers": [["a"]]}}, {"metadata": {"finalizers": [["b"]]}}, "", "Pod"
        )
    assert caught.value.code == 422
    assert caught.value.message == "the server rejected our request due to an error in our request"
