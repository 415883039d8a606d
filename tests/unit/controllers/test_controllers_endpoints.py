"""The EndpointSlice and Endpoints controllers: endpoint conditions, ports, slices, subsets."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.unit.kubelet.kubelet_fakes import FakeApi, settle

from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.controllers.endpointdesired import (
    LABEL_HEADLESS,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    MANAGED_BY,
    TRIGGER_TIME_ANNOTATION,
    desired_groups,
    desired_subsets,
    find_port,
    pod_to_endpoint,
    should_be_in_endpoints,
)
from kubeproc.controllers.endpoints import EndpointsController, endpoints_to_write
from kubeproc.controllers.endpointslice import EndpointSliceController
from kubeproc.controllers.endpointslicereconciler import plan_slices
from kubeproc.controllers.endpointtracking import (
    TriggerTimeTracker,
    WriteExpectations,
    rfc3339_nano,
)
from kubeproc.util.clock import FakeClock

Json = dict[str, Any]


def pod(
    name: str,
    *,
    ready: bool = True,
    ip: str | None = "10.0.0.1",
    phase: str = "Running",
    deleting: bool = False,
    labels: dict[str, str] | None = None,
    ports: list[Json] | None = None,
    transition: str = "2026-01-01T00:00:05Z",
) -> Json:
    meta: Json = {
        "name": name,
        "namespace": "ns",
        "uid": f"uid-{name}",
        "labels": {"app": "web"} if labels is None else labels,
    }
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    status: Json = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": str(ready), "lastTransitionTime": transition}],
    }
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    ctr: Json = {"name": "app", "image": "busybox"}
    if ports:
        ctr["ports"] = ports
    return {"metadata": meta, "spec": {"nodeName": "node1", "containers": [ctr]}, "status": status}


def service(
    name: str = "web",
    *,
    ports: list[Json] | None = None,
    publish: bool = False,
    cluster_ip: str = "10.96.0.10",
    selector: dict[str, str] | None = None,
) -> Json:
    spec: Json = {
        "selector": {"app": "web"} if selector is None else selector,
        "clusterIP": cluster_ip,
        "ipFamilies": ["IPv4"],
        "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}] if ports is None else ports,
    }
    if publish:
        spec["publishNotReadyAddresses"] = True
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"team": "a"},
        },
        "spec": spec,
    }


# -- endpoint conditions and membership (AT-71..AT-75) -----------------------------------


@pytest.mark.parametrize(
    ("ready", "deleting", "publish", "expected"),
    [
        (True, False, False, {"ready": True, "serving": True, "terminating": False}),  # AT-71
        (False, False, False, {"ready": False, "serving": False, "terminating": False}),  # AT-72
        (True, True, False, {"ready": False, "serving": True, "terminating": True}),  # AT-73
        (False, True, False, {"ready": False, "serving": False, "terminating": True}),
        (False, False, True, {"ready": True, "serving": False, "terminating": False}),  # AT-74
        (True, True, True, {"ready": True, "serving": True, "terminating": True}),
    ],
)
def test_endpoint_conditions(
    ready: bool, deleting: bool, publish: bool, expected: dict[str, bool]
) -> None:
    """ready = publishNotReadyAddresses or (serving and not terminating), as podToEndpoint."""
    endpoint = pod_to_endpoint(
        pod("a", ready=ready, deleting=deleting), service(publish=publish), "IPv4"
    )
    assert endpoint["conditions"] == expected
    assert endpoint["addresses"] == ["10.0.0.1"]
    assert endpoint["nodeName"] == "node1"
    assert "zone" not in endpoint
    assert endpoint["targetRef"] == {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}


@pytest.mark.parametrize(
    ("the_pod", "include_terminating", "listed"),
    [
        (pod("a"), True, True),
        (pod("a", phase="Succeeded"), True, False),  # AT-75
        (pod("a", phase="Failed"), True, False),  # AT-75
        (pod("a", ip=None, phase="Pending"), True, False),  # AT-75: no IP yet
        (pod("a", ready=False), True, True),
        (pod("a", deleting=True), True, True),
        (pod("a", deleting=True), False, False),
    ],
)
def test_membership(the_pod: Json, include_terminating: bool, listed: bool) -> None:
    """A pod is listed when it has an IP and is not terminal; terminating only if asked."""
    assert should_be_in_endpoints(the_pod, include_terminating) is listed


NAMED = [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]


@pytest.mark.parametrize(
    ("target", "pod_ports", "expected"),
    [
        (8080, None, 8080),
        ("http", NAMED, 9000),
        ("http", None, None),
        ("grpc", NAMED, None),
    ],
)
def test_find_port(target: int | str, pod_ports: list[Json] | None, expected: int | None) -> None:
    """A numeric targetPort is used as is; a name is looked up in the pod's container ports."""
    svc_port = {"port": 80, "targetPort": target, "protocol": "TCP"}
    assert find_port(pod("a", ports=pod_ports), svc_port) == expected


