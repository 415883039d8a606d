"""Server-side apply: merging, pruning, ownership and conflicts as kube-apiserver does them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubeproc.api.errors import BadRequest, Conflict, Invalid, StatusError
from kubeproc.api.patch import LAST_APPLIED, apply, track_update

T0, T1, T2, T3 = (f"2025-01-01T00:0{i}:00Z" for i in range(4))


def _cm(data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default", **meta},
    }
    if data is not None:
        obj["data"] = data
    return obj


def _apply_cm(
    live: dict[str, Any] | None, cfg: dict[str, Any], manager: str, now: str, *, force: bool = False
) -> dict[str, Any]:
    result = apply(live, cfg, manager=manager, force=force, group="", kind="ConfigMap", now=now)
    result["metadata"].setdefault("uid", "uid-1")  # the apiserver assigns it on create
    return result


def _owners(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def _pod(image: str = "nginx:1.25", **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "demo", "namespace": "default"},
        "spec": {"containers": [{"image": image, "name": "main", **container}]},
    }


def test_apply_creates_object_and_records_apply_entry() -> None:
    """The first apply returns the config with one Apply entry owning what it set."""
    cfg = _cm({"x": "1"}, labels={"app": "c"})
    result = apply(None, cfg, manager="kubectl", force=False, group="", kind="ConfigMap", now=T0)
    assert result["data"] == {"x": "1"}
    assert result["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:x": {}}, "f:metadata": {"f:labels": {"f:app": {}}}},
        }
    ]


def test_apply_records_keyed_list_items_in_fieldsv1_format() -> None:
    """Map-list items are k:{...} with '.', and a defaulted key (protocol TCP) is in the key."""
    pod = _pod(ports=[{"containerPort": 80}])
    result = apply(None, pod, manager="m", force=False, group="", kind="Pod", now=T0)
    assert result["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:spec": {
            "f:containers": {
                'k:{"name":"main"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                    },
                }
            }
        }
    }


def test_apply_records_set_items_as_values() -> None:
    """Items of a set list (finalizers) are recorded as v:<json>."""
    cfg = _cm(finalizers=["example.com/a"])
    result = apply(None, cfg, manager="m", force=False, group="", kind="ConfigMap", now=T0)
    fields = result["metadata"]["managedFields"][0]["fieldsV1"]
    assert fields == {"f:metadata": {"f:finalizers": {'v:"example.com/a"': {}}}}


def test_reapply_removes_fields_the_manager_stopped_applying() -> None:
    """Fields the same manager applied before and now omits are removed."""
    live = _apply_cm(None, _cm({"x": "1", "y": "2"}, labels={"a": "1", "b": "2"}), "m1", T0)
    result = _apply_cm(live, _cm({"x": "1"}, labels={"a": "1"}), "m1", T1)
    assert result["data"] == {"x": "1"}
    assert result["metadata"]["labels"] == {"a": "1"}
    assert _owners(result)["m1"]["fieldsV1"] == {
        "f:data": {"f:x": {}},
        "f:metadata": {"f:labels": {"f:a": {}}},
    }


def test_removing_last_label_drops_the_labels_map() -> None:
    """A map emptied by pruning disappears from the object."""
    live = _apply_cm(None, _cm(labels={"a": "1"}), "m1", T0)
    result = _apply_cm(live, _cm(), "m1", T1)
    assert "labels" not in result["metadata"]
    assert "managedFields" not in result["metadata"] or "m1" not in _owners(result)


def test_two_managers_share_a_field_and_it_survives_one_leaving() -> None:
    """Applying an equal value shares ownership; the field stays until every owner drops it."""
    live = _apply_cm(None, _cm({"x": "1", "y": "2"}), "m1", T0)
    shared = _apply_cm(live, _cm({"x": "1", "z": "3"}), "m2", T1)
    assert _owners(shared)["m2"]["fieldsV1"] == {"f:data": {"f:x": {}, "f:z": {}}}
    assert _owners(shared)["m1"]["fieldsV1"] == {"f:data": {"f:x": {}, "f:y": {}}}
    m1_left = _apply_cm(shared, _cm({"y": "2"}), "m1", T2)
    assert m1_left["data"] == {"x": "1", "y": "2", "z": "3"}
    m2_left = _apply_cm(m1_left, _cm({"z": "3"}), "m2", T3)
    assert m2_left["data"] == {"y": "2", "z": "3"}


def test_conflict_with_update_manager_reads_like_the_apiserver() -> None:
    """Changing a field an Update manager owns is a 409 naming it, its version and the path."""
    live = track_update(
        None,
        _pod(),
        manager="kubectl-client-side-apply",
        operation="Update",
        subresource="",
        api_version="v1",
        now=T0,
    )
    live["metadata"]["uid"] = "u"
    with pytest.raises(Conflict) as caught:
        apply(live, _pod("nginx:1.26"), manager="other", force=False, group="", kind="Pod", now=T1)
    status = caught.value.status()
    assert status["code"] == 409
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: '
        '.spec.containers[name="main"].image'
    )
    assert status["details"] == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-client-side-apply" using v1',
                "field": '.spec.containers[name="main"].image',
            }
        ]
    }


def test_conflicts_with_apply_manager_are_grouped_per_manager() -> None:
    """Several conflicts list each path under its manager; Apply managers show no version."""
    live = _apply_cm(None, _cm({"x": "1", "z": "3"}), "m2", T0)
    with pytest.raises(Conflict) as caught:
        _apply_cm(live, _cm({"x": "2", "z": "9"}), "m1", T1)
    assert caught.value.message == (
        'Apply failed with 2 conflicts: conflicts with "m2":\n- .data.x\n- .data.z'
    )


def test_force_takes_ownership_from_the_other_manager() -> None:
    """force=true applies anyway and moves the contested fields to the applier."""
    live = _apply_cm(None, _cm({"x": "1", "y": "2"}), "m2", T0)
    result = _apply_cm(live, _cm({"x": "9"}), "m1", T1, force=True)
    assert result["data"] == {"x": "9", "y": "2"}
    assert _owners(result)["m1"]["fieldsV1"] == {"f:data": {"f:x": {}}}
    assert _owners(result)["m2"]["fieldsV1"] == {"f:data": {"f:y": {}}}


def test_same_value_is_no_conflict_and_leaves_time() -> None:
    """Applying values equal to live ones changes nothing, so no conflict and no new time."""
    live = _apply_cm(None, _cm({"x": "1"}), "m2", T0)
    result = _apply_cm(live, _cm({"x": "1"}), "m1", T1)
    assert result["data"] == {"x": "1"}
    assert "time" not in _owners(result)["m1"]
    assert _owners(result)["m2"]["time"] == T0


def test_kubectl_migrating_from_client_side_apply_takes_over_without_conflict() -> None:
    """Manager kubectl may change fields it last applied client-side; the annotation follows."""
    manifest = _pod()
    body = copy.deepcopy(manifest)
    body["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(manifest) + "\n"}
    live = track_update(
        None,
        body,
        manager="kubectl-client-side-apply",
        operation="Update",
        subresource="",
        api_version="v1",
        now=T0,
    )
    live["metadata"]["uid"] = "u"
    result = apply(
        live, _pod("nginx:1.26"), manager="kubectl", force=False, group="", kind="Pod", now=T1
    )
    assert result["spec"]["containers"][0]["image"] == "nginx:1.26"
    owners = _owners(result)
    assert "f:image" in owners["kubectl"]["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"main"}']
    csa = owners["kubectl-client-side-apply"]["fieldsV1"]["f:spec"]["f:containers"]
    assert "f:image" not in csa['k:{"name":"main"}']
    assert result["metadata"]["annotations"][LAST_APPLIED] == (
        '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"demo","namespace":"default"},'
        '"spec":{"containers":[{"image":"nginx:1.26","name":"main"}]}}\n'
    )


def test_apply_to_object_without_managed_fields_assigns_them_first() -> None:
    """Fields of an untracked object go to before-first-apply, so the applier prunes no more."""
    live = _cm({"x": "1", "y": "2"}, uid="u")
    result = _apply_cm(live, _cm({"x": "1"}), "m1", T1)
    assert result["data"] == {"x": "1", "y": "2"}
    first = _owners(result)["before-first-apply"]
    assert first["operation"] == "Update"
    assert first["fieldsV1"] == {"f:data": {".": {}, "f:x": {}, "f:y": {}}}


def test_apply_keeps_status_out_of_ownership_on_main_resource() -> None:
    """Status in an apply to the main resource is not owned (the strategy resets it)."""
    pod = _pod()
    pod["status"] = {"phase": "Running"}
    result = apply(None, pod, manager="m", force=False, group="", kind="Pod", now=T0)
    assert "f:status" not in result["metadata"]["managedFields"][0]["fieldsV1"]


def test_inputs_are_not_mutated() -> None:
    """apply leaves the live object and the configuration as they were."""
    live = _apply_cm(None, _cm({"x": "1", "y": "2"}), "m1", T0)
    cfg = _cm({"x": "2"})
    before = copy.deepcopy((live, cfg))
    _apply_cm(live, cfg, "m1", T1)
    assert (live, cfg) == before


@pytest.mark.parametrize(
    ("cfg", "error", "message"),
    [
        pytest.param(
            {**_cm(), "apiVersion": "apps/v1"},
            BadRequest,
            "invalid object type: apps/v1, Kind=ConfigMap",
            id="wrong-version",
        ),
        pytest.param(
            {**_cm(), "kind": "Secret"},
            BadRequest,
            "invalid object type: /v1, Kind=Secret",
            id="wrong-kind",
        ),
        pytest.param(
            _cm(managedFields=[]),
            BadRequest,
            "metadata.managedFields must be nil",
            id="managed-fields-set",
        ),
    ],
)
def test_malformed_apply_is_bad_request(
    cfg: dict[str, Any], error: type[StatusError], message: str
) -> None:
    """Configurations of another type, or carrying managedFields, are refused with 400."""
    with pytest.raises(error) as caught:
        apply(None, cfg, manager="m", force=False, group="", kind="ConfigMap", now=T0)
    assert caught.value.message == message


def test_duplicate_list_keys_fail_to_type_the_patch() -> None:
    """A config repeating a list key is a reason-less 500 worded like the apiserver's."""
    pod = _pod()
    pod["spec"]["containers"].append({"name": "main", "image": "x"})
    with pytest.raises(StatusError) as caught:
        apply(None, pod, manager="m", force=False, group="", kind="Pod", now=T0)
    assert (caught.value.code, caught.value.reason) == (500, "")
    assert caught.value.message == (
        "failed to create typed patch object (default/demo; /v1, Kind=Pod): "
        '.spec.containers: duplicate entries for key [name="main"]'
    )


