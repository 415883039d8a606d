"""The one-node scheduler: binds every new pod to this node.

A pod with no ``spec.nodeName`` and the default scheduler name is bound through the
``binding`` subresource, which sets ``nodeName`` and the ``PodScheduled`` condition, as
kube-scheduler's bind step does. There is one node, so there is nothing to score.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient, Informer
from kubeproc.util.clock import Clock, rfc3339

log = logging.getLogger(__name__)
SCHEDULER_NAME = "default-scheduler"


def needs_binding(pod: dict[str, Any]) -> bool:
    spec = pod.get("spec", {})
    return (
        not spec.get("nodeName")
        and not pod["metadata"].get("deletionTimestamp")
        and spec.get("schedulerName", SCHEDULER_NAME) == SCHEDULER_NAME
    )


def scheduled_event(pod: dict[str, Any], node: str, clock: Clock) -> dict[str, Any]:
    """The ``Scheduled`` event kube-scheduler records on a successful bind."""
    meta = pod["metadata"]
    now = clock.now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{secrets.token_hex(8)}",
            "namespace": meta["namespace"],
        },
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": "Scheduled",
        "message": f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
        "type": "Normal",
        "source": {"component": "default-scheduler"},
        "reportingComponent": "default-scheduler",
        "reportingInstance": "default-scheduler",
        "action": "Binding",
        "count": 1,
        "firstTimestamp": rfc3339(now),
        "lastTimestamp": rfc3339(now),
        "eventTime": None,
    }


class Scheduler:
    def __init__(self, client: ApiClient, registry: Registry, clock: Clock, node_name: str) -> None:
        pods = registry.get("", "v1", "pods")
        events = registry.get("", "v1", "events")
        assert pods is not None and events is not None
        self.pods_rt = pods
        self.events_rt = events
        self.clock = clock
        self.client = client
        self.node_name = node_name
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self.informer = Informer(client, pods, clock, listener=self._changed)

    def _changed(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is not None and needs_binding(new):
            self._queue.put_nowait(key)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.informer.run())
            tg.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            key = await self._queue.get()
            pod = self.informer.objects.get(key)
            if pod is None or not needs_binding(pod):
                continue
            namespace, name = key.split("/", 1)
            binding = {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name, "namespace": namespace},
                "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name},
            }
            try:
                await self.client.create(
                    self.pods_rt, namespace, binding, name=name, subresource="binding"
                )
                log.info("pod bound pod=%s node=%s", key, self.node_name)
            except (errors.NotFound, errors.Conflict):
                continue
            with contextlib.suppress(errors.StatusError):
                await self.client.create(
                    self.events_rt, namespace, scheduled_event(pod, self.node_name, self.clock)
                )
