"""The EndpointSlice controller: each selecting Service's pods, as EndpointSlices.

As kube-controller-manager's (pkg/controller/endpointslice): informers on Services, pods
and EndpointSlices feed a work queue of Service keys; a sync lists the Service's pods and
its managed slices from the caches, asks ``plan_slices`` (pure) what to write and writes
it. A pod change queues the Services its old and new labels select, only when something
an endpoint shows changed (``endpoint_projection``); a Service change queues it; a change
to a managed slice that is not this controller's own write queues its Service, so edits
by others are corrected. There is no batching: a pod's Ready flip reaches its slices as
soon as the watch event arrives. Writes not yet seen in the cache make a sync wait for
them (``WriteExpectations``), so a stale cache never creates a duplicate slice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient, Informer
from kubeproc.controllers.endpointdesired import (
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    MANAGED_BY,
    endpoint_projection,
    selector_of,
    selects,
)
from kubeproc.controllers.endpointslicereconciler import plan_slices
from kubeproc.controllers.endpointtracking import TriggerTimeTracker, WriteExpectations
from kubeproc.controllers.workqueue import WorkQueue, run_workers
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

Json = dict[str, Any]
WORKERS = 4


class PodIndex:
    """The pods of a pod informer by namespace, so a sync scans only its namespace."""

    def __init__(self) -> None:
        self.by_namespace: dict[str, dict[str, Json]] = {}

    def apply(self, old: Json | None, new: Json | None) -> None:
        if old is not None:
            meta = old["metadata"]
            self.by_namespace.get(meta.get("namespace", ""), {}).pop(meta["name"], None)
        if new is not None:
            meta = new["metadata"]
            self.by_namespace.setdefault(meta.get("namespace", ""), {})[meta["name"]] = new

    def selected(self, namespace: str, selector: dict[str, str]) -> list[Json]:
        pods = self.by_namespace.get(namespace, {}).values()
        return [p for p in pods if selects(selector, p)]


def services_to_sync(services: dict[str, Json], old: Json | None, new: Json | None) -> set[str]:
    """The Service keys a pod change affects (``GetServicesToUpdateOnPodChange``)."""
    if old is not None and new is not None:
        same_labels = old["metadata"].get("labels") == new["metadata"].get("labels")
        if same_labels and endpoint_projection(old) == endpoint_projection(new):
            return set()
    keys: set[str] = set()
    for pod in (old, new):
        if pod is None:
            continue
        namespace = pod["metadata"].get("namespace", "")
        for key, svc in services.items():
            selector = selector_of(svc)
            if (
                svc["metadata"].get("namespace") == namespace
                and selector
                and selects(selector, pod)
            ):
                keys.add(key)
    return keys


class EndpointSliceController:
    def __init__(self, client: ApiClient, registry: Registry, clock: Clock) -> None:
        pods_rt = registry.get("", "v1", "pods")
        svc_rt = registry.get("", "v1", "services")
        slice_rt = registry.get("discovery.k8s.io", "v1", "endpointslices")
        assert pods_rt is not None and svc_rt is not None and slice_rt is not None
        self.client = client
        self.slice_rt = slice_rt
        self.queue = WorkQueue(clock, "endpointslice")
        self.expectations = WriteExpectations(clock)
        self.triggers = TriggerTimeTracker()
        self.pod_index = PodIndex()
        # service key -> slice name -> slice (only slices managed by this controller)
        self.slices: dict[str, dict[str, Json]] = {}
        self._deferred: set[str] = set()
        self.services = Informer(client, svc_rt, clock, listener=self._service_changed)
        self.pods = Informer(client, pods_rt, clock, listener=self._pod_changed)
        self.endpoint_slices = Informer(client, slice_rt, clock, listener=self._slice_changed)

    # -- event handlers ---------------------------------------------------------------

    def _service_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        self.queue.add(key)

    def _pod_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        self.pod_index.apply(old, new)
        for service in services_to_sync(self.services.objects, old, new):
            self.queue.add(service)

    def _slice_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        name = (new or old or {})["metadata"]["name"]
        old_owner, new_owner = _owner_key(old), _owner_key(new)
        if old_owner is not None and old_owner != new_owner:
            # Deleted, or relabelled out of this controller's hands: the Service syncs again.
            self.slices.get(old_owner, {}).pop(name, None)
            own = new is None and self.expectations.observe(old_owner, name, None)
            if not own or old_owner in self._deferred:
                self.queue.add(old_owner)
        if new is not None and new_owner is not None:
            self.slices.setdefault(new_owner, {})[name] = new
            own = self.expectations.observe(new_owner, name, new)
            if not own or new_owner in self._deferred:
                self.queue.add(new_owner)

    # -- sync -------------------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.services.run())
            tg.create_task(self.pods.run())
            tg.create_task(self.endpoint_slices.run())
            await self.services.synced.wait()
            await self.pods.synced.wait()
            await self.endpoint_slices.synced.wait()
            tg.create_task(run_workers(self.queue, self.sync, workers=WORKERS))

    async def sync(self, key: str) -> None:
        svc = self.services.objects.get(key)
        if svc is None:
            self.triggers.forget(key)
            self.expectations.forget(key)
            self._deferred.discard(key)
            return  # the garbage collector removes the slices it owned
        selector = selector_of(svc)
        if selector is None:
            return
        if self.expectations.stale(key):
            self._deferred.add(key)
            self.queue.add_after(key, self.expectations.ttl)
            return
        self._deferred.discard(key)
        namespace = svc["metadata"]["namespace"]
        pods = self.pod_index.selected(namespace, selector)
        trigger = self.triggers.compute(key, svc, pods)
        existing = list(self.slices.get(key, {}).values())
        plan = plan_slices(svc, pods, existing, trigger_time=trigger)
        if plan.empty:
            return
        log.info(
            "syncing endpointslices service=%s create=%d update=%d delete=%d",
            key,
            len(plan.create),
            len(plan.update),
            len(plan.delete),
        )
        for body in plan.create:
            try:
                created = await self.client.create(self.slice_rt, namespace, body)
            except errors.Forbidden as err:  # the namespace is terminating
                log.debug("endpointslice create refused service=%s error=%s", key, err)
                return
            self.expectations.wrote(key, created, self._cached(key, created))
        for body in plan.update:
            updated = await self.client.update(
                self.slice_rt, namespace, body["metadata"]["name"], body
            )
            self.expectations.wrote(key, updated, self._cached(key, updated))
        for body in plan.delete:
            name = body["metadata"]["name"]
            try:
                await self.client.delete(self.slice_rt, namespace, name)
            except errors.NotFound:
                continue
            self.expectations.deleted(key, name, cached=name in self.slices.get(key, {}))

    def _cached(self, key: str, obj: Json) -> Json | None:
        return self.slices.get(key, {}).get(obj["metadata"]["name"])


def _owner_key(slice_: Json | None) -> str | None:
    """The Service key of a slice this controller manages, else None."""
    if slice_ is None:
        return None
    labels = slice_["metadata"].get("labels") or {}
    service = labels.get(LABEL_SERVICE_NAME)
    if labels.get(LABEL_MANAGED_BY) != MANAGED_BY or not service:
        return None
    return f"{slice_['metadata'].get('namespace', '')}/{service}"
