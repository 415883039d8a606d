"""Keeps a ``default`` ServiceAccount in every active namespace, as Kubernetes does."""

from __future__ import annotations

import asyncio
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient, Informer
from kubeproc.util.clock import Clock


class ServiceAccountController:
    def __init__(self, client: ApiClient, registry: Registry, clock: Clock) -> None:
        ns_rt = registry.get("", "v1", "namespaces")
        sa_rt = registry.get("", "v1", "serviceaccounts")
        assert ns_rt is not None and sa_rt is not None
        self.client = client
        self.sa_rt = sa_rt
        self.clock = clock
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self.namespaces = Informer(client, ns_rt, clock, listener=self._ns_changed)
        self.accounts = Informer(client, sa_rt, clock, listener=self._sa_changed)

    def _ns_changed(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is not None and not new["metadata"].get("deletionTimestamp"):
            self._queue.put_nowait(key)

    def _sa_changed(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is None and key.endswith("/default"):
            self._queue.put_nowait(key.split("/", maxsplit=1)[0])

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.namespaces.run())
            tg.create_task(self.accounts.run())
            tg.create_task(self._loop())

    async def _loop(self) -> None:
        await self.accounts.synced.wait()
        while True:
            namespace = await self._queue.get()
            ns = self.namespaces.objects.get(namespace)
            if ns is None or ns["metadata"].get("deletionTimestamp"):
                continue
            if f"{namespace}/default" in self.accounts.objects:
                continue
            body = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": namespace},
            }
            try:
                await self.client.create(self.sa_rt, namespace, body)
            except (errors.AlreadyExists, errors.NotFound, errors.Forbidden):
                continue
