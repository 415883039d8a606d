"""ObjectStore writes on a real SqliteStore and a FakeClock: create, update, apply, delete."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from kubeproc.api.errors import Conflict, Forbidden, Invalid, NotFound
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.apiserver.bootstrap import ensure_system_namespaces
from kubeproc.apiserver.objects import DeleteOptions, ObjectStore, WriteOptions
from kubeproc.storage import SqliteStore
from kubeproc.util.clock import FakeClock, rfc3339

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterator

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
OPTS = WriteOptions(field_manager="test")


def rt(group: str, version: str, plural: str) -> ResourceType:
    found = REGISTRY.get(group, version, plural)
    assert found is not None
    return found


CONFIGMAPS = rt("", "v1", "configmaps")
PODS = rt("", "v1", "pods")
NAMESPACES = rt("", "v1", "namespaces")
DEPLOYMENTS = rt("apps", "v1", "deployments")


@pytest.fixture
def objects(tmp_path: pathlib.Path) -> Iterator[ObjectStore]:
    store = SqliteStore.open(tmp_path / "state.db")
    objs = ObjectStore(store, REGISTRY, FakeClock(START))
    ensure_system_namespaces(objs, REGISTRY)
    yield objs
    store.close()


def configmap(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}}


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
    }


def deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
            },
        },
    }


def test_create_fills_in_server_fields(objects: ObjectStore) -> None:
    """create sets name from generateName, a fresh uid, the clock's time and generation 1."""
    body = configmap("", generateName="cfg-", uid="client", generation=9)
    created = objects.create(CONFIGMAPS, "default", body, OPTS)
    meta = created["metadata"]
    assert re.fullmatch(r"cfg-[bcdfghjklmnpqrstvwxz2456789]{5}", meta["name"])
    assert meta["uid"] != "client"
    assert str(uuid.UUID(meta["uid"])) == meta["uid"]
    assert meta["creationTimestamp"] == rfc3339(START)
    assert "generation" not in meta
    assert int(meta["resourceVersion"]) == objects.store.revision
    dep = objects.create(DEPLOYMENTS, "default", deployment("d"), OPTS)
    assert dep["metadata"]["generation"] == 1


def test_update_with_a_stale_resource_version_is_a_conflict(objects: ObjectStore) -> None:
    """An update naming an old resourceVersion fails with the apiserver's Conflict message."""
    old = objects.create(PODS, "default", pod("x"), OPTS)
    objects.patch(
        PODS,
        "default",
        "x",
        lambda cur: {**cur, "metadata": {**cur["metadata"], "labels": {"a": "b"}}},
        OPTS,
    )
    with pytest.raises(Conflict) as err:
        objects.update(PODS, "default", "x", old, OPTS)
    assert err.value.message == (
        'Operation cannot be fulfilled on pods "x": the object has been modified; please apply '
        "your changes to the latest version and try again"
    )


def test_generation_moves_with_the_spec_only(objects: ObjectStore) -> None:
    """Metadata and status writes keep generation; a spec change bumps it."""
    objects.create(DEPLOYMENTS, "default", deployment("d"), OPTS)

    def change(path: str, value: Any, subresource: str = "") -> int:
        def mutate(cur: dict[str, Any]) -> dict[str, Any]:
            section, key = path.split(".")
            cur.setdefault(section, {})[key] = value
            return cur

        out = objects.patch(DEPLOYMENTS, "default", "d", mutate, OPTS, subresource=subresource)
        return int(out["metadata"]["generation"])

    assert change("metadata.labels", {"a": "b"}) == 1
    assert change("status.replicas", 1, subresource="status") == 1
    assert change("spec.replicas", 3) == 2
    assert change("spec.paused", True) == 3


def test_server_side_apply_creates_in_one_write(objects: ObjectStore) -> None:
    """apply on a missing object creates it with Apply managedFields in a single revision."""
    before = objects.store.revision
    config = configmap("c", namespace="default")
    config["data"] = {"k": "v"}
    created, fresh = objects.apply(CONFIGMAPS, "default", "c", config, OPTS)
    assert fresh
    assert objects.store.revision == before + 1
    managed = created["metadata"]["managedFields"]
    assert [(m["manager"], m["operation"]) for m in managed] == [("test", "Apply")]
    again, fresh = objects.apply(CONFIGMAPS, "default", "c", config, OPTS)
    assert not fresh
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_a_finalizer_holds_a_deleted_object(objects: ObjectStore) -> None:
    """Deletion with a finalizer only marks the object; removing the last one deletes it."""
    objects.create(CONFIGMAPS, "default", configmap("c", finalizers=["x/hold"]), OPTS)
    obj, gone = objects.delete(CONFIGMAPS, "default", "c", DeleteOptions())
    assert not gone
    assert obj["metadata"]["deletionTimestamp"] == rfc3339(START)
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 0

    def set_finalizers(*names: str) -> Any:
        def mutate(cur: dict[str, Any]) -> dict[str, Any]:
            cur["metadata"]["finalizers"] = list(names)
            return cur

        return mutate

    with pytest.raises(Invalid) as err:
        objects.patch(CONFIGMAPS, "default", "c", set_finalizers("x/hold", "b/new", "a/new"), OPTS)
    assert err.value.message == (
        'ConfigMap "c" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added '
        'if the object is being deleted, found new finalizers []string{"a/new", "b/new"}'
    )
    assert objects.try_get(CONFIGMAPS, "default", "c") is not None
    objects.patch(CONFIGMAPS, "default", "c", set_finalizers(), OPTS)
    assert objects.try_get(CONFIGMAPS, "default", "c") is None


