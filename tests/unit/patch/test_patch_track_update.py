"""Update-operation ownership: what creates, updates and patches record in managedFields."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.errors import Conflict
from kubeproc.api.patch import apply, track_update

T0, T1, T2 = "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z", "2025-01-01T00:02:00Z"


def _track(
    old: dict[str, Any] | None, new: dict[str, Any], manager: str, now: str, **kw: Any
) -> dict[str, Any]:
    options: dict[str, Any] = {"operation": "Update", "subresource": "", "api_version": "v1"}
    options.update(kw)
    result = track_update(old, new, manager=manager, now=now, **options)
    result["metadata"].setdefault("uid", "uid-1")
    return result


def _created_pod() -> dict[str, Any]:
    """A pod as kubectl create sends it, after the apiserver's defaulting."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "demo",
            "namespace": "default",
            "labels": {"app": "demo"},
            "creationTimestamp": "2025-01-01T00:00:00Z",
        },
        "spec": {
            "containers": [
                {
                    "image": "nginx:1.25",
                    "name": "main",
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "securityContext": {},
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


def test_create_records_what_kubectl_create_shows() -> None:
    """A create owns every field it set, with '.' where a map or item was added, no status."""
    result = _track(None, _created_pod(), "kubectl-create", T0)
    assert result["metadata"]["managedFields"] == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"main"}': {
                            ".": {},
                            "f:image": {},
                            "f:imagePullPolicy": {},
                            "f:name": {},
                            "f:resources": {},
                            "f:terminationMessagePath": {},
                            "f:terminationMessagePolicy": {},
                        }
                    },
                    "f:dnsPolicy": {},
                    "f:restartPolicy": {},
                    "f:securityContext": {},
                },
            },
        }
    ]


def test_deployment_create_marks_only_added_nodes() -> None:
    """Go's zero Deployment has template and strategy, so only their new children get '.'."""
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "n"}]},
            },
        },
    }
    result = track_update(
        None,
        dep,
        manager="kubectl-create",
        operation="Update",
        subresource="",
        api_version="apps/v1",
        now=T0,
    )
    assert result["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"] == {
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}}, "f:type": {}},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {'k:{"name":"n"}': {".": {}, "f:name": {}}}},
        },
    }


def test_update_moves_changed_fields_to_the_updater() -> None:
    """An update takes over what it changed; the creator keeps the rest."""
    created = _track(None, _created_pod(), "kubectl-create", T0)
    edited = copy.deepcopy(created)
    edited["spec"]["containers"][0]["image"] = "nginx:1.26"
    result = _track(created, edited, "kubectl-edit", T1)
    owners = {e["manager"]: e["fieldsV1"] for e in result["metadata"]["managedFields"]}
    assert owners["kubectl-edit"] == {
        "f:spec": {"f:containers": {'k:{"name":"main"}': {"f:image": {}}}}
    }
    assert "f:image" not in owners["kubectl-create"]["f:spec"]["f:containers"]['k:{"name":"main"}']
    assert [e["manager"] for e in result["metadata"]["managedFields"]] == [
        "kubectl-create",
        "kubectl-edit",
    ]


def test_update_then_apply_by_another_manager_conflicts() -> None:
    """After an update owns a field, an apply changing it conflicts with that update manager."""
    created = _track(None, _created_pod(), "kubectl-create", T0)
    edited = copy.deepcopy(created)
    edited["metadata"]["labels"]["app"] = "other"
    updated = _track(created, edited, "kubectl-label", T1)
    cfg = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "demo", "labels": {"app": "mine"}},
    }
    with pytest.raises(Conflict) as caught:
        apply(updated, cfg, manager="ssa", force=False, group="", kind="Pod", now=T2)
    assert caught.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-label" using v1: .metadata.labels.app'
    )


