"""The namespace controller: empties a terminating namespace, then finalizes it.

When a namespace gets a deletionTimestamp, every object in it is deleted (pods
gracefully, so a namespace with running pods waits for their kubelet, as in Kubernetes);
once nothing is left, the ``kubernetes`` finalizer is removed through ``/finalize`` and
the API server deletes the namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.client import ApiClient, Informer
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


def namespaced_types(registry: Registry) -> list[ResourceType]:
    """One type per storage: events.k8s.io Events are core Events under another name."""
    seen: set[str] = set()
    out: list[ResourceType] = []
    for rt in registry:
        if rt.namespaced and rt.storage_name not in seen:
            seen.add(rt.storage_name)
            out.append(rt)
    return out


class NamespaceController:
    def __init__(self, client: ApiClient, registry: Registry, clock: Clock) -> None:
        self.client = client
        self.registry = registry
        self.clock = clock
        ns_rt = registry.get("", "v1", "namespaces")
        assert ns_rt is not None
        self.ns_rt = ns_rt
        self._dirty = asyncio.Event()
        self.informer = Informer(client, ns_rt, clock, listener=self._changed)

    def _changed(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is not None and new["metadata"].get("deletionTimestamp"):
            self._dirty.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.informer.run())
            tg.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            pending = False
            for ns in list(self.informer.objects.values()):
                if ns["metadata"].get("deletionTimestamp"):
                    try:
                        pending |= not await self._empty(ns)
                    except errors.StatusError as err:
                        log.info(
                            "namespace cleanup retry namespace=%s reason=%s",
                            ns["metadata"]["name"],
                            err,
                        )
                        pending = True
            if pending:
                await self.clock.sleep(1.0)
                self._dirty.set()

    async def _empty(self, ns: dict[str, Any]) -> bool:
        """Delete what remains; finalize when nothing does. True when finalized."""
        name = ns["metadata"]["name"]
        remaining = 0
        for rt in namespaced_types(self.registry):
            items = (await self.client.list(rt, name)).get("items", [])
            for item in items:
                remaining += 1
                if item["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    await self.client.delete(
                        rt,
                        name,
                        item["metadata"]["name"],
                        options={"propagationPolicy": "Background"},
                    )
                except errors.NotFound:
                    remaining -= 1
        if remaining:
            return False
        body = dict(ns)
        body["spec"] = {**ns.get("spec", {}), "finalizers": []}
        with contextlib.suppress(errors.NotFound):
            await self.client.update(self.ns_rt, None, name, body, subresource="finalize")
        log.info("namespace finalized namespace=%s", name)
        return True
