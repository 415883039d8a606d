"""The ``kubernetes`` Service, Endpoints and EndpointSlice the API server keeps for itself."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest

from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.apiserver.allocators import ServiceAllocator
from kubeproc.apiserver.bootstrap import ensure_system_namespaces
from kubeproc.apiserver.kubernetesservice import (
    desired_endpoints,
    endpoint_address,
    ensure_kubernetes_service,
    maintain_kubernetes_service,
    service_update,
    slice_from_endpoints,
)
from kubeproc.apiserver.objects import DeleteOptions, ObjectStore, WriteOptions
from kubeproc.storage import SqliteStore
from kubeproc.util.clock import FakeClock

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterator

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PORT = 6443
GATEWAY = "10.244.0.1"


def rt(group: str, version: str, plural: str) -> ResourceType:
    found = REGISTRY.get(group, version, plural)
    assert found is not None
    return found


SERVICES = rt("", "v1", "services")
ENDPOINTS = rt("", "v1", "endpoints")
SLICES = rt("discovery.k8s.io", "v1", "endpointslices")


@pytest.fixture
def objects(tmp_path: pathlib.Path) -> Iterator[ObjectStore]:
    store = SqliteStore.open(tmp_path / "state.db")
    objs = ObjectStore(
        store, REGISTRY, FakeClock(START), allocator=ServiceAllocator("10.96.0.0/16")
    )
    ensure_system_namespaces(objs, REGISTRY)
    yield objs
    store.close()


def ensure(objects: ObjectStore, address: str | None = GATEWAY) -> None:
    ensure_kubernetes_service(objects, REGISTRY, address=address, api_port=PORT)


def get(objects: ObjectStore, kind: ResourceType) -> dict[str, Any]:
    return objects.get(kind, "default", "kubernetes")


@pytest.mark.parametrize(
    ("runtime", "cidr", "expected"),
    [
        ("oci", "10.244.0.0/16", "10.244.0.1"),
        ("oci", "10.128.4.0/26", "10.128.4.1"),
        ("process", "10.244.0.0/16", None),
    ],
)
def test_endpoint_address_is_the_pod_gateway_on_oci(
    runtime: str, cidr: str, expected: str | None
) -> None:
    """Pods reach the host at their network's gateway; the process runtime has none."""
    assert endpoint_address(runtime, cidr) == expected


def test_service_as_kube_apiserver_writes_it(objects: ObjectStore) -> None:
    """ClusterIP at the CIDR's first address, https 443 → the API port, upstream's labels."""
    ensure(objects)
    svc = get(objects, SERVICES)
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["clusterIP"] == "10.96.0.1"
    assert spec["clusterIPs"] == ["10.96.0.1"]
    assert spec["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": PORT}]
    assert spec["sessionAffinity"] == "None"
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert "selector" not in spec


