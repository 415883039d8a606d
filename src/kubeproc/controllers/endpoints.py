"""The Endpoints controller: the legacy ``Endpoints`` object named like each Service.

As kube-controller-manager's (pkg/controller/endpoint): informers on Services, pods and
Endpoints feed a queue of Service keys. Ready pods go to ``addresses``, not-ready ones to
``notReadyAddresses``, terminating pods are left out unless ``publishNotReadyAddresses``
(``desired_subsets``, built from the same pure helpers as the slices; the pod index and
the pod-to-Service fan-out are the EndpointSlice controller's). The object carries the
Service's labels (plus the headless label) and the last-change trigger time, and is
truncated to 1000 addresses with the over-capacity annotation. A deleted Service's
Endpoints is deleted; at start every Endpoints object is checked once for a Service
(leftovers). Like upstream, edits by others to an Endpoints object are not watched for;
its deletion is.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
import math
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient, Informer
from kubeproc.controllers.endpointdesired import (
    LABEL_HEADLESS,
    TRIGGER_TIME_ANNOTATION,
    desired_subsets,
    is_service_ip_set,
    selector_of,
)
from kubeproc.controllers.endpointslice import PodIndex, services_to_sync
from kubeproc.controllers.endpointtracking import (
    TriggerTimeTracker,
    WriteExpectations,
    rfc3339_nano,
)
from kubeproc.controllers.workqueue import WorkQueue, run_workers
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

Json = dict[str, Any]
MAX_CAPACITY = 1000
OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
WORKERS = 4


def endpoints_to_write(
    svc: Json, subsets: list[Json], current: Json | None, trigger_time: dt.datetime | None
) -> Json | None:
    """The Endpoints object to create or update, or None when ``current`` is up to date."""
    svc_labels = dict(svc["metadata"].get("labels") or {})
    if current is not None:
        labels = dict(current["metadata"].get("labels") or {})
        labels.pop(LABEL_HEADLESS, None)
        annotations = current["metadata"].get("annotations") or {}
        if (
            (current.get("subsets") or []) == subsets
            and labels == svc_labels
            and OVER_CAPACITY_ANNOTATION not in annotations
            and _count(subsets) <= MAX_CAPACITY
        ):
            return None
        body = copy.deepcopy(current)
    else:
        meta = svc["metadata"]
        body = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        }
    meta = body["metadata"]
    body["subsets"] = copy.deepcopy(subsets)
    annotations = dict(meta.get("annotations") or {})
    if trigger_time is not None:
        annotations[TRIGGER_TIME_ANNOTATION] = rfc3339_nano(trigger_time)
    else:
        annotations.pop(TRIGGER_TIME_ANNOTATION, None)
    if _truncate(body["subsets"]):
        annotations[OVER_CAPACITY_ANNOTATION] = "truncated"
    else:
        annotations.pop(OVER_CAPACITY_ANNOTATION, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    if not is_service_ip_set(svc):
        svc_labels[LABEL_HEADLESS] = ""
    meta["labels"] = svc_labels
    return body


def _count(subsets: list[Json]) -> int:
    return sum(
        len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or []) for s in subsets
    )


def _truncate(subsets: list[Json]) -> bool:
    """``truncateEndpoints``: keep ready addresses first, spread over subsets by share."""
    ready = sum(len(s.get("addresses") or []) for s in subsets)
    not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    if ready + not_ready <= MAX_CAPACITY:
        return False
    truncate_ready = ready > MAX_CAPACITY
    budget, total = (MAX_CAPACITY, ready) if truncate_ready else (MAX_CAPACITY - ready, not_ready)
    left = budget
    field = "addresses" if truncate_ready else "notReadyAddresses"
    for subset in subsets:
        share = len(subset.get(field) or [])
        keep = min(math.ceil(share / total * budget), left)
        subset[field] = (subset.get(field) or [])[:keep]
        left -= len(subset[field])
        if truncate_ready:
            subset["notReadyAddresses"] = []
        for name in ("addresses", "notReadyAddresses"):
            if not subset.get(name):
                subset.pop(name, None)
    return True


class EndpointsController:
    def __init__(self, client: ApiClient, registry: Registry, clock: Clock) -> None:
        pods_rt = registry.get("", "v1", "pods")
        svc_rt = registry.get("", "v1", "services")
        ep_rt = registry.get("", "v1", "endpoints")
        assert pods_rt is not None and svc_rt is not None and ep_rt is not None
        self.client = client
        self.ep_rt = ep_rt
        self.queue = WorkQueue(clock, "endpoints")
        self.expectations = WriteExpectations(clock)
        self.triggers = TriggerTimeTracker()
        self.pod_index = PodIndex()
        self._deferred: set[str] = set()
        self.services = Informer(client, svc_rt, clock, listener=self._service_changed)
        self.pods = Informer(client, pods_rt, clock, listener=self._pod_changed)
        self.endpoints = Informer(client, ep_rt, clock, listener=self._endpoints_changed)

    def _service_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        self.queue.add(key)

    def _pod_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        self.pod_index.apply(old, new)
        for service in services_to_sync(self.services.objects, old, new):
            self.queue.add(service)

    def _endpoints_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        name = (new or old or {})["metadata"]["name"]
        own = self.expectations.observe(key, name, new)
        if (new is None and not own) or key in self._deferred:
            self.queue.add(key)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.services.run())
            tg.create_task(self.pods.run())
            tg.create_task(self.endpoints.run())
            await self.services.synced.wait()
            await self.pods.synced.wait()
            await self.endpoints.synced.wait()
            for key, ep in list(self.endpoints.objects.items()):
                if LEADER_ANNOTATION not in (ep["metadata"].get("annotations") or {}):
                    self.queue.add(key)  # leftovers: Endpoints whose Service is gone
            tg.create_task(run_workers(self.queue, self.sync, workers=WORKERS))

    async def sync(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        svc = self.services.objects.get(key)
        if svc is None:
            self.triggers.forget(key)
            self._deferred.discard(key)
            if key in self.endpoints.objects:
                with contextlib.suppress(errors.NotFound):
                    await self.client.delete(self.ep_rt, namespace, name)
                self.expectations.deleted(key, name, cached=key in self.endpoints.objects)
            return
        if selector_of(svc) is None:
            return  # no selector: the user manages this Service's Endpoints
        if self.expectations.stale(key):
            self._deferred.add(key)
            self.queue.add_after(key, self.expectations.ttl)
            return
        self._deferred.discard(key)
        pods = self.pod_index.selected(namespace, selector_of(svc) or {})
        trigger = self.triggers.compute(key, svc, pods)
        current = self.endpoints.objects.get(key)
        body = endpoints_to_write(svc, desired_subsets(svc, pods), current, trigger)
        if body is None:
            return
        log.info("syncing endpoints service=%s subsets=%d", key, len(body["subsets"]))
        if current is None:
            try:
                written = await self.client.create(self.ep_rt, namespace, body)
            except errors.Forbidden as err:  # the namespace is terminating
                log.debug("endpoints create refused service=%s error=%s", key, err)
                return
        else:
            written = await self.client.update(self.ep_rt, namespace, name, body)
        self.expectations.wrote(key, written, self.endpoints.objects.get(key))
