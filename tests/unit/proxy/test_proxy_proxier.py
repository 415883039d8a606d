"""The change tracker and the Proxier: Service and slice events reach the backend at once.

The API is ``FakeApi`` over a dict, the backend is ``FakeBackend``, time is ``FakeClock``:
a change must reach the backend without the clock moving (min interval 0).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.unit.kubelet.kubelet_fakes import FakeApi, settle

from kubeproc.api.resources import REGISTRY
from kubeproc.proxy.backend import (
    BackendContext,
    ProxyError,
    ProxyMode,
    make_backend,
    resolve_mode,
)
from kubeproc.proxy.changetracker import ChangeTracker
from kubeproc.proxy.fake import FakeBackend
from kubeproc.proxy.model import ServicePortName
from kubeproc.proxy.proxier import Proxier
from kubeproc.util.clock import FakeClock

Json = dict[str, Any]
WEB = ServicePortName("default", "web", "")


def service(name: str = "web", **spec: Any) -> Json:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}], **spec},
    }


def endpoint_slice(ready: bool = True, ip: str = "10.244.0.5", service_name: str = "web") -> Json:
    return {
        "metadata": {
            "name": f"{service_name}-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}}],
    }


def test_tracker_records_the_services_a_change_touches() -> None:
    """A Service by its key, a slice by its Service; irrelevant changes ask no sync."""
    calls: list[None] = []
    tracker = ChangeTracker(lambda: calls.append(None))
    tracker.service_changed("default/web", None, service())
    tracker.slice_changed("default/web-1", None, endpoint_slice())
    tracker.slice_changed("default/x", None, {"metadata": {"name": "x", "namespace": "default"}})
    assert tracker.take().services == {"default/web"}
    assert tracker.take().services == set()
    relabelled = endpoint_slice(service_name="api")
    tracker.slice_changed("default/web-1", endpoint_slice(), relabelled)
    assert tracker.take().services == {"default/web", "default/api"}
    annotated = service()
    annotated["metadata"]["annotations"] = {"a": "b"}
    before = len(calls)
    tracker.service_changed("default/web", service(), annotated)
    assert len(calls) == before


@pytest.mark.parametrize(
    ("mode", "runtime", "expected"),
    [
        ("auto", "oci", ProxyMode.NFTABLES),
        ("auto", "process", ProxyMode.USERSPACE),
        ("userspace", "oci", ProxyMode.USERSPACE),
        ("nftables", "oci", ProxyMode.NFTABLES),
    ],
)
def test_resolve_mode(mode: str, runtime: str, expected: ProxyMode) -> None:
    """auto is nftables with the oci runtime, userspace with the process runtime."""
    assert resolve_mode(mode, runtime) == expected


def test_nftables_backend_refuses_the_process_runtime() -> None:
    """Pods on the host network cannot be DNAT'ed to: the nftables mode says so."""
    ctx = BackendContext(
        "lo", "127.0.0.1", "10.244.0.0/16", "10.96.0.0/16", "127.0.0.1", "t", "process"
    )
    with pytest.raises(ProxyError, match="oci runtime"):
        make_backend("nftables", ctx)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> FakeApi:
    return FakeApi(clock)


@pytest.fixture
async def running(api: FakeApi, clock: FakeClock) -> AsyncIterator[tuple[Proxier, FakeBackend]]:
    backend = FakeBackend()
    proxier = Proxier(api, REGISTRY, clock, backend)
    task = asyncio.create_task(proxier.run())
    await settle()
    try:
        yield proxier, backend
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_changes_reach_the_backend_without_the_clock_moving(
    api: FakeApi, running: tuple[Proxier, FakeBackend]
) -> None:
    """Service, then slice, then a readiness flip: each is applied at once, whole."""
    _, backend = running
    assert backend.current == {}
    api.put("services", service())
    await settle()
    assert backend.current is not None and backend.current[WEB].endpoints == ()
    api.put("endpointslices", endpoint_slice(ready=True))
    await settle()
    assert [e.ip for e in backend.current[WEB].usable] == ["10.244.0.5"]
    api.put("endpointslices", endpoint_slice(ready=False))
    await settle()
    assert backend.current[WEB].usable == ()


async def test_failed_apply_is_retried(
    api: FakeApi, clock: FakeClock, running: tuple[Proxier, FakeBackend]
) -> None:
    """A backend error is retried after the back-off, with the map as it is then."""
    _, backend = running
    backend.fail_next = 1
    api.put("services", service())
    await settle()
    assert backend.current == {}
    await clock.advance(1.0)
    assert backend.current is not None and WEB in backend.current


async def test_backend_is_left_when_the_proxier_stops(api: FakeApi, clock: FakeClock) -> None:
    """Cancelling run() exits the backend's context (its rules are removed)."""
    backend = FakeBackend()
    task = asyncio.create_task(Proxier(api, REGISTRY, clock, backend).run())
    await settle()
    assert backend.active
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert backend.entered == backend.exited == 1