def test_endpoints_and_slice_point_at_the_api_server(objects: ObjectStore) -> None:
    """Endpoints skip mirroring; the slice carries only the service-name label, ready."""
    ensure(objects)
    ep = get(objects, ENDPOINTS)
    assert ep["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert ep["subsets"] == [
        {
            "addresses": [{"ip": GATEWAY}],
            "ports": [{"name": "https", "port": PORT, "protocol": "TCP"}],
        }
    ]
    eps = get(objects, SLICES)
    assert eps["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert eps["addressType"] == "IPv4"
    assert eps["ports"] == [{"name": "https", "port": PORT, "protocol": "TCP"}]
    assert eps["endpoints"] == [{"addresses": [GATEWAY], "conditions": {"ready": True}}]


def test_a_second_pass_writes_nothing(objects: ObjectStore) -> None:
    """What was written reads back as desired: the reconciler is idempotent."""
    ensure(objects)
    versions = [
        get(objects, k)["metadata"]["resourceVersion"] for k in (SERVICES, ENDPOINTS, SLICES)
    ]
    ensure(objects)
    again = [get(objects, k)["metadata"]["resourceVersion"] for k in (SERVICES, ENDPOINTS, SLICES)]
    assert again == versions


def test_deleted_objects_are_recreated(objects: ObjectStore) -> None:
    """Deleting the Service, Endpoints or slice is undone by the next pass, same cluster IP."""
    ensure(objects)
    for kind in (SERVICES, ENDPOINTS, SLICES):
        objects.delete(kind, "default", "kubernetes", DeleteOptions())
        assert objects.try_get(kind, "default", "kubernetes") is None
    ensure(objects)
    assert get(objects, SERVICES)["spec"]["clusterIP"] == "10.96.0.1"
    assert get(objects, ENDPOINTS)["subsets"][0]["addresses"] == [{"ip": GATEWAY}]
    assert get(objects, SLICES)["endpoints"][0]["addresses"] == [GATEWAY]


def test_changed_ports_and_type_are_reset_other_edits_kept(objects: ObjectStore) -> None:
    """As upstream: ports and type come back; a user's label stays."""
    ensure(objects)
    svc = get(objects, SERVICES)
    svc["metadata"]["labels"]["team"] = "a"
    svc["spec"]["type"] = "NodePort"
    svc["spec"]["ports"] = [{"name": "https", "port": 8443, "protocol": "TCP", "targetPort": 1}]
    objects.update(SERVICES, "default", "kubernetes", svc, WriteOptions())
    ensure(objects)
    spec = get(objects, SERVICES)["spec"]
    assert spec["type"] == "ClusterIP"
    assert [(p["port"], p["targetPort"]) for p in spec["ports"]] == [(443, PORT)]
    assert get(objects, SERVICES)["metadata"]["labels"]["team"] == "a"


def test_a_changed_address_is_followed(objects: ObjectStore) -> None:
    """A node restarted with another pod CIDR moves the Endpoints and the slice."""
    ensure(objects)
    ensure(objects, "10.250.0.1")
    assert get(objects, ENDPOINTS)["subsets"][0]["addresses"] == [{"ip": "10.250.0.1"}]
    assert get(objects, SLICES)["endpoints"][0]["addresses"] == ["10.250.0.1"]


def test_without_an_address_the_endpoints_are_empty(objects: ObjectStore) -> None:
    """The process runtime: no address pods could use, so none is published."""
    ensure(objects)
    ensure(objects, None)
    assert not get(objects, ENDPOINTS).get("subsets")
    eps = get(objects, SLICES)
    assert not eps.get("endpoints") and not eps.get("ports")
    assert get(objects, SERVICES)["spec"]["clusterIP"] == "10.96.0.1"


def test_service_update_is_none_when_in_shape() -> None:
    """Only ports and type are compared, exactly."""
    current = {"spec": {"type": "ClusterIP", "ports": service_ports_of(PORT)}}
    assert service_update(current, PORT) is None
    changed = service_update(current, 7000)
    assert changed is not None and changed["spec"]["ports"][0]["targetPort"] == 7000


def service_ports_of(port: int) -> list[dict[str, Any]]:
    return [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]


def test_slice_from_endpoints_keeps_not_ready_addresses_not_ready() -> None:
    """notReadyAddresses become endpoints with ready false, after the ready ones."""
    ep = desired_endpoints("10.0.0.1", PORT)
    ep["subsets"][0]["notReadyAddresses"] = [{"ip": "10.0.0.2", "nodeName": "n1"}]
    got = slice_from_endpoints(ep)
    assert got["endpoints"] == [
        {"addresses": ["10.0.0.1"], "conditions": {"ready": True}},
        {"addresses": ["10.0.0.2"], "conditions": {"ready": False}, "nodeName": "n1"},
    ]


async def test_maintain_reconciles_every_ten_seconds(objects: ObjectStore) -> None:
    """Upstream's interval: a deleted Service is back after the next tick, not before."""
    clock = FakeClock(START)
    task = asyncio.get_running_loop().create_task(
        maintain_kubernetes_service(objects, REGISTRY, clock, address=GATEWAY, api_port=PORT)
    )
    try:
        for _ in range(5):
            await asyncio.sleep(0)
        assert objects.try_get(SERVICES, "default", "kubernetes") is not None
        objects.delete(SERVICES, "default", "kubernetes", DeleteOptions())
        await clock.advance(9)
        assert objects.try_get(SERVICES, "default", "kubernetes") is None
        await clock.advance(1)
        for _ in range(5):
            await asyncio.sleep(0)
        assert objects.try_get(SERVICES, "default", "kubernetes") is not None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
