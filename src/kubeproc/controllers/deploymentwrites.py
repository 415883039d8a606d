"""A Deployment sync's working copies and the writes that keep them current.

``DeploymentWrites`` holds the sync's private copy of the deployment and of the
ReplicaSets it owns, and makes every write a sync makes, replacing the copy with the
server's answer so the next write in the same sync carries the right resourceVersion:

- ReplicaSets are written with PUT and their cached resourceVersion, so a stale cache
  gives a Conflict (and a retry) instead of scaling twice; a resize stamps the
  ``desired-replicas``/``max-replicas`` annotations and records a ScalingReplicaSet event;
- the deployment's status goes to the status subresource (once more on a fresh read when
  only our own previous write made it conflict); its revision annotation goes to the
  object itself with a merge patch, because this API server's status endpoint keeps
  metadata (upstream's keeps labels only) and an annotation-only change bumps no
  generation;
- old ReplicaSets past ``revisionHistoryLimit`` are deleted with a uid precondition.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import ResourceType
from kubeproc.client import ApiClient, object_key
from kubeproc.client.events import NORMAL, ControllerEvents
from kubeproc.controllers import deploymentrevision as revisions
from kubeproc.controllers import deploymentrollout as rollout
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kinds:
    deployments: ResourceType
    replicasets: ResourceType


def scaled_message(name: str, before: int, after: int) -> str:
    """The ScalingReplicaSet event's text (upstream's, since it names both sizes)."""
    direction = "up" if after > before else "down"
    return f"Scaled {direction} replica set {name} from {before} to {after}"


class DeploymentWrites:
    """The deployment and its ReplicaSets as this sync sees them, and its writes."""

    def __init__(
        self,
        client: ApiClient,
        kinds: Kinds,
        clock: Clock,
        *,
        events: ControllerEvents,
        deployment: dict[str, Any],
        replica_sets: Sequence[dict[str, Any]],
    ) -> None:
        self.client = client
        self.kinds = kinds
        self.clock = clock
        self.events = events
        self.d = copy.deepcopy(deployment)
        self.rs = {str(r["metadata"]["name"]): copy.deepcopy(r) for r in replica_sets}
        self.key = object_key(deployment)

    @property
    def shape(self) -> rollout.DeploymentShape:
        return rollout.DeploymentShape.of(self.d)

    def replicas_annotations(self) -> tuple[int, int]:
        shape = self.shape
        return shape.replicas, shape.replicas + rollout.max_surge(shape)

    async def set_deployment_revision(self, revision: str) -> None:
        meta = self.d["metadata"]
        if (meta.get("annotations") or {}).get(revisions.REVISION) == revision:
            return
        # No resourceVersion: the annotation is ours alone; a spec that moved on meanwhile
        # shows as another generation in the answer and restarts the sync.
        patch = {"metadata": {"annotations": {revisions.REVISION: revision}}}
        fresh = await self.client.patch(
            self.kinds.deployments, meta.get("namespace"), meta["name"], patch
        )
        if fresh["metadata"].get("generation") != meta.get("generation"):
            raise errors.Conflict(f"deployment {self.key} changed while syncing; retrying")
        meta["resourceVersion"] = fresh["metadata"].get("resourceVersion")
        meta["annotations"] = fresh["metadata"].get("annotations")

    async def update_rs(self, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        updated = await self.client.update(
            self.kinds.replicasets, meta.get("namespace"), meta["name"], body
        )
        self.rs[str(meta["name"])] = updated

    async def scale_rs(self, name: str, size: int, *, refresh_annotations: bool = False) -> bool:
        """Resize one ReplicaSet (and stamp the replica annotations); True if it resized."""
        rs = self.rs[name]
        before = int(rs["spec"].get("replicas") or 0)
        desired, maximum = self.replicas_annotations()
        resizes = before != size
        if not resizes and not (
            refresh_annotations and revisions.replicas_annotations_differ(rs, desired, maximum)
        ):
            return False
        body = copy.deepcopy(rs)
        body["spec"]["replicas"] = size
        annotations = body["metadata"].setdefault("annotations", {})
        annotations[revisions.DESIRED_REPLICAS] = str(desired)
        annotations[revisions.MAX_REPLICAS] = str(maximum)
        await self.update_rs(body)
        if resizes:
            log.info(
                "scaled %s replica set deployment=%s rs=%s from=%d to=%d",
                "up" if size > before else "down",
                self.key,
                name,
                before,
                size,
            )
            await self.event(NORMAL, "ScalingReplicaSet", scaled_message(name, before, size))
        return resizes

    async def event(self, type_: str, reason: str, message: str) -> None:
        await self.events.record(self.d, self.kinds.deployments, type_, reason, message)

    async def cleanup(self, old: Sequence[str]) -> None:
        limit = (self.d.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None or int(limit) == 2**31 - 1:
            return
        for rs in revisions.history_to_delete([self.rs[n] for n in old], int(limit)):
            meta = rs["metadata"]
            try:
                await self.client.delete(
                    self.kinds.replicasets,
                    meta.get("namespace"),
                    meta["name"],
                    options={"preconditions": {"uid": meta.get("uid")}},
                )
            except errors.NotFound:
                continue
            log.info("deleted old replica set deployment=%s rs=%s", self.key, meta["name"])

    async def write_status(self) -> None:
        """PUT the status; on a conflict, once more on a fresh read of the same spec.

        The cache usually lags behind our own previous write, which is what conflicts; a
        fresh object with another generation means the spec moved on, so the conflict
        stands and the sync starts over."""
        meta = self.d["metadata"]
        kind = {
            "apiVersion": self.kinds.deployments.api_version,
            "kind": self.kinds.deployments.kind,
        }
        rt, namespace, name = self.kinds.deployments, meta.get("namespace"), meta["name"]
        try:
            fresh = await self.client.update(
                rt, namespace, name, {**self.d, **kind}, subresource="status"
            )
        except errors.Conflict:
            current = await self.client.get(rt, namespace, name)
            cmeta = current["metadata"]
            if (cmeta.get("uid"), cmeta.get("generation")) != (
                meta.get("uid"),
                meta.get("generation"),
            ):
                raise
            body = {**current, **kind, "status": self.d.get("status") or {}}
            fresh = await self.client.update(rt, namespace, name, body, subresource="status")
            meta["annotations"] = fresh["metadata"].get("annotations")
        meta["resourceVersion"] = fresh["metadata"].get("resourceVersion")
        self.d["status"] = fresh.get("status") or {}
