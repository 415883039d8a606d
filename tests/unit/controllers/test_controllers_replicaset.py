"""The ReplicaSet/ReplicationController controller: ranking, slow start, status, expectations."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.unit.kubelet.kubelet_fakes import FakeApi, settle

from kubeproc.api import errors
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.controllers.expectations import Expectations
from kubeproc.controllers.podcontrol import pod_from_template, slow_start_batch
from kubeproc.controllers.podranking import (
    delete_before,
    is_pod_active,
    is_pod_available,
    pods_to_delete,
)
from kubeproc.controllers.replicaset import ReplicaSetController
from kubeproc.controllers.replicastatus import calculate_status, status_changed
from kubeproc.util.clock import FakeClock, rfc3339

RS = REGISTRY.get("apps", "v1", "replicasets")
RC = REGISTRY.get("", "v1", "replicationcontrollers")
assert RS is not None and RC is not None

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def ago(seconds: float) -> str:
    return rfc3339(NOW - dt.timedelta(seconds=seconds))


def pod(
    name: str,
    *,
    node: str = "n1",
    phase: str = "Running",
    ready_for: float | None = 100.0,
    age: float = 1000.0,
    restarts: int = 0,
    cost: int | None = None,
    labels: dict[str, str] | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "uid": f"uid-{name}",
        "creationTimestamp": ago(age),
        "labels": {"app": "web"} if labels is None else labels,
    }
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    if deleting:
        meta["deletionTimestamp"] = ago(0)
    status: dict[str, Any] = {
        "phase": phase,
        "containerStatuses": [{"name": "app", "restartCount": restarts}],
    }
    if ready_for is not None:
        status["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": ago(ready_for)}
        ]
    else:
        status["conditions"] = [{"type": "Ready", "status": "False"}]
    return {"metadata": meta, "spec": {"nodeName": node}, "status": status}


# -- ranking -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        (pod("a", node=""), pod("b"), "unassigned before assigned"),
        (pod("a", phase="Pending"), pod("b", phase="Unknown"), "Pending before Unknown"),
        (pod("a", phase="Unknown"), pod("b", phase="Running"), "Unknown before Running"),
        (pod("a", ready_for=None), pod("b"), "not ready before ready"),
        (pod("a", cost=-5), pod("b", cost=10), "lower deletion cost first"),
        (pod("a", ready_for=10), pod("b", ready_for=5000), "more recently ready first"),
        (pod("a", restarts=4), pod("b", restarts=1), "more restarts first"),
        (pod("a", age=10), pod("b", age=5000), "newer first"),
        (pod("a", phase="Pending", node=""), pod("b", ready_for=None), "node beats readiness"),
        (pod("a", ready_for=None, age=5000), pod("b", age=10), "readiness beats age"),
    ],
)
def test_ranking_orders_pods_as_upstream(
    first: dict[str, Any], second: dict[str, Any], why: str
) -> None:
    """The upstream deletion order holds one rule at a time, and never both ways."""
    assert delete_before(first, second, 0, 0, NOW), why
    assert not delete_before(second, first, 0, 0, NOW), why


def test_ranking_prefers_doubled_up_nodes() -> None:
    """A pod with more sibling pods on its node goes first when all else ties."""
    assert delete_before(pod("a"), pod("b"), 3, 1, NOW)
    assert not delete_before(pod("a"), pod("b"), 1, 3, NOW)


def test_pods_to_delete_picks_the_least_valuable() -> None:
    """Scale-down chooses the pending and not-ready pods before the ready ones."""
    pods = [
        pod("ready-old", age=5000, ready_for=4000),
        pod("not-ready", ready_for=None),
        pod("ready-new", age=20, ready_for=10),
        pod("pending", phase="Pending", ready_for=None),
    ]
    chosen = pods_to_delete(pods, pods, 3, NOW)
    assert [p["metadata"]["name"] for p in chosen] == ["pending", "not-ready", "ready-new"]
    assert len(pods_to_delete(pods, pods, 9, NOW)) == 4


@pytest.mark.parametrize(
    ("the_pod", "active"),
    [
        (pod("a"), True),
        (pod("a", phase="Pending"), True),
        (pod("a", phase="Succeeded"), False),
        (pod("a", phase="Failed"), False),
        (pod("a", deleting=True), False),
    ],
)
def test_active_pods(the_pod: dict[str, Any], active: bool) -> None:
    """Terminating, Succeeded and Failed pods are not active."""
    assert is_pod_active(the_pod) is active


def test_available_needs_min_ready_seconds_of_readiness() -> None:
    """A pod is available once it has been ready for longer than minReadySeconds."""
    assert is_pod_available(pod("a", ready_for=5), 0, NOW)
    assert not is_pod_available(pod("a", ready_for=5), 10, NOW)
    assert is_pod_available(pod("a", ready_for=11), 10, NOW)
    assert not is_pod_available(pod("a", ready_for=None), 0, NOW)


# -- slow start ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "fail_from", "batches", "successes"),
    [
        (0, None, [], 0),
        (1, None, [1], 1),
        (10, None, [1, 2, 4, 3], 10),
        (16, None, [1, 2, 4, 8, 1], 16),
        (10, 1, [1], 0),
        (10, 2, [1, 2], 1),
        (10, 4, [1, 2, 4], 3),
    ],
)
async def test_slow_start_batches_double_and_stop_at_an_error(
    count: int, fail_from: int | None, batches: list[int], successes: int
) -> None:
    """Batches go 1, 2, 4 …; after a batch with an error no further batch starts."""
    calls = itertools.count(1)
    finished = [0]
    finished_at_start: list[int] = []

    async def fn() -> None:
        n = next(calls)
        # Calls of one batch all start before any of them finishes.
        finished_at_start.append(finished[0])
        await asyncio.sleep(0)
        finished[0] += 1
        if fail_from is not None and n >= fail_from:
            raise errors.Forbidden("exceeded quota")

    done, err = await slow_start_batch(count, 1, fn)
    seen = [len(list(group)) for _, group in itertools.groupby(finished_at_start)]
    assert seen == batches
    assert done == successes
    assert (err is None) == (fail_from is None)


# -- status ----------------------------------------------------------------------------


def owner(replicas: int = 3, min_ready: int = 0, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": "rs-1", "generation": 2},
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}},
        },
        "status": status,
    }


@pytest.mark.parametrize(
    ("the_owner", "pods", "error", "expected"),
    [
        (owner(), [], None, {"replicas": 0}),
        (
            owner(),
            [pod("a", labels={"app": "web", "tier": "fe"}), pod("b", ready_for=None)],
            None,
            {"replicas": 2, "fullyLabeledReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
        ),
        (
            owner(min_ready=30),
            [pod("a", ready_for=10), pod("b", ready_for=60)],
            None,
            {"replicas": 2, "readyReplicas": 2, "availableReplicas": 1},
        ),
    ],
)
def test_status_counts(
    the_owner: dict[str, Any],
    pods: list[dict[str, Any]],
    error: Exception | None,
    expected: dict[str, Any],
) -> None:
    """replicas, fullyLabeledReplicas, readyReplicas and availableReplicas count the pods."""
    assert calculate_status(the_owner, pods, error, NOW) == expected


def test_replica_failure_condition_is_set_then_cleared() -> None:
    """A create error adds ReplicaFailure/FailedCreate; the next clean sync removes it."""
    failing = calculate_status(owner(), [], errors.Forbidden("exceeded quota"), NOW)
    (cond,) = failing["conditions"]
    assert cond["type"] == "ReplicaFailure" and cond["status"] == "True"
    assert cond["reason"] == "FailedCreate" and "exceeded quota" in cond["message"]
    again = calculate_status(owner(**failing), [], errors.Forbidden("other"), NOW)
    assert again["conditions"] == [cond]
    cleared = calculate_status(owner(**failing), [], None, NOW)
    assert "conditions" not in cleared


def test_status_written_only_when_changed() -> None:
    """An unchanged status with the generation observed needs no write."""
    current = owner(replicas=1)
    current["status"] = {"replicas": 1, "readyReplicas": 1, "observedGeneration": 2}
    assert not status_changed(current, {"replicas": 1, "readyReplicas": 1})
    assert status_changed(current, {"replicas": 1})
    current["metadata"]["generation"] = 3
    assert status_changed(current, {"replicas": 1, "readyReplicas": 1})


def test_pod_from_template() -> None:
    """Pods are named <owner>-…, labelled from the template, controlled by the owner."""
    assert RS is not None
    body = pod_from_template(owner(), RS)
    meta = body["metadata"]
    assert meta["generateName"] == "web-"
    assert meta["labels"] == {"app": "web", "tier": "fe"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "web",
            "uid": "rs-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_expectations_count_each_deletion_once() -> None:
    """A pod seen deleted twice counts once; unexpected pods do not count at all."""
    exp = Expectations(FakeClock())
    exp.expect_deletions("ns/web", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/web", "ns/a")
    exp.deletion_observed("ns/web", "ns/a")
    exp.deletion_observed("ns/web", "ns/zzz")
    assert not exp.satisfied("ns/web")
    exp.deletion_observed("ns/web", "ns/b")
    assert exp.satisfied("ns/web")


async def test_expectations_expire() -> None:
    """An expectation never met is treated as met after the timeout."""
    clock = FakeClock()
    exp = Expectations(clock, timeout=300)
    exp.expect_creations("ns/web", 2)
    assert not exp.satisfied("ns/web")
    await clock.advance(301)
    assert exp.satisfied("ns/web")


# -- the controller over a fake API ----------------------------------------------------


class GenApi(FakeApi):
    """FakeApi with generateName and scripted create failures."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self._names = itertools.count(1)
        self.create_failures: int = 0
        self.create_calls = 0

    async def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        *,
        subresource: str = "",
        name: str = "",
    ) -> dict[str, Any]:
        if rt.plural == "pods":
            self.create_calls += 1
            if self.create_failures:
                raise errors.Forbidden('pods "x" is forbidden: exceeded quota')
        meta = body["metadata"]
        if not meta.get("name"):
            meta["name"] = f"{meta['generateName']}{next(self._names):05d}"
        return await super().create(rt, namespace, body, subresource=subresource, name=name)


