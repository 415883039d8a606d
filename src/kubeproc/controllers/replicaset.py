"""The ReplicaSet and ReplicationController controllers (upstream's ``pkg/controller/replicaset``).

One class serves both kinds, as upstream runs ReplicationControllers through an adapter:
``OwnerKind`` says where the kind lives and how its selector reads (a label selector for a
ReplicaSet, a plain map for a ReplicationController). Each instance has an informer on its
kind and one on pods, a ``WorkQueue`` of ``namespace/name`` keys and ``Expectations``.

A sync is level-triggered: it takes the owner and the active pods of its namespace from
the caches, adopts matching orphans and releases pods that stopped matching (controller
ownerReferences), then, unless creations or deletions are still in flight, creates the
missing pods in slow-start batches (1, 2, 4 … stopping at the first error) or deletes the
surplus, most deletable first (``podranking``). Status goes to the status subresource
only when it changed (``replicastatus``); a pod that is ready but not yet available for
``minReadySeconds`` requeues the key for the moment it becomes so.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import dataclass
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.api.selectors import LabelSelector
from kubeproc.client import ApiClient, Informer, object_key
from kubeproc.client.events import NORMAL, WARNING, ControllerEvents
from kubeproc.controllers.expectations import Expectations
from kubeproc.controllers.podcontrol import (
    SLOW_START_INITIAL_BATCH,
    claim_pods,
    controller_of,
    pod_from_template,
    slow_start_batch,
)
from kubeproc.controllers.podranking import (
    Pod,
    available_after,
    is_pod_active,
    pods_to_delete,
)
from kubeproc.controllers.replicastatus import (
    calculate_status,
    desired_replicas,
    min_ready_seconds,
    status_changed,
    with_observed_generation,
)
from kubeproc.controllers.workqueue import WorkQueue, run_workers
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

BURST_REPLICAS = 500
# Requeue a little after the computed moment: ready times have second precision.
_AVAILABILITY_SLACK = 0.05


@dataclass(frozen=True)
class OwnerKind:
    rt: ResourceType
    map_selector: bool
    """ReplicationControllers select with a plain label map."""

    def selector(self, owner: dict[str, Any]) -> LabelSelector | None:
        """The owner's pod selector; None (matches nothing) when empty or invalid."""
        raw = owner.get("spec", {}).get("selector")
        if not raw:
            return None
        obj = {"matchLabels": raw} if self.map_selector else raw
        try:
            selector = LabelSelector.from_label_selector_object(obj)
        except errors.BadRequest:
            return None
        return None if selector.empty else selector


def _pod_key(pod: Pod) -> str:
    return object_key(pod)


def _namespace_terminating(err: errors.StatusError) -> bool:
    causes = (err.details or {}).get("causes") or []
    return any(c.get("type") == "NamespaceTerminating" for c in causes)