def test_named_target_port_groups_pods_by_resolved_ports() -> None:
    """Pods resolving a named port differently, or not at all, land in different port sets."""
    svc = service(ports=[{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}])
    pods = [
        pod("a", ip="10.0.0.1", ports=NAMED),
        pod("b", ip="10.0.0.2", ports=[{"name": "http", "containerPort": 9001}]),
        pod("c", ip="10.0.0.3"),
    ]
    groups = desired_groups(svc, pods, "IPv4")
    by_port = {
        tuple(p["port"] for p in g.ports): sorted(
            e["targetRef"]["name"] for e in g.endpoints.values()
        )
        for g in groups.values()
    }
    assert by_port == {(9000,): ["a"], (9001,): ["b"], (): ["c"]}


# -- slices ----------------------------------------------------------------------------


def stored(body: Json, name: str, rv: str = "5") -> Json:
    out = copy.deepcopy(body)
    out["metadata"]["name"] = name
    out["metadata"]["resourceVersion"] = rv
    out["metadata"].pop("generateName", None)
    return out


def test_first_slice_has_labels_owner_and_endpoints() -> None:
    """A new slice: generateName <svc>-, the two labels, a controller owner reference."""
    plan = plan_slices(service(), [pod("a")], [])
    (created,) = plan.create
    meta = created["metadata"]
    assert meta["generateName"] == "web-"
    assert meta["labels"] == {
        "team": "a",
        LABEL_SERVICE_NAME: "web",
        LABEL_MANAGED_BY: MANAGED_BY,
    }
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "name": "web",
            "uid": "uid-web",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert created["addressType"] == "IPv4"
    assert created["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    assert [e["targetRef"]["name"] for e in created["endpoints"]] == ["a"]
    assert not plan.update and not plan.delete


def test_unchanged_slice_is_not_written_and_a_change_updates_in_place() -> None:
    """Nothing changes → no writes; a readiness flip rewrites the same slice."""
    svc = service()
    current = stored(plan_slices(svc, [pod("a")], []).create[0], "web-abc")
    assert plan_slices(svc, [pod("a")], [current]).empty
    plan = plan_slices(svc, [pod("a", ready=False)], [current])
    (updated,) = plan.update
    assert updated["metadata"]["name"] == "web-abc"
    assert updated["metadata"]["resourceVersion"] == "5"
    assert updated["endpoints"][0]["conditions"]["ready"] is False
    assert not plan.create and not plan.delete


def test_no_endpoints_keeps_one_placeholder() -> None:
    """A Service selecting nothing gets one empty slice, kept rather than recreated."""
    svc = service()
    (placeholder,) = plan_slices(svc, [], []).create
    assert placeholder["endpoints"] == [] and placeholder["ports"] == []
    assert plan_slices(svc, [], [stored(placeholder, "web-p")]).empty
    # The last pod going away empties the slice: it is reused as the placeholder.
    full = stored(plan_slices(svc, [pod("a")], []).create[0], "web-abc")
    plan = plan_slices(svc, [pod("a", phase="Failed")], [full])
    assert not plan.create and not plan.delete
    assert plan.update[0]["metadata"]["name"] == "web-abc"
    assert plan.update[0]["endpoints"] == [] and plan.update[0]["ports"] == []


def test_at_most_100_endpoints_per_slice() -> None:
    """250 pods make three slices of at most 100 endpoints."""
    pods = [pod(f"p{i:03d}", ip=f"10.0.{i // 200}.{i % 200 + 1}") for i in range(250)]
    plan = plan_slices(service(), pods, [])
    assert sorted(len(s["endpoints"]) for s in plan.create) == [50, 100, 100]


def test_foreign_or_stale_slices_are_corrected() -> None:
    """Someone's edit to a managed slice is undone; a slice owned by an old Service goes."""
    svc = service()
    good = stored(plan_slices(svc, [pod("a")], []).create[0], "web-abc")
    edited = copy.deepcopy(good)
    edited["endpoints"][0]["conditions"]["ready"] = False
    edited["metadata"]["labels"]["extra"] = "x"
    plan = plan_slices(svc, [pod("a")], [edited])
    (fixed,) = plan.update
    assert fixed["endpoints"] == good["endpoints"]
    assert fixed["metadata"]["labels"] == good["metadata"]["labels"]
    orphan = copy.deepcopy(good)
    orphan["metadata"]["ownerReferences"][0]["uid"] = "old-uid"
    plan = plan_slices(svc, [pod("a")], [orphan])
    # Not owned by this Service (an old one of the same name): replaced, not reused.
    assert [s["metadata"]["name"] for s in plan.delete] == ["web-abc"]
    assert len(plan.create) == 1


def test_headless_service_slices() -> None:
    """A headless Service gets slices too, labelled headless; without ports, empty ports."""
    svc = service(cluster_ip="None", ports=[])
    (created,) = plan_slices(svc, [pod("a")], []).create
    assert created["metadata"]["labels"][LABEL_HEADLESS] == ""
    assert created["ports"] == []
    assert len(created["endpoints"]) == 1


def test_trigger_time_annotation() -> None:
    """The first sync stamps the Service's creation; later, the earliest new Ready change."""
    tracker = TriggerTimeTracker()
    svc = service()
    first = tracker.compute("ns/web", svc, [pod("a")])
    assert first == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert tracker.compute("ns/web", svc, [pod("a")]) is None
    later = tracker.compute("ns/web", svc, [pod("a", transition="2026-01-01T00:00:09Z")])
    assert later == dt.datetime(2026, 1, 1, 0, 0, 9, tzinfo=dt.UTC)
    plan = plan_slices(svc, [pod("a")], [], trigger_time=later)
    annotations = plan.create[0]["metadata"]["annotations"]
    assert annotations == {TRIGGER_TIME_ANNOTATION: "2026-01-01T00:00:09Z"}
    assert rfc3339_nano(dt.datetime(2026, 1, 1, 0, 0, 9, 500000, tzinfo=dt.UTC)).endswith("09.5Z")


def test_write_expectations() -> None:
    """A write not yet seen makes the Service stale; seeing it (or the TTL) clears that."""
    clock = FakeClock()
    exp = WriteExpectations(clock, ttl=5.0)
    obj = {"metadata": {"name": "web-abc", "resourceVersion": "7"}}
    exp.wrote("ns/web", obj, None)
    assert exp.stale("ns/web")
    assert not exp.observe("ns/web", "web-abc", {"metadata": {"resourceVersion": "6"}})
    assert exp.stale("ns/web")
    assert exp.observe("ns/web", "web-abc", obj)
    assert not exp.stale("ns/web")
    exp.deleted("ns/web", "web-abc", cached=True)
    assert exp.stale("ns/web")
    assert exp.observe("ns/web", "web-abc", None)
    assert not exp.stale("ns/web")
    exp.wrote("ns/web", obj, None)
    clock._mono += 6  # past the TTL without any event
    assert not exp.stale("ns/web")


def test_write_already_in_cache_is_not_awaited() -> None:
    """When the watch event beat the write's response, nothing is awaited."""
    exp = WriteExpectations(FakeClock())
    obj = {"metadata": {"name": "web-abc", "resourceVersion": "7"}}
    exp.wrote("ns/web", obj, cached=obj)
    exp.deleted("ns/web", "web-old", cached=False)
    assert not exp.stale("ns/web")


# -- legacy Endpoints --------------------------------------------------------------------


def test_subsets_ready_not_ready_and_terminating() -> None:
    """Ready → addresses, not ready → notReadyAddresses, terminating left out (AT-72/73)."""
    pods = [
        pod("a", ip="10.0.0.1"),
        pod("b", ip="10.0.0.2", ready=False),
        pod("c", ip="10.0.0.3", deleting=True),
        pod("d", ip="10.0.0.4", phase="Succeeded"),
    ]
    (subset,) = desired_subsets(service(), pods)
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.1"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.0.0.2"]
    assert subset["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert subset["addresses"][0]["targetRef"]["name"] == "a"
    # publishNotReadyAddresses: every listed pod is an address, terminating ones included.
    (subset,) = desired_subsets(service(publish=True), pods)
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert "notReadyAddresses" not in subset


def test_subsets_grouped_by_port_set() -> None:
    """Subsets group by the set of pods offering each port (a named port missing in one pod)."""
    svc = service(
        ports=[
            {"name": "plain", "port": 80, "targetPort": 8080, "protocol": "TCP"},
            {"name": "named", "port": 81, "targetPort": "http", "protocol": "TCP"},
        ]
    )
    subsets = desired_subsets(svc, [pod("a", ip="10.0.0.1", ports=NAMED), pod("b", ip="10.0.0.2")])
    shapes = sorted(
        ([a["ip"] for a in s["addresses"]], sorted(p["port"] for p in s["ports"])) for s in subsets
    )
    assert shapes == [(["10.0.0.1"], [9000]), (["10.0.0.1", "10.0.0.2"], [8080])]


def test_endpoints_written_only_when_changed() -> None:
    """Equal subsets and labels → no write; otherwise the Service's labels and the subsets."""
    svc = service()
    subsets = desired_subsets(svc, [pod("a")])
    body = endpoints_to_write(svc, subsets, None, None)
    assert body is not None
    assert body["metadata"]["name"] == "web" and body["metadata"]["labels"] == {"team": "a"}
    current = stored(body, "web")
    assert endpoints_to_write(svc, subsets, current, None) is None
    changed = endpoints_to_write(svc, desired_subsets(svc, [pod("a", ready=False)]), current, None)
    assert changed is not None and "notReadyAddresses" in changed["subsets"][0]


# -- the controllers over a fake API -------------------------------------------------------


class NamingApi(FakeApi):
    """FakeApi plus the server's generateName."""

    _suffix = itertools.count(1)

    async def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Json,
        *,
        subresource: str = "",
        name: str = "",
    ) -> Json:
        meta = body["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta = {**meta, "name": f"{meta['generateName']}{next(self._suffix):05d}"}
            body = {**body, "metadata": meta}
        return await super().create(rt, namespace, body, subresource=subresource, name=name)


def _slices_rt() -> ResourceType:
    found = REGISTRY.get("discovery.k8s.io", "v1", "endpointslices")
    assert found is not None
    return found


SLICES = _slices_rt()


@pytest.fixture
async def world() -> AsyncIterator[tuple[NamingApi, list[asyncio.Task[None]]]]:
    clock = FakeClock()
    api = NamingApi(clock)
    api.put("services", service())
    api.put("pods", pod("a", ip="10.0.0.1"))
    api.put("pods", pod("other", ip="10.0.0.9", labels={"app": "db"}))
    tasks = [
        asyncio.get_running_loop().create_task(EndpointSliceController(api, REGISTRY, clock).run()),
        asyncio.get_running_loop().create_task(EndpointsController(api, REGISTRY, clock).run()),
    ]
    await settle()
    yield api, tasks
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def slice_conditions(api: FakeApi) -> dict[str, dict[str, bool]]:
    (only,) = api.of_kind("endpointslices")
    return {e["targetRef"]["name"]: e["conditions"] for e in only["endpoints"]}


async def test_controllers_follow_pod_readiness(world: tuple[NamingApi, Any]) -> None:
    """A Ready flip reaches the slice and the Endpoints; unrelated pod edits write nothing."""
    api, _ = world
    assert slice_conditions(api) == {"a": {"ready": True, "serving": True, "terminating": False}}
    ep = api.obj("endpoints", "web", "ns")
    assert ep is not None and [a["ip"] for a in ep["subsets"][0]["addresses"]] == ["10.0.0.1"]
    writes = len(api.writes)
    annotated = pod("a", ip="10.0.0.1")
    annotated["metadata"]["annotations"] = {"note": "x"}
    api.put("pods", annotated)
    await settle()
    assert len(api.writes) == writes
    api.put("pods", pod("a", ip="10.0.0.1", ready=False))
    await settle()
    assert slice_conditions(api) == {"a": {"ready": False, "serving": False, "terminating": False}}
    ep = api.obj("endpoints", "web", "ns")
    assert ep is not None and [a["ip"] for a in ep["subsets"][0]["notReadyAddresses"]] == [
        "10.0.0.1"
    ]
    assert "addresses" not in ep["subsets"][0]


async def test_slice_edit_by_someone_else_is_corrected(world: tuple[NamingApi, Any]) -> None:
    """Editing a managed slice's endpoints is undone by the controller."""
    api, _ = world
    (current,) = api.of_kind("endpointslices")
    current["endpoints"] = []
    await api.update(SLICES, "ns", current["metadata"]["name"], current)
    await settle()
    assert slice_conditions(api) == {"a": {"ready": True, "serving": True, "terminating": False}}
    assert len(api.of_kind("endpointslices")) == 1


async def test_pod_relabelled_out_leaves_the_slice(world: tuple[NamingApi, Any]) -> None:
    """A pod whose labels stop matching leaves the slice; the Endpoints empties."""
    api, _ = world
    api.put("pods", pod("a", ip="10.0.0.1", labels={"app": "other"}))
    await settle()
    assert slice_conditions(api) == {}
    ep = api.obj("endpoints", "web", "ns")
    assert ep is not None and not ep.get("subsets")
