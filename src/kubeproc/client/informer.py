"""List-then-watch caches of one resource type, as client-go's informers keep them.

An ``Informer`` lists, then watches from the list's resourceVersion, keeps the objects in
memory and tells a listener about every change. A 410 (the server dropped a slow watch or
the revision was compacted) or a broken stream leads to a relist after a short back-off, so
a controller's view converges on the server's however the watch ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import ResourceType
from kubeproc.client.rest import ApiClient
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None]


def object_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else str(meta["name"])


class Informer:
    """Keeps ``objects`` current; calls ``listener(key, old, new)`` on every change."""

    def __init__(
        self,
        client: ApiClient,
        rt: ResourceType,
        clock: Clock,
        *,
        namespace: str | None = None,
        listener: Listener | None = None,
        params: Mapping[str, str] | None = None,
        resync_backoff: float = 1.0,
    ) -> None:
        self.client = client
        self.params = dict(params or {})
        """Sent with every list and watch, e.g. a field selector (the kubelet's own node)."""
        self.rt = rt
        self.clock = clock
        self.namespace = namespace
        self.listener = listener
        self.objects: dict[str, dict[str, Any]] = {}
        self.synced = asyncio.Event()
        self._backoff = resync_backoff

    def _notify(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if self.listener is not None:
            self.listener(key, old, new)

    async def _relist(self) -> str:
        body = await self.client.list(self.rt, self.namespace, params=self.params or None)
        fresh = {object_key(o): o for o in body.get("items", [])}
        for key, old in list(self.objects.items()):
            if key not in fresh:
                del self.objects[key]
                self._notify(key, old, None)
        for key, obj in fresh.items():
            before = self.objects.get(key)
            self.objects[key] = obj
            if before is None or before["metadata"].get("resourceVersion") != obj["metadata"].get(
                "resourceVersion"
            ):
                self._notify(key, before, obj)
        self.synced.set()
        return str(body.get("metadata", {}).get("resourceVersion", ""))

    async def run(self) -> None:
        while True:
            try:
                rv = await self._relist()
                params = {**self.params, "resourceVersion": rv, "allowWatchBookmarks": "true"}
                async for ev in self.client.watch(self.rt, self.namespace, params=params):
                    if ev.type == "BOOKMARK":
                        continue
                    key = object_key(ev.object)
                    old = self.objects.get(key)
                    if ev.type == "DELETED":
                        self.objects.pop(key, None)
                        self._notify(key, old, None)
                    else:
                        self.objects[key] = ev.object
                        self._notify(key, old, ev.object)
            except (errors.Gone, errors.ServiceUnavailable, errors.InternalError) as err:
                log.debug("informer relists resource=%s reason=%s", self.rt.plural, err)
            await self.clock.sleep(self._backoff)