class ReplicaSetController:
    """Keeps ``spec.replicas`` pods of every ReplicaSet (or ReplicationController)."""

    def __init__(
        self,
        client: ApiClient,
        registry: Registry,
        clock: Clock,
        *,
        kind: str = "ReplicaSet",
        workers: int = 3,
    ) -> None:
        if kind == "ReplicationController":
            owner_rt = registry.get("", "v1", "replicationcontrollers")
        else:
            owner_rt = registry.get("apps", "v1", "replicasets")
        pods_rt = registry.get("", "v1", "pods")
        assert owner_rt is not None and pods_rt is not None
        self.client = client
        self.clock = clock
        self.kind = OwnerKind(owner_rt, map_selector=kind == "ReplicationController")
        self.pods_rt = pods_rt
        events_rt = registry.get("", "v1", "events")
        assert events_rt is not None
        # The component names upstream's controllers record their events as.
        component = (
            "replication-controller" if kind == "ReplicationController" else "replicaset-controller"
        )
        self.events = ControllerEvents(client, events_rt, clock, component=component)
        self.workers = workers
        self.queue = WorkQueue(clock, name=owner_rt.plural)
        self.expectations = Expectations(clock)
        self.owners = Informer(client, owner_rt, clock, listener=self._owner_changed)
        self.pods = Informer(client, pods_rt, clock, listener=self._pod_changed)
        self._pods_by_ns: dict[str, dict[str, Pod]] = {}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.owners.run())
            tg.create_task(self.pods.run())
            await self.owners.synced.wait()
            await self.pods.synced.wait()
            tg.create_task(run_workers(self.queue, self.sync, workers=self.workers))

    # -- event handlers (informer listeners) ----------------------------------------------

    def _owner_changed(
        self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        if new is None or (old is not None and old["metadata"]["uid"] != new["metadata"]["uid"]):
            self.expectations.forget(key)
        self.queue.add(key)

    def _resolve(self, namespace: str, ref: dict[str, Any]) -> str | None:
        """The key of the owner ``ref`` names, if it is ours and still the same object."""
        if ref.get("kind") != self.kind.rt.kind:
            return None
        key = f"{namespace}/{ref.get('name')}"
        owner = self.owners.objects.get(key)
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return key

    def _matching_owners(self, pod: Pod) -> list[str]:
        namespace = pod["metadata"].get("namespace", "")
        labels = pod["metadata"].get("labels") or {}
        keys = []
        for key, owner in self.owners.objects.items():
            if owner["metadata"].get("namespace") != namespace:
                continue
            selector = self.kind.selector(owner)
            if selector is not None and selector.matches(labels):
                keys.append(key)
        return keys

    def _pod_changed(self, key: str, old: Pod | None, new: Pod | None) -> None:
        pod = new if new is not None else old
        assert pod is not None
        by_ns = self._pods_by_ns.setdefault(pod["metadata"].get("namespace", ""), {})
        if new is None:
            by_ns.pop(key, None)
            self._pod_deleted(pod)
        elif old is None:
            by_ns[key] = new
            self._pod_added(new)
        else:
            by_ns[key] = new
            self._pod_updated(old, new)

    def _pod_added(self, pod: Pod) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        ref = controller_of(pod)
        if ref is not None:
            owner_key = self._resolve(pod["metadata"].get("namespace", ""), ref)
            if owner_key is not None:
                self.expectations.creation_observed(owner_key)
                self.queue.add(owner_key)
            return
        for owner_key in self._matching_owners(pod):
            self.queue.add(owner_key)

    def _pod_updated(self, old: Pod, cur: Pod) -> None:
        if old["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion"):
            return
        labels_changed = old["metadata"].get("labels") != cur["metadata"].get("labels")
        if cur["metadata"].get("deletionTimestamp"):
            self._pod_deleted(cur)
            if labels_changed:
                self._pod_deleted(old)
            return
        namespace = cur["metadata"].get("namespace", "")
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        if cur_ref != old_ref and old_ref is not None:
            old_key = self._resolve(namespace, old_ref)
            if old_key is not None:
                self.queue.add(old_key)
        if cur_ref is not None:
            owner_key = self._resolve(namespace, cur_ref)
            if owner_key is not None:
                self.queue.add(owner_key)
            return
        if labels_changed or cur_ref != old_ref:
            for owner_key in self._matching_owners(cur):
                self.queue.add(owner_key)

    def _pod_deleted(self, pod: Pod) -> None:
        ref = controller_of(pod)
        if ref is None:
            return
        owner_key = self._resolve(pod["metadata"].get("namespace", ""), ref)
        if owner_key is not None:
            self.expectations.deletion_observed(owner_key, _pod_key(pod))
            self.queue.add(owner_key)

    # -- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        owner = self.owners.objects.get(key)
        if owner is None:
            self.expectations.forget(key)
            return
        needs_sync = self.expectations.satisfied(key)
        selector = self.kind.selector(owner)
        if selector is None:
            log.warning("invalid or empty selector kind=%s key=%s", self.kind.rt.kind, key)
            return
        namespace = owner["metadata"].get("namespace", "")
        active = [p for p in self._pods_by_ns.get(namespace, {}).values() if is_pod_active(p)]
        pods = await claim_pods(
            self.client,
            pods_rt=self.pods_rt,
            owner_rt=self.kind.rt,
            owner=owner,
            selector=selector,
            pods=active,
        )
        manage_error: errors.StatusError | None = None
        if needs_sync and not owner["metadata"].get("deletionTimestamp"):
            try:
                await self._manage(key, owner, pods)
            except errors.StatusError as err:
                manage_error = err
        now = self.clock.now()
        status = calculate_status(owner, pods, manage_error, now)
        if status_changed(owner, status):
            await self._write_status(owner, with_observed_generation(owner, status))
        self._requeue_for_availability(key, owner, pods)
        if manage_error is not None:
            raise manage_error

    def _requeue_for_availability(self, key: str, owner: dict[str, Any], pods: list[Pod]) -> None:
        min_ready = min_ready_seconds(owner)
        if min_ready == 0:
            return
        now = self.clock.now()
        waits = [w for p in pods if (w := available_after(p, min_ready, now)) is not None]
        if waits:
            self.queue.add_after(key, max(min(waits), 0.0) + _AVAILABILITY_SLACK)

    async def _write_status(self, owner: dict[str, Any], status: dict[str, Any]) -> None:
        """PUT the status subresource; on a conflict, once more on a fresh read."""
        meta = owner["metadata"]
        kind = {"apiVersion": self.kind.rt.api_version, "kind": self.kind.rt.kind}
        body = {**owner, **kind, "status": status}
        try:
            await self.client.update(
                self.kind.rt, meta.get("namespace"), meta["name"], body, subresource="status"
            )
        except errors.Conflict:
            fresh = await self.client.get(self.kind.rt, meta.get("namespace"), meta["name"])
            # The cache lagged behind our own last write: nothing to do if it holds.
            if fresh["metadata"].get("uid") != meta.get("uid") or not status_changed(fresh, status):
                return
            body = {**fresh, **kind, "status": status}
            await self.client.update(
                self.kind.rt, meta.get("namespace"), meta["name"], body, subresource="status"
            )
        except errors.NotFound:
            return
        log.info(
            "status kind=%s owner=%s/%s replicas=%s ready=%s available=%s",
            self.kind.rt.kind,
            meta.get("namespace"),
            meta["name"],
            status.get("replicas", 0),
            status.get("readyReplicas", 0),
            status.get("availableReplicas", 0),
        )

    # -- scaling ----------------------------------------------------------------------

    async def _manage(self, key: str, owner: dict[str, Any], pods: list[Pod]) -> None:
        diff = len(pods) - desired_replicas(owner)
        if diff < 0:
            await self._create(key, owner, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            await self._delete(key, owner, pods, min(diff, BURST_REPLICAS))

    async def _create(self, key: str, owner: dict[str, Any], count: int) -> None:
        namespace = owner["metadata"].get("namespace")
        body = pod_from_template(owner, self.kind.rt)
        if not body["metadata"]["labels"]:
            raise errors.Invalid("unable to create pods, no labels")

        async def create_one() -> None:
            try:
                pod = await self.client.create(self.pods_rt, namespace, copy.deepcopy(body))
            except errors.StatusError as err:
                if not _namespace_terminating(err):
                    await self.events.record(
                        owner, self.kind.rt, WARNING, "FailedCreate", f"Error creating: {err}"
                    )
                    raise
                return
            name = pod["metadata"]["name"]
            await self.events.record(
                owner, self.kind.rt, NORMAL, "SuccessfulCreate", f"Created pod: {name}"
            )

        self.expectations.expect_creations(key, count)
        log.info("too few replicas kind=%s key=%s creating=%d", self.kind.rt.kind, key, count)
        created, error = await slow_start_batch(count, SLOW_START_INITIAL_BATCH, create_one)
        for _ in range(count - created):
            self.expectations.creation_observed(key)
        if error is not None:
            raise error

    async def _delete(self, key: str, owner: dict[str, Any], pods: list[Pod], count: int) -> None:
        victims = pods_to_delete(pods, self._related_pods(owner), count, self.clock.now())
        self.expectations.expect_deletions(key, [_pod_key(p) for p in victims])
        log.info(
            "too many replicas kind=%s key=%s deleting=%s",
            self.kind.rt.kind,
            key,
            ",".join(p["metadata"]["name"] for p in victims),
        )
        results = await asyncio.gather(
            *(
                self.client.delete(
                    self.pods_rt, p["metadata"].get("namespace"), p["metadata"]["name"]
                )
                for p in victims
            ),
            return_exceptions=True,
        )
        first: BaseException | None = None
        for pod, result in zip(victims, results, strict=True):
            name = pod["metadata"]["name"]
            if not isinstance(result, BaseException):
                await self.events.record(
                    owner, self.kind.rt, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}"
                )
                continue
            self.expectations.deletion_observed(key, _pod_key(pod))
            if not isinstance(result, errors.NotFound):
                await self.events.record(
                    owner, self.kind.rt, WARNING, "FailedDelete", f"Error deleting: {result}"
                )
                if first is None:
                    first = result
        if first is not None:
            raise first

    def _related_pods(self, owner: dict[str, Any]) -> list[Pod]:
        """Pods of every owner sharing this one's controller (a Deployment's ReplicaSets)."""
        ref = controller_of(owner)
        if ref is None:
            return []
        namespace = owner["metadata"].get("namespace", "")
        seen: dict[str, Pod] = {}
        for sibling in self.owners.objects.values():
            sref = controller_of(sibling)
            if sibling["metadata"].get("namespace") != namespace or sref is None:
                continue
            if sref.get("uid") != ref.get("uid"):
                continue
            selector = self.kind.selector(sibling)
            if selector is None:
                continue
            for pod in self._pods_by_ns.get(namespace, {}).values():
                if selector.matches(pod["metadata"].get("labels") or {}):
                    seen.setdefault(str(pod["metadata"].get("uid")), pod)
        return list(seen.values())