def rs_body(replicas: int, min_ready: int = 0) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "ns", "generation": 1},
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "command": ["sleep", "9"]}]},
            },
        },
    }


def current(api: FakeApi, plural: str = "replicasets") -> dict[str, Any]:
    found = api.obj(plural, "web", "ns")
    assert found is not None
    return found


def live_pods(api: FakeApi) -> list[dict[str, Any]]:
    return [p for p in api.of_kind("pods") if not p["metadata"].get("deletionTimestamp")]


@contextlib.asynccontextmanager
async def running(ctl: ReplicaSetController) -> AsyncIterator[None]:
    task = asyncio.create_task(ctl.run())
    await settle()
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def owned_by(p: dict[str, Any], uid: str) -> bool:
    return any(r["uid"] == uid and r.get("controller") for r in p["metadata"]["ownerReferences"])


async def test_controller_creates_then_scales_down_the_not_ready_pod() -> None:
    """Three pods appear with controller refs; scaling to 1 deletes the not-ready ones."""
    clock = FakeClock(NOW)
    api = GenApi(clock)
    rs = api.put("replicasets", rs_body(3))
    ctl = ReplicaSetController(api, REGISTRY, clock)
    async with running(ctl):
        pods = live_pods(api)
        assert len(pods) == 3
        assert all(p["metadata"]["name"].startswith("web-") for p in pods)
        assert all(owned_by(p, rs["metadata"]["uid"]) for p in pods)
        status = api.obj("replicasets", "web", "ns")
        assert status is not None
        assert status["status"]["replicas"] == 3
        assert status["status"]["observedGeneration"] == 1
        # Two become ready and running; the third stays pending.
        for p in sorted(pods, key=lambda p: p["metadata"]["name"])[:2]:
            p["status"] = pod(p["metadata"]["name"], ready_for=0)["status"]
            p["spec"]["nodeName"] = "n1"
            api.put("pods", p)
        await settle()
        assert current(api)["status"]["readyReplicas"] == 2
        scaled = api.obj("replicasets", "web", "ns")
        assert scaled is not None
        scaled["spec"]["replicas"] = 1
        api.put("replicasets", scaled)
        await settle()
        left = live_pods(api)
        assert len(left) == 1
        assert left[0]["status"].get("phase") == "Running"