def test_bound_pod_deletion_is_graceful(objects: ObjectStore) -> None:
    """A bound pod gets deletionTimestamp = now + grace and stays; grace 0 removes it."""
    objects.create(PODS, "default", pod("p"), OPTS)
    objects.bind(PODS, "default", "p", "vm")
    obj, gone = objects.delete(PODS, "default", "p", DeleteOptions())
    assert not gone
    meta = obj["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 30
    assert meta["deletionTimestamp"] == rfc3339(START + dt.timedelta(seconds=30))
    obj, _ = objects.delete(PODS, "default", "p", DeleteOptions(grace_period=10))
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 10
    obj, _ = objects.delete(PODS, "default", "p", DeleteOptions(grace_period=20))
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 10
    _, gone = objects.delete(PODS, "default", "p", DeleteOptions(grace_period=0))
    assert gone
    assert objects.try_get(PODS, "default", "p") is None


def test_unbound_pod_is_deleted_at_once(objects: ObjectStore) -> None:
    """A pod no kubelet owns yet has nothing to wait for."""
    objects.create(PODS, "default", pod("p"), OPTS)
    _, gone = objects.delete(PODS, "default", "p", DeleteOptions())
    assert gone


def _drop_finalizer(name: str) -> Any:
    def mutate(cur: dict[str, Any]) -> dict[str, Any]:
        cur["metadata"]["finalizers"] = [f for f in cur["metadata"]["finalizers"] if f != name]
        return cur

    return mutate


@pytest.mark.parametrize("policy", ["Foreground", "Orphan"])
def test_namespace_waits_for_its_content_whatever_the_policy(
    objects: ObjectStore, policy: str
) -> None:
    """Dropping a propagation finalizer does not remove a namespace /finalize has not emptied."""
    objects.create(NAMESPACES, None, {"metadata": {"name": "team"}}, OPTS)
    obj, gone = objects.delete(NAMESPACES, None, "team", DeleteOptions(propagation=policy))
    assert not gone
    assert obj["status"]["phase"] == "Terminating"
    finalizer = "foregroundDeletion" if policy == "Foreground" else "orphan"
    assert obj["metadata"]["finalizers"] == [finalizer]
    objects.patch(NAMESPACES, None, "team", _drop_finalizer(finalizer), OPTS)
    live = objects.get(NAMESPACES, None, "team")
    assert live["spec"]["finalizers"] == ["kubernetes"]
    finalized = {**live, "spec": {"finalizers": []}}
    objects.update(NAMESPACES, None, "team", finalized, OPTS, subresource="finalize")
    assert objects.try_get(NAMESPACES, None, "team") is None


def test_namespace_finalizers_change_only_through_finalize(objects: ObjectStore) -> None:
    """A plain update cannot drop spec.finalizers and so skip emptying the namespace."""
    objects.create(NAMESPACES, None, {"metadata": {"name": "team"}}, OPTS)
    objects.delete(NAMESPACES, None, "team", DeleteOptions())
    live = objects.get(NAMESPACES, None, "team")
    updated = objects.update(NAMESPACES, None, "team", {**live, "spec": {"finalizers": []}}, OPTS)
    assert updated["spec"]["finalizers"] == ["kubernetes"]
    assert objects.try_get(NAMESPACES, None, "team") is not None


def test_terminating_namespace_refuses_new_content(objects: ObjectStore) -> None:
    """Creating in a terminating namespace is Forbidden with the admission plugin's message."""
    objects.create(NAMESPACES, None, {"metadata": {"name": "team"}}, OPTS)
    objects.delete(NAMESPACES, None, "team", DeleteOptions())
    with pytest.raises(Forbidden) as err:
        objects.create(CONFIGMAPS, "team", configmap("c"), OPTS)
    assert err.value.message == (
        'configmaps "c" is forbidden: unable to create new content in namespace team because '
        "it is being terminated"
    )


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public", "kube-node-lease"])
def test_system_namespaces_cannot_be_deleted(objects: ObjectStore, name: str) -> None:
    """The namespaces every cluster has refuse deletion."""
    with pytest.raises(Forbidden) as err:
        objects.delete(NAMESPACES, None, name, DeleteOptions())
    assert (
        err.value.message == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    )


def test_deleting_a_missing_object_is_not_found(objects: ObjectStore) -> None:
    """DELETE of nothing names the resource and the name."""
    with pytest.raises(NotFound) as err:
        objects.delete(PODS, "default", "x", DeleteOptions())
    assert err.value.message == 'pods "x" not found'
