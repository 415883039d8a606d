"""The service load-balancer controller: a LoadBalancer Service's ingress is its cluster IP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.unit.kubelet.kubelet_fakes import FakeApi, settle

from kubeproc.api.resources import REGISTRY
from kubeproc.controllers.servicelb import (
    ServiceLoadBalancerController,
    desired_ingress,
    ingress_to_write,
)
from kubeproc.util.clock import FakeClock

Json = dict[str, Any]
VIP = [{"ip": "10.96.0.10", "ipMode": "VIP"}]


def service(
    name: str = "web",
    *,
    kind: str = "LoadBalancer",
    cluster_ip: str | None = "10.96.0.10",
    ingress: list[Json] | None = None,
    lb_class: str | None = None,
) -> Json:
    spec: Json = {"type": kind, "ports": [{"port": 80, "protocol": "TCP"}]}
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    if lb_class:
        spec["loadBalancerClass"] = lb_class
    svc: Json = {"metadata": {"name": name, "namespace": "ns"}, "spec": spec}
    if ingress is not None:
        svc["status"] = {"loadBalancer": {"ingress": ingress}}
    return svc


@pytest.mark.parametrize(
    ("svc", "expected"),
    [
        (service(), VIP),
        (service(cluster_ip=None), []),  # not allocated yet: <pending>
        (service(kind="ClusterIP"), []),
        (service(kind="NodePort"), []),
        (service(kind="ExternalName", cluster_ip=None), []),
        (service(kind="ClusterIP", cluster_ip="None"), []),
        (service(lb_class="example.com/other"), None),  # another implementation's
    ],
)
def test_desired_ingress(svc: Json, expected: list[Json] | None) -> None:
    """Only LoadBalancer Services with a cluster IP and no class get an ingress."""
    assert desired_ingress(svc) == expected


def test_ingress_to_write_only_when_it_differs() -> None:
    """Nothing to write when the status already says it; a stale address is replaced."""
    assert ingress_to_write(service(ingress=VIP)) is None
    stale = ingress_to_write(service(ingress=[{"ip": "1.2.3.4", "ipMode": "VIP"}]))
    assert stale is not None and stale["status"]["loadBalancer"] == {"ingress": VIP}
    cleared = ingress_to_write(service(kind="ClusterIP", ingress=VIP))
    assert cleared is not None and cleared["status"]["loadBalancer"] == {}
    assert ingress_to_write(service(kind="ClusterIP")) is None
    assert ingress_to_write(service(lb_class="x/y", ingress=[])) is None


@pytest.fixture
async def world() -> AsyncIterator[FakeApi]:
    clock = FakeClock()
    api = FakeApi(clock)
    api.put("services", service("lb"))
    api.put("services", service("plain", kind="ClusterIP", cluster_ip="10.96.0.11"))
    task = asyncio.get_running_loop().create_task(
        ServiceLoadBalancerController(api, REGISTRY, clock).run()
    )
    await settle()
    yield api
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def ingress_of(api: FakeApi, name: str) -> list[Json]:
    svc = api.obj("services", name, "ns")
    assert svc is not None
    return list(((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


async def test_controller_sets_and_clears_the_ingress(world: FakeApi) -> None:
    """Set through the status subresource; cleared when the type changes away; no churn."""
    api = world
    assert ingress_of(api, "lb") == VIP
    assert ingress_of(api, "plain") == []
    assert ("update/status", "services", "lb") in api.writes
    assert not any(name == "plain" for _, _, name in api.writes)
    writes = len(api.writes)
    await settle()
    assert len(api.writes) == writes  # its own write does not trigger another
    current = api.obj("services", "lb", "ns")
    assert current is not None
    current["spec"]["type"] = "ClusterIP"
    api.put("services", current)
    await settle()
    assert ingress_of(api, "lb") == []
    assert api.writes[-1] == ("update/status", "services", "lb")


async def test_a_new_load_balancer_gets_its_ingress(world: FakeApi) -> None:
    """A Service created (or turned into a LoadBalancer) later is picked up by the watch."""
    api = world
    api.put("services", service("later", cluster_ip="10.96.0.12"))
    await settle()
    assert ingress_of(api, "later") == [{"ip": "10.96.0.12", "ipMode": "VIP"}]
    plain = api.obj("services", "plain", "ns")
    assert plain is not None
    plain["spec"]["type"] = "LoadBalancer"
    api.put("services", plain)
    await settle()
    assert ingress_of(api, "plain") == [{"ip": "10.96.0.11", "ipMode": "VIP"}]