async def test_expectations_stop_double_creation() -> None:
    """A second sync before the informer sees the new pods creates nothing more."""
    clock = FakeClock(NOW)
    api = GenApi(clock)
    rs = api.put("replicasets", rs_body(3))
    ctl = ReplicaSetController(api, REGISTRY, clock)
    ctl.owners.objects["ns/web"] = rs
    await ctl.sync("ns/web")
    await ctl.sync("ns/web")
    assert api.create_calls == 3
    for p in api.of_kind("pods"):
        ctl._pod_changed(f"ns/{p['metadata']['name']}", None, p)
    assert ctl.expectations.satisfied("ns/web")
    ctl.owners.objects["ns/web"] = current(api)
    await ctl.sync("ns/web")
    assert api.create_calls == 3


async def test_create_failure_stops_slow_start_and_sets_condition() -> None:
    """A forbidden create stops after the first batch and reports ReplicaFailure."""
    clock = FakeClock(NOW)
    api = GenApi(clock)
    api.create_failures = 1
    rs = api.put("replicasets", rs_body(5))
    ctl = ReplicaSetController(api, REGISTRY, clock)
    ctl.owners.objects["ns/web"] = rs
    with pytest.raises(errors.Forbidden):
        await ctl.sync("ns/web")
    assert api.create_calls == 1
    assert ctl.expectations.satisfied("ns/web")
    cond = current(api)["status"]["conditions"][0]
    assert (cond["type"], cond["reason"]) == ("ReplicaFailure", "FailedCreate")