def test_update_removing_a_field_takes_it_from_its_owner() -> None:
    """A removed field stops being owned by anybody."""
    created = _track(None, _created_pod(), "kubectl-create", T0)
    edited = copy.deepcopy(created)
    del edited["metadata"]["labels"]
    result = _track(created, edited, "kubectl-edit", T1)
    managers = [e["manager"] for e in result["metadata"]["managedFields"]]
    assert managers == ["kubectl-create"]
    assert "f:metadata" not in result["metadata"]["managedFields"][0]["fieldsV1"]


def test_update_changing_only_server_metadata_records_nothing() -> None:
    """resourceVersion, generation and the like are never owned, so no entry appears."""
    created = _track(None, _created_pod(), "kubectl-create", T0)
    bumped = copy.deepcopy(created)
    bumped["metadata"]["resourceVersion"] = "7"
    bumped["metadata"]["generation"] = 2
    result = _track(created, bumped, "someone", T1)
    assert [e["manager"] for e in result["metadata"]["managedFields"]] == ["kubectl-create"]


def test_status_subresource_owns_status_not_spec() -> None:
    """A status update records status fields and ignores spec changes."""
    created = _track(None, _created_pod(), "kubectl-create", T0)
    new = copy.deepcopy(created)
    new["status"]["phase"] = "Running"
    new["spec"]["restartPolicy"] = "Never"
    result = _track(created, new, "kubelet", T1, subresource="status")
    entry = next(e for e in result["metadata"]["managedFields"] if e["manager"] == "kubelet")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_scale_subresource_owns_replicas_only() -> None:
    """A scale records spec.replicas under the scale subresource."""
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w"},
        "spec": {"replicas": 1},
    }
    created = _track(None, dep, "kubectl-create", T0, api_version="apps/v1")
    scaled = copy.deepcopy(created)
    scaled["spec"]["replicas"] = 3
    scaled["metadata"]["generation"] = 2
    result = _track(created, scaled, "kubectl", T1, api_version="apps/v1", subresource="scale")
    entry = next(e for e in result["metadata"]["managedFields"] if e["manager"] == "kubectl")
    assert (entry["subresource"], entry["fieldsV1"]) == ("scale", {"f:spec": {"f:replicas": {}}})


def test_existing_untracked_object_stays_untracked() -> None:
    """An object that exists without managedFields gets none from an update."""
    old: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "uid": "u"},
        "data": {"a": "1"},
    }
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    assert "managedFields" not in _track(old, new, "m", T1)["metadata"]


def test_empty_managed_fields_in_request_resets_them() -> None:
    """Sending managedFields: [] clears ownership, as on a real cluster."""
    created = _track(None, _created_pod(), "kubectl-create", T0)
    cleared = copy.deepcopy(created)
    cleared["metadata"]["managedFields"] = []
    assert "managedFields" not in _track(created, cleared, "m", T1)["metadata"]


def test_more_than_ten_update_managers_fold_into_ancient_changes() -> None:
    """The oldest update managers beyond ten are merged into ancient-changes."""
    first = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"k0": "v"},
    }
    obj = _track(None, first, "m00", T0)
    for i in range(1, 12):
        new = copy.deepcopy(obj)
        new.setdefault("data", {})[f"k{i}"] = "v"
        obj = _track(obj, new, f"m{i:02d}", f"2025-01-01T00:{i:02d}:00Z")
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(managers) == 10
    assert managers[0] == "ancient-changes"
    # m00..m02 are the oldest; the first of them becomes the bucket the next two join.
    assert obj["metadata"]["managedFields"][0]["fieldsV1"]["f:data"] == {
        ".": {},
        "f:k0": {},
        "f:k1": {},
        "f:k2": {},
    }


def test_inputs_are_not_mutated() -> None:
    """track_update leaves old and new objects as they were."""
    old = _track(None, _created_pod(), "kubectl-create", T0)
    new = copy.deepcopy(old)
    new["spec"]["dnsPolicy"] = "Default"
    before = copy.deepcopy((old, new))
    _track(old, new, "m", T1)
    assert (old, new) == before
