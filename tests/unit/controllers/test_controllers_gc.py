"""The garbage collector queues only what a change affects, and deletes orphaned dependents."""

from __future__ import annotations

from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.controllers.garbagecollector import GarbageCollector
from kubeproc.util.clock import FakeClock

PODS = REGISTRY.get("", "v1", "pods")
RS = REGISTRY.get("apps", "v1", "replicasets")
assert PODS is not None and RS is not None


class RecordingClient:
    """Answers GETs from a dict (missing → NotFound) and records deletes and patches."""

    def __init__(self) -> None:
        self.live: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: list[tuple[str, str | None, str, dict[str, Any] | None]] = []
        self.patched: list[tuple[str, str, Any]] = []

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        try:
            return self.live[(rt.plural, name)]
        except KeyError:
            raise errors.NotFound.of(rt.group_resource, name) from None

    async def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.deleted.append((rt.plural, namespace, name, options))
        return {}

    async def patch(
        self, rt: ResourceType, namespace: str | None, name: str, patch: Any, **_: Any
    ) -> dict[str, Any]:
        self.patched.append((rt.plural, name, patch))
        return {}


def obj(
    name: str, uid: str, owners: list[dict[str, Any]] | None = None, **meta: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "uid": uid,
        "resourceVersion": "1",
        **meta,
    }
    if owners:
        metadata["ownerReferences"] = owners
    return {"metadata": metadata}


def ref(name: str, uid: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name, "uid": uid, **extra}


async def test_owner_gone_queues_and_deletes_its_dependents() -> None:
    """When an owner is deleted, only its dependents are queued, and each is deleted."""
    client = RecordingClient()
    gc = GarbageCollector(client, REGISTRY, FakeClock())  # type: ignore[arg-type]
    rs = obj("web", "rs-1")
    pod = obj("web-a", "pod-1", [ref("web", "rs-1")])
    other = obj("solo", "pod-2")
    gc._changed(RS, "ns/web", None, rs)
    gc._changed(PODS, "ns/web-a", None, pod)
    gc._changed(PODS, "ns/solo", None, other)
    gc._pending.clear()
    gc._changed(RS, "ns/web", rs, None)
    assert gc._pending == {"pod-1"}
    assert await gc.process("pod-1") is False
    assert [(d[0], d[2]) for d in client.deleted] == [("pods", "web-a")]
    assert client.deleted[0][3] == {
        "propagationPolicy": "Background",
        "preconditions": {"uid": "pod-1"},
    }


async def test_owner_present_keeps_dependent() -> None:
    """A dependent whose owner exists (by uid) is left alone."""
    client = RecordingClient()
    gc = GarbageCollector(client, REGISTRY, FakeClock())  # type: ignore[arg-type]
    gc._changed(RS, "ns/web", None, obj("web", "rs-1"))
    gc._changed(PODS, "ns/web-a", None, obj("web-a", "pod-1", [ref("web", "rs-1")]))
    assert await gc.process("pod-1") is False
    assert client.deleted == []


async def test_foreground_owner_waits_for_blocking_dependents() -> None:
    """A foreground-deleting owner deletes its dependents and keeps its finalizer while they block."""
    client = RecordingClient()
    gc = GarbageCollector(client, REGISTRY, FakeClock())  # type: ignore[arg-type]
    owner = obj(
        "web", "rs-1", finalizers=["foregroundDeletion"], deletionTimestamp="2026-01-01T00:00:00Z"
    )
    gc._changed(RS, "ns/web", None, owner)
    gc._changed(
        PODS, "ns/web-a", None, obj("web-a", "pod-1", [ref("web", "rs-1", blockOwnerDeletion=True)])
    )
    client.live[("replicasets", "web")] = owner
    assert await gc.process("rs-1") is True
    assert [(d[0], d[2]) for d in client.deleted] == [("pods", "web-a")]
    assert client.patched == []
    gc._changed(
        PODS, "ns/web-a", obj("web-a", "pod-1", [ref("web", "rs-1", blockOwnerDeletion=True)]), None
    )
    assert "rs-1" in gc._pending
    assert await gc.process("rs-1") is False
    assert client.patched == [
        ("replicasets", "web", {"metadata": {"finalizers": None, "resourceVersion": "1"}})
    ]