async def test_adopts_orphans_and_releases_misfits() -> None:
    """A matching orphan is adopted (no new pod made); a relabelled pod is released."""
    clock = FakeClock(NOW)
    api = GenApi(clock)
    orphan = pod("stray", labels={"app": "web"})
    orphan["metadata"].pop("uid")
    api.put("pods", orphan)
    rs = api.put("replicasets", rs_body(1))
    uid = rs["metadata"]["uid"]
    ctl = ReplicaSetController(api, REGISTRY, clock)
    async with running(ctl):
        stray = api.obj("pods", "stray", "ns")
        assert stray is not None and owned_by(stray, uid)
        assert api.create_calls == 0
        stray["metadata"]["labels"] = {"app": "other"}
        api.put("pods", stray)
        await settle()
        released = api.obj("pods", "stray", "ns")
        assert released is not None and released["metadata"]["ownerReferences"] == []
        assert api.create_calls == 1


async def test_min_ready_seconds_requeues_for_availability() -> None:
    """availableReplicas rises when minReadySeconds of readiness have passed."""
    clock = FakeClock(NOW)
    api = GenApi(clock)
    api.put("replicasets", rs_body(1, min_ready=10))
    ctl = ReplicaSetController(api, REGISTRY, clock)
    async with running(ctl):
        (p,) = live_pods(api)
        p["status"] = {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(clock.now())}
            ],
        }
        api.put("pods", p)
        await settle()
        status = current(api)["status"]
        assert status["readyReplicas"] == 1 and "availableReplicas" not in status
        await clock.advance(11)
        await settle()
        status = current(api)["status"]
        assert status["availableReplicas"] == 1


async def test_replication_controller_uses_its_map_selector() -> None:
    """An RC creates its pods with a v1 ReplicationController controller reference."""
    clock = FakeClock(NOW)
    api = GenApi(clock)
    body = rs_body(2)
    body.update(apiVersion="v1", kind="ReplicationController")
    body["spec"]["selector"] = {"app": "web"}
    rc = api.put("replicationcontrollers", body)
    ctl = ReplicaSetController(api, REGISTRY, clock, kind="ReplicationController")
    async with running(ctl):
        pods = live_pods(api)
        assert len(pods) == 2
        (ref,) = pods[0]["metadata"]["ownerReferences"]
        assert (ref["apiVersion"], ref["kind"], ref["uid"]) == (
            "v1",
            "ReplicationController",
            rc["metadata"]["uid"],
        )
        assert current(api, "replicationcontrollers")["status"]["replicas"] == 2


async def test_expectations_stop_double_deletion() -> None:
    """A second sync before the informer sees the deletions deletes nothing more."""
    clock = FakeClock(NOW)
    api = GenApi(clock)
    rs = api.put("replicasets", rs_body(1))
    ctl = ReplicaSetController(api, REGISTRY, clock)
    ctl.owners.objects["ns/web"] = rs
    for name in ("a", "b", "c"):
        p = pod(name)
        p["metadata"]["ownerReferences"] = [
            {"kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"], "controller": True}
        ]
        ctl._pod_changed(f"ns/{name}", None, api.put("pods", p))
    await ctl.sync("ns/web")
    await ctl.sync("ns/web")
    deletes = [w for w in api.writes if w[0].startswith("delete")]
    assert len(deletes) == 2
    assert not ctl.expectations.satisfied("ns/web")


async def test_unchanged_status_is_not_written_again() -> None:
    """A resync with nothing new writes no status."""
    clock = FakeClock(NOW)
    api = GenApi(clock)
    api.put("replicasets", rs_body(2))
    ctl = ReplicaSetController(api, REGISTRY, clock)
    async with running(ctl):
        writes = len(api.writes)
        assert ("update/status", "replicasets", "web") in api.writes
        ctl.queue.add("ns/web")
        await settle()
        assert len(api.writes) == writes
