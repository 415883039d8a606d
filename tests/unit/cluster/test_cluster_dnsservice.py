"""The ``kube-dns`` Service the node writes for its DNS server, against a real object store."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest

from kubeproc.api import errors
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.apiserver.allocators import ServiceAllocator
from kubeproc.apiserver.bootstrap import ensure_system_namespaces
from kubeproc.apiserver.objects import ObjectStore, WriteOptions
from kubeproc.cluster.dnsservice import ensure_dns_service, preferred_ip
from kubeproc.storage import SqliteStore
from kubeproc.util.clock import FakeClock

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterator

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CIDR = "10.96.0.0/16"
GATEWAY = "10.244.0.1"
WRITE = WriteOptions(field_manager="test")


def rt(group: str, plural: str) -> ResourceType:
    found = REGISTRY.get(group, "v1", plural)
    assert found is not None
    return found


SERVICES = rt("", "services")
ENDPOINTS = rt("", "endpoints")
SLICES = rt("discovery.k8s.io", "endpointslices")


class StoreClient:
    """The API client's get/create/update, answered by the object store itself."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self.writes: list[tuple[str, str]] = []

    async def get(self, kind: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return self.objects.get(kind, namespace, name)

    async def create(
        self, kind: ResourceType, namespace: str | None, body: dict[str, Any]
    ) -> dict[str, Any]:
        self.writes.append(("create", kind.plural))
        return self.objects.create(kind, namespace, body, WRITE)

    async def update(
        self, kind: ResourceType, namespace: str | None, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        self.writes.append(("update", kind.plural))
        return self.objects.update(kind, namespace, name, body, WRITE)


@pytest.fixture
def objects(tmp_path: pathlib.Path) -> Iterator[ObjectStore]:
    store = SqliteStore.open(tmp_path / "state.db")
    objs = ObjectStore(store, REGISTRY, FakeClock(START), allocator=ServiceAllocator(CIDR))
    ensure_system_namespaces(objs, REGISTRY)
    yield objs
    store.close()


async def ensure(client: StoreClient, address: str = GATEWAY) -> str | None:
    return await ensure_dns_service(
        client,  # type: ignore[arg-type]
        REGISTRY,
        service_cidr=CIDR,
        address=address,
    )


def test_the_tenth_address_as_kubeadm_has_it() -> None:
    assert preferred_ip("10.96.0.0/16") == "10.96.0.10"
    assert preferred_ip("10.117.32.192/26") == "10.117.32.202"


async def test_created_with_its_endpoints_at_the_gateway(objects: ObjectStore) -> None:
    client = StoreClient(objects)
    assert await ensure(client) == "10.96.0.10"
    svc = objects.get(SERVICES, "kube-system", "kube-dns")
    assert svc["metadata"]["labels"]["k8s-app"] == "kube-dns"
    assert "selector" not in svc["spec"]  # no pod behind it: the endpoints are the node's
    assert [(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]] == [
        ("dns", 53, "UDP"),
        ("dns-tcp", 53, "TCP"),
    ]
    endpoints = objects.get(ENDPOINTS, "kube-system", "kube-dns")
    assert endpoints["subsets"][0]["addresses"] == [{"ip": GATEWAY}]
    slice_ = objects.get(SLICES, "kube-system", "kube-dns")
    assert slice_["metadata"]["labels"] == {"kubernetes.io/service-name": "kube-dns"}
    assert [e["addresses"] for e in slice_["endpoints"]] == [[GATEWAY]]
    assert {(p["name"], p["protocol"]) for p in slice_["ports"]} == {
        ("dns", "UDP"),
        ("dns-tcp", "TCP"),
    }


async def test_a_second_start_writes_nothing(objects: ObjectStore) -> None:
    await ensure(StoreClient(objects))
    again = StoreClient(objects)
    assert await ensure(again) == "10.96.0.10"
    assert again.writes == []


async def test_a_new_gateway_moves_the_endpoints_not_the_service(objects: ObjectStore) -> None:
    await ensure(StoreClient(objects))
    client = StoreClient(objects)
    assert await ensure(client, "10.250.0.1") == "10.96.0.10"
    assert client.writes == [("update", "endpoints"), ("update", "endpointslices")]
    assert objects.get(SLICES, "kube-system", "kube-dns")["endpoints"][0]["addresses"] == [
        "10.250.0.1"
    ]


async def test_the_tenth_address_taken_the_allocator_picks(objects: ObjectStore) -> None:
    objects.create(
        SERVICES,
        "default",
        {
            "metadata": {"name": "first"},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]},
        },
        WRITE,
    )
    ip = await ensure(StoreClient(objects))
    assert ip is not None and ip != "10.96.0.10"
    assert objects.get(SERVICES, "kube-system", "kube-dns")["spec"]["clusterIP"] == ip


async def test_a_service_the_user_changed_is_left_as_it_is(objects: ObjectStore) -> None:
    await ensure(StoreClient(objects))
    svc = objects.get(SERVICES, "kube-system", "kube-dns")
    svc["metadata"]["labels"]["team"] = "dns"
    objects.update(SERVICES, "kube-system", "kube-dns", svc, WRITE)
    client = StoreClient(objects)
    await ensure(client)
    assert ("update", "services") not in client.writes
    assert objects.get(SERVICES, "kube-system", "kube-dns")["metadata"]["labels"]["team"] == "dns"


async def test_a_refused_write_gives_no_address(objects: ObjectStore) -> None:
    class Refusing(StoreClient):
        async def create(
            self, kind: ResourceType, namespace: str | None, body: dict[str, Any]
        ) -> dict[str, Any]:
            raise errors.Forbidden("no")

    assert await ensure(Refusing(objects)) is None
