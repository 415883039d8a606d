"""The Deployment controller over a fake API on a fake clock: create, roll, time out."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from tests.unit.kubelet.kubelet_fakes import FakeApi, settle

from kubeproc.api.resources import REGISTRY
from kubeproc.controllers.deployment import DeploymentController
from kubeproc.controllers.deploymentrevision import POD_TEMPLATE_HASH, REVISION, compute_hash
from kubeproc.util.clock import FakeClock

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def deployment_body(image: str = "busybox:1.36", deadline: int = 600) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "generation": 1},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": deadline,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


@contextlib.asynccontextmanager
async def running(ctl: DeploymentController) -> AsyncIterator[None]:
    task = asyncio.create_task(ctl.run())
    await settle()
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def replica_sets(api: FakeApi) -> dict[str, dict[str, Any]]:
    return {rs["metadata"]["name"]: rs for rs in api.of_kind("replicasets")}


def the_deployment(api: FakeApi) -> dict[str, Any]:
    found = api.obj("deployments", "web", "ns")
    assert found is not None
    return found


def make_available(api: FakeApi, name: str) -> None:
    """What the ReplicaSet controller would report once every pod is available."""
    rs = replica_sets(api)[name]
    n = rs["spec"]["replicas"]
    rs["status"] = {
        "replicas": n,
        "readyReplicas": n,
        "availableReplicas": n,
        "observedGeneration": rs["metadata"].get("generation", 0),
    }
    api.put("replicasets", rs)


def progressing(api: FakeApi) -> tuple[str, str]:
    for cond in the_deployment(api)["status"].get("conditions", []):
        if cond["type"] == "Progressing":
            return cond["status"], cond["reason"]
    return "", ""


async def test_creates_the_first_replica_set_then_rolls_to_a_new_template() -> None:
    """Revision 1 gets every replica; a new template grows by maxSurge as pods get available."""
    clock = FakeClock(NOW)
    api = FakeApi(clock)
    api.put("deployments", deployment_body())
    async with running(DeploymentController(api, REGISTRY, clock)):
        (first,) = replica_sets(api).values()
        name = first["metadata"]["name"]
        assert name == f"web-{first['metadata']['labels'][POD_TEMPLATE_HASH]}"
        assert first["spec"]["replicas"] == 3
        assert first["metadata"]["annotations"][REVISION] == "1"
        assert first["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
        assert the_deployment(api)["metadata"]["annotations"][REVISION] == "1"
        assert progressing(api) == ("True", "NewReplicaSetCreated")

        make_available(api, name)
        await settle()
        status = the_deployment(api)["status"]
        assert (status["updatedReplicas"], status["availableReplicas"]) == (3, 3)
        assert progressing(api) == ("True", "NewReplicaSetAvailable")

        rolled = deployment_body(image="busybox:1.37")
        rolled["metadata"] = {**the_deployment(api)["metadata"], "generation": 2}
        api.put("deployments", rolled)
        await settle()
        sets = replica_sets(api)
        (second,) = set(sets) - {name}
        assert (sets[name]["spec"]["replicas"], sets[second]["spec"]["replicas"]) == (3, 1)
        assert sets[second]["metadata"]["annotations"][REVISION] == "2"

        make_available(api, second)
        await settle()
        # One old pod went, which made room for a second new one, which is not available
        # yet: the rollout holds there (4 pods, 3 available, maxUnavailable 0).
        sets = replica_sets(api)
        assert (sets[name]["spec"]["replicas"], sets[second]["spec"]["replicas"]) == (2, 2)


async def test_no_progress_times_out_after_the_deadline_on_the_fake_clock() -> None:
    """With no pod ever available, Progressing turns False once the deadline passes."""
    clock = FakeClock(NOW)
    api = FakeApi(clock)
    api.put("deployments", deployment_body(deadline=30))
    async with running(DeploymentController(api, REGISTRY, clock)):
        assert progressing(api) == ("True", "NewReplicaSetCreated")
        await clock.advance(20)
        await settle()
        assert progressing(api) == ("True", "NewReplicaSetCreated")
        await clock.advance(12)
        await settle()
        assert progressing(api) == ("False", "ProgressDeadlineExceeded")
        cond = the_deployment(api)["status"]["conditions"]
        (timed_out,) = [c for c in cond if c["type"] == "Progressing"]
        (rs_name,) = replica_sets(api)
        assert timed_out["message"] == f'ReplicaSet "{rs_name}" has timed out progressing.'


async def test_paused_deployment_scales_but_does_not_roll() -> None:
    """Paused: a new template makes no ReplicaSet, a new replica count still applies."""
    clock = FakeClock(NOW)
    api = FakeApi(clock)
    api.put("deployments", deployment_body())
    async with running(DeploymentController(api, REGISTRY, clock)):
        (name,) = replica_sets(api)
        make_available(api, name)
        await settle()
        paused = deployment_body(image="busybox:1.37")
        paused["metadata"] = {**the_deployment(api)["metadata"], "generation": 2}
        paused["spec"]["paused"] = True
        paused["spec"]["replicas"] = 5
        paused["status"] = the_deployment(api)["status"]
        api.put("deployments", paused)
        await settle()
        assert list(replica_sets(api)) == [name]
        assert replica_sets(api)[name]["spec"]["replicas"] == 5
        assert progressing(api) == ("Unknown", "DeploymentPaused")


async def test_adopts_a_matching_orphan_as_its_new_replica_set() -> None:
    """An orphan ReplicaSet with the deployment's labels and template is adopted, not doubled."""
    clock = FakeClock(NOW)
    api = FakeApi(clock)
    template = deployment_body()["spec"]["template"]
    api.put(
        "replicasets",
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "orphan", "namespace": "ns", "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": template,
            },
        },
    )
    api.put("deployments", deployment_body())
    async with running(DeploymentController(api, REGISTRY, clock)):
        assert list(replica_sets(api)) == ["orphan"]
        adopted = replica_sets(api)["orphan"]
        (ref,) = adopted["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["uid"], ref["controller"]) == ("Deployment", "uid-web", True)
        assert adopted["metadata"]["annotations"][REVISION] == "1"
        assert progressing(api) == ("True", "FoundNewReplicaSet")


async def test_recreate_waits_for_old_pods_before_the_new_replica_set() -> None:
    """Recreate: old ReplicaSet to 0 first; the new one appears only once old pods are gone."""
    clock = FakeClock(NOW)
    api = FakeApi(clock)
    body = deployment_body()
    body["spec"]["strategy"] = {"type": "Recreate"}
    api.put("deployments", body)
    async with running(DeploymentController(api, REGISTRY, clock)):
        (old_name,) = replica_sets(api)
        make_available(api, old_name)
        await settle()
        old_uid = replica_sets(api)[old_name]["metadata"]["uid"]
        api.put(
            "pods",
            {
                "metadata": {
                    "name": "old-pod",
                    "namespace": "ns",
                    "labels": {"app": "web"},
                    "ownerReferences": [
                        {"kind": "ReplicaSet", "name": old_name, "uid": old_uid, "controller": True}
                    ],
                },
                "spec": {},
                "status": {"phase": "Running"},
            },
        )
        rolled = deployment_body(image="busybox:1.37")
        rolled["spec"]["strategy"] = {"type": "Recreate"}
        rolled["metadata"] = {**the_deployment(api)["metadata"], "generation": 2}
        api.put("deployments", rolled)
        await settle()
        assert list(replica_sets(api)) == [old_name]
        assert replica_sets(api)[old_name]["spec"]["replicas"] == 0

        emptied = replica_sets(api)[old_name]
        emptied["status"] = {"replicas": 0, "observedGeneration": 1}
        api.put("replicasets", emptied)
        await settle()
        assert list(replica_sets(api)) == [old_name], "an old pod still runs"

        pods_rt = REGISTRY.get("", "v1", "pods")
        assert pods_rt is not None
        await api.delete(pods_rt, "ns", "old-pod", options={"gracePeriodSeconds": 0})
        await settle()
        sets = replica_sets(api)
        (new_name,) = set(sets) - {old_name}
        assert sets[new_name]["spec"]["replicas"] == 3


async def test_a_hash_collision_bumps_collision_count_and_picks_another_name() -> None:
    """A foreign ReplicaSet holding the new name makes the deployment count a collision."""
    clock = FakeClock(NOW)
    api = FakeApi(clock)
    body = deployment_body()
    taken = f"web-{compute_hash(body['spec']['template'], None)}"
    api.put(
        "replicasets",
        {
            "metadata": {"name": taken, "namespace": "ns", "labels": {"other": "x"}},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"other": "x"}}},
        },
    )
    api.put("deployments", body)
    async with running(DeploymentController(api, REGISTRY, clock)):
        await clock.advance(0.1)
        await settle()
        assert the_deployment(api)["status"]["collisionCount"] == 1
        mine = [n for n in replica_sets(api) if n != taken]
        assert mine == [f"web-{compute_hash(body['spec']['template'], 1)}"]