def test_apply_requires_a_field_manager() -> None:
    """An apply without fieldManager is an Invalid PatchOptions, as the handler answers."""
    with pytest.raises(Invalid) as caught:
        apply(None, _cm(), manager="", force=False, group="", kind="ConfigMap", now=T0)
    assert caught.value.message == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
        "is required for apply requests"
    )


def test_set_list_merge_keeps_other_owners_items_in_place() -> None:
    """Apply interleaves its set items with another manager's, as structured-merge-diff does."""
    live = _apply_cm(None, _cm(finalizers=["a", "c"]), "default", T0)
    grown = copy.deepcopy(live)
    grown["metadata"]["finalizers"] = ["a", "b", "c", "d"]
    live = track_update(
        live,
        grown,
        manager="controller",
        operation="Update",
        subresource="",
        api_version="v1",
        now=T1,
    )
    result = _apply_cm(live, _cm(finalizers=["a", "aprime", "c", "cprime"]), "default", T2)
    assert result["metadata"]["finalizers"] == ["a", "b", "aprime", "c", "d", "cprime"]
    owners = _owners(result)
    assert owners["controller"]["fieldsV1"] == {
        "f:metadata": {"f:finalizers": {'v:"b"': {}, 'v:"d"': {}}}
    }
    assert set(owners["default"]["fieldsV1"]["f:metadata"]["f:finalizers"]) == {
        'v:"a"',
        'v:"aprime"',
        'v:"c"',
        'v:"cprime"',
    }
