"""The Deployment controller (upstream's ``pkg/controller/deployment``).

Informers on Deployments, ReplicaSets and pods feed one ``WorkQueue`` of deployment keys:
a deployment change queues itself; a ReplicaSet change queues its controlling deployment
(or, for an orphan, every deployment of its namespace whose selector matches it, so it can
be adopted); a deleted pod of a Recreate deployment queues it, since Recreate waits for
the old pods to be gone before it starts new ones.

A sync takes the deployment and its namespace's ReplicaSets from the caches, adopts
matching orphans and releases owned ReplicaSets that stopped matching (controller
ownerReferences, as the ReplicaSet controller does for pods), groups the pods by their
ReplicaSet, and hands the rest to ``DeploymentSync``. When a rollout has a progress
deadline and no sign of progress, the key is queued again for the moment it would pass.
The ReplicaSet controller does the pods; this one only sizes ReplicaSets.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry
from kubeproc.api.selectors import LabelSelector
from kubeproc.client import ApiClient, Informer
from kubeproc.client.events import ControllerEvents
from kubeproc.controllers.deploymentsync import DeploymentSync
from kubeproc.controllers.deploymentwrites import Kinds
from kubeproc.controllers.podcontrol import claim_pods, controller_of
from kubeproc.controllers.podranking import Pod
from kubeproc.controllers.workqueue import WorkQueue, run_workers
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


def deployment_selector(deployment: dict[str, Any]) -> LabelSelector | None:
    """The deployment's selector; None (selects nothing) when empty or invalid."""
    raw = (deployment.get("spec") or {}).get("selector")
    if not raw:
        return None
    try:
        selector = LabelSelector.from_label_selector_object(raw)
    except errors.BadRequest:
        return None
    return None if selector.empty else selector


class DeploymentController:
    """Rolls every Deployment's ReplicaSets towards its template and size."""

    def __init__(
        self, client: ApiClient, registry: Registry, clock: Clock, *, workers: int = 3
    ) -> None:
        deployments = registry.get("apps", "v1", "deployments")
        replicasets = registry.get("apps", "v1", "replicasets")
        pods = registry.get("", "v1", "pods")
        events = registry.get("", "v1", "events")
        assert deployments is not None and replicasets is not None
        assert pods is not None and events is not None
        self.client = client
        self.clock = clock
        self.kinds = Kinds(deployments=deployments, replicasets=replicasets)
        self.workers = workers
        self.events = ControllerEvents(client, events, clock, component="deployment-controller")
        self.queue = WorkQueue(clock, name="deployments")
        self.deployments = Informer(client, deployments, clock, listener=self._deployment_changed)
        self.replicasets = Informer(client, replicasets, clock, listener=self._rs_changed)
        self.pods = Informer(client, pods, clock, listener=self._pod_changed)
        self._pods_by_ns: dict[str, dict[str, Pod]] = {}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for informer in (self.deployments, self.replicasets, self.pods):
                tg.create_task(informer.run())
            for informer in (self.deployments, self.replicasets, self.pods):
                await informer.synced.wait()
            tg.create_task(run_workers(self.queue, self.sync, workers=self.workers))

    # -- event handlers ------------------------------------------------------------------

    def _deployment_changed(
        self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        self.queue.add(key)

    def _owner_key(self, obj: dict[str, Any]) -> str | None:
        """The key of the deployment controlling ``obj`` (a ReplicaSet), if it is cached."""
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        key = f"{obj['metadata'].get('namespace')}/{ref.get('name')}"
        owner = self.deployments.objects.get(key)
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return key

    def _matching_deployments(self, rs: dict[str, Any]) -> list[str]:
        namespace = rs["metadata"].get("namespace")
        labels = rs["metadata"].get("labels") or {}
        keys = []
        for key, d in self.deployments.objects.items():
            if d["metadata"].get("namespace") != namespace:
                continue
            selector = deployment_selector(d)
            if selector is not None and selector.matches(labels):
                keys.append(key)
        return keys

    def _rs_changed(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for obj in (old, new):
            if obj is None:
                continue
            owner = self._owner_key(obj)
            if owner is not None:
                self.queue.add(owner)
            elif controller_of(obj) is None and new is not None:
                for match in self._matching_deployments(obj):
                    self.queue.add(match)

    def _pod_changed(self, key: str, old: Pod | None, new: Pod | None) -> None:
        pod = new if new is not None else old
        assert pod is not None
        by_ns = self._pods_by_ns.setdefault(pod["metadata"].get("namespace", ""), {})
        if new is not None:
            by_ns[key] = new
            return
        by_ns.pop(key, None)
        rs_ref = controller_of(pod)
        if rs_ref is None or rs_ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.objects.get(
            f"{pod['metadata'].get('namespace')}/{rs_ref.get('name')}"
        )
        owner = self._owner_key(rs) if rs is not None else None
        if owner is None:
            return
        d = self.deployments.objects.get(owner) or {}
        if ((d.get("spec") or {}).get("strategy") or {}).get("type") == "Recreate":
            self.queue.add(owner)

    # -- sync ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.deployments.objects.get(key)
        if cached is None:
            return
        selector = deployment_selector(cached)
        if selector is None:
            await self._observe_only(cached)
            return
        replica_sets = await self._claim_replica_sets(cached, selector)
        pods_by_rs = self._pods_by_rs(cached, selector, replica_sets)
        step = DeploymentSync(
            self.client,
            self.kinds,
            self.clock,
            events=self.events,
            deployment=cached,
            replica_sets=replica_sets,
            pods_by_rs=pods_by_rs,
        )
        recheck = await step.run()
        if recheck is not None:
            self.queue.add_after(key, recheck)

    async def _observe_only(self, d: dict[str, Any]) -> None:
        """A deployment selecting everything (or nothing valid) is only marked observed."""
        meta, status = d["metadata"], d.get("status") or {}
        log.warning(
            "deployment selects all pods; a non-empty selector is required key=%s/%s",
            meta.get("namespace"),
            meta["name"],
        )
        generation = int(meta.get("generation") or 0)
        if int(status.get("observedGeneration") or 0) >= generation:
            return
        body = {**d, "status": {**status, "observedGeneration": generation}}
        await self.client.update(
            self.kinds.deployments, meta.get("namespace"), meta["name"], body, subresource="status"
        )

    async def _claim_replica_sets(
        self, d: dict[str, Any], selector: LabelSelector
    ) -> list[dict[str, Any]]:
        namespace = d["metadata"].get("namespace")
        candidates = [
            rs
            for rs in self.replicasets.objects.values()
            if rs["metadata"].get("namespace") == namespace
        ]
        # The pod claiming rules hold for any dependent: adopt matching orphans (after a
        # live re-read of the owner), release owned ones whose labels stopped matching.
        return await claim_pods(
            self.client,
            pods_rt=self.kinds.replicasets,
            owner_rt=self.kinds.deployments,
            owner=d,
            selector=selector,
            pods=candidates,
        )

    def _pods_by_rs(
        self, d: dict[str, Any], selector: LabelSelector, replica_sets: list[dict[str, Any]]
    ) -> dict[str, list[Pod]]:
        uids = {str(rs["metadata"].get("uid")) for rs in replica_sets}
        grouped: dict[str, list[Pod]] = {uid: [] for uid in uids}
        for pod in self._pods_by_ns.get(d["metadata"].get("namespace", ""), {}).values():
            ref = controller_of(pod)
            if ref is None or str(ref.get("uid")) not in uids:
                continue
            if selector.matches(pod["metadata"].get("labels") or {}):
                grouped[str(ref.get("uid"))].append(pod)
        return grouped
