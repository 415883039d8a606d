"""One reconcile of one Deployment: the path upstream's ``syncDeployment`` takes.

``DeploymentSync`` is built per sync over the deployment and the ReplicaSets it owns
(already claimed by ``deployment``) and walks upstream's path: status only while being
deleted; paused-condition upkeep; a paused deployment or a ``spec.replicas`` change only
scales (``deploymentrollout.scale``); otherwise a Recreate or RollingUpdate step, then
the rollout status. On the way it finds or creates the new ReplicaSet and keeps the
revisions in step (upstream's ``getAllReplicaSetsAndSyncRevision``), counting a
pod-template-hash collision in ``status.collisionCount``.

The sizes, annotations and status come from the pure modules (``deploymentrollout``,
``deploymentrevision``, ``deploymentstatus``); the writes and the working copies they
keep current are ``deploymentwrites``'.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

from kubeproc.api import errors
from kubeproc.client import ApiClient
from kubeproc.client.events import NORMAL, WARNING, ControllerEvents
from kubeproc.controllers import deploymentrevision as revisions
from kubeproc.controllers import deploymentrollout as rollout
from kubeproc.controllers import deploymentstatus as dstatus
from kubeproc.controllers.deploymentwrites import DeploymentWrites, Kinds, scaled_message
from kubeproc.controllers.podcontrol import controller_of, controller_ref
from kubeproc.controllers.podranking import Pod
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


def _namespace_terminating(err: errors.StatusError) -> bool:
    causes = (err.details or {}).get("causes") or []
    return any(c.get("type") == "NamespaceTerminating" for c in causes)


class DeploymentSync:
    """Reconciles ``deployment`` once; ``run`` answers when to look again (or None)."""

    def __init__(
        self,
        client: ApiClient,
        kinds: Kinds,
        clock: Clock,
        *,
        events: ControllerEvents,
        deployment: dict[str, Any],
        replica_sets: Sequence[dict[str, Any]],
        pods_by_rs: dict[str, list[Pod]],
    ) -> None:
        self.clock = clock
        self.w = DeploymentWrites(
            client,
            kinds,
            clock,
            events=events,
            deployment=deployment,
            replica_sets=replica_sets,
        )
        self.pods_by_rs = pods_by_rs

    @property
    def d(self) -> dict[str, Any]:
        return self.w.d

    @property
    def rs(self) -> dict[str, dict[str, Any]]:
        return self.w.rs

    @property
    def shape(self) -> rollout.DeploymentShape:
        return rollout.DeploymentShape.of(self.w.d)

    def state(self, name: str) -> rollout.ReplicaSetState:
        return rollout.ReplicaSetState.of(self.w.rs[name])

    async def run(self) -> float | None:
        if self.d["metadata"].get("deletionTimestamp"):
            new, _ = await self.new_and_old(create=False)
            await self.sync_status(new)
            return None
        await self.check_paused_conditions()
        if (self.d.get("spec") or {}).get("paused"):
            return await self.sync_scaling()
        new, old = await self.new_and_old(create=False)
        states = [self.state(n) for n in ([new] if new else []) + old]
        if rollout.is_scaling_event(self.shape, states):
            return await self.sync_scaling()
        if self.shape.strategy == rollout.RECREATE:
            return await self.rollout_recreate()
        return await self.rollout_rolling()

    # -- the three paths ----------------------------------------------------------------

    async def sync_scaling(self) -> float | None:
        new, old = await self.new_and_old(create=False)
        sizes, refresh = rollout.scale(
            self.shape,
            self.state(new) if new else None,
            [self.state(n) for n in old],
        )
        for name, size in sizes.items():
            await self.w.scale_rs(name, size, refresh_annotations=refresh)
        if (self.d.get("spec") or {}).get("paused"):
            await self.w.cleanup(old)
        await self.sync_status(new)
        return None

    async def rollout_rolling(self) -> float | None:
        new, old = await self.new_and_old(create=True)
        assert new is not None
        shape = self.shape
        all_states = [self.state(n) for n in [new, *old]]
        target = rollout.rolling_scale_up(shape, all_states, self.state(new))
        if target is not None and await self.w.scale_rs(new, target):
            return await self.sync_rollout_status(new)
        olds = rollout.active(self.state(n) for n in old)
        scaled_down = False
        for name, size in rollout.rolling_scale_down(shape, olds, self.state(new)).items():
            scaled_down = await self.w.scale_rs(name, size) or scaled_down
        if scaled_down:
            return await self.sync_rollout_status(new)
        if dstatus.deployment_complete(self.d, self.d.get("status") or {}):
            await self.w.cleanup(old)
        return await self.sync_rollout_status(new)

    async def rollout_recreate(self) -> float | None:
        new, old = await self.new_and_old(create=False)
        scaled_down = False
        olds = rollout.active(self.state(n) for n in old)
        for name, size in rollout.recreate_scale_down(olds).items():
            scaled_down = await self.w.scale_rs(name, size) or scaled_down
        if scaled_down:
            return await self.sync_rollout_status(new)
        phases = {
            uid: [str((p.get("status") or {}).get("phase") or "") for p in pods]
            for uid, pods in self.pods_by_rs.items()
        }
        new_uid = str(self.rs[new]["metadata"].get("uid")) if new else None
        if rollout.old_pods_running([self.state(n) for n in old], phases, new_uid):
            return await self.sync_rollout_status(new)
        if new is None:
            new, old = await self.new_and_old(create=True)
            assert new is not None
        await self.w.scale_rs(new, self.shape.replicas)
        if dstatus.deployment_complete(self.d, self.d.get("status") or {}):
            await self.w.cleanup(old)
        return await self.sync_rollout_status(new)

    # -- the new ReplicaSet and revisions (getAllReplicaSetsAndSyncRevision) -------------

    async def new_and_old(self, *, create: bool) -> tuple[str | None, list[str]]:
        """The new ReplicaSet's name (None if there is none yet) and the old ones'."""
        found = revisions.find_new(self.d, list(self.rs.values()))
        new = str(found["metadata"]["name"]) if found is not None else None
        old = [n for n in self.rs if n != new]
        new_revision = revisions.max_revision([self.rs[n] for n in old]) + 1
        if new is not None:
            await self._sync_existing_new(new, new_revision)
            return new, old
        if not create:
            return None, old
        return await self._create_new(old, new_revision), old

    async def _sync_existing_new(self, name: str, new_revision: int) -> None:
        rs = self.rs[name]
        current = dict(rs["metadata"].get("annotations") or {})
        wanted = revisions.new_rs_annotations(
            self.d,
            current,
            new_revision,
            exists=True,
            replicas_annotations=self.w.replicas_annotations(),
        )
        min_ready = int((self.d.get("spec") or {}).get("minReadySeconds") or 0)
        if wanted != current or int(rs["spec"].get("minReadySeconds") or 0) != min_ready:
            body = copy.deepcopy(rs)
            body["metadata"]["annotations"] = wanted
            body["spec"]["minReadySeconds"] = min_ready
            await self.w.update_rs(body)
            # As upstream: the deployment's revision follows on the next sync.
            return
        await self.w.set_deployment_revision(current.get(revisions.REVISION, ""))
        status = self.d.setdefault("status", {})
        if dstatus.progress_deadline(self.d) is not None and not dstatus.get_condition(
            status, dstatus.PROGRESSING
        ):
            dstatus.set_condition(
                status,
                dstatus.condition(
                    dstatus.PROGRESSING,
                    "True",
                    dstatus.FOUND_NEW_RS,
                    f'Found new replica set "{name}"',
                    self.clock.now(),
                ),
            )
            await self.w.write_status()

    async def _create_new(self, old: list[str], new_revision: int) -> str:
        status = self.d.setdefault("status", {})
        collisions = status.get("collisionCount")
        template_hash = revisions.compute_hash(revisions.template_of(self.d), collisions)
        shape = self.shape
        placeholder = rollout.ReplicaSetState(name="", uid="", created="", replicas=0)
        replicas = rollout.new_rs_replicas(
            shape, [*(self.state(n) for n in old), placeholder], placeholder
        )
        body = revisions.new_replica_set(
            self.d,
            pod_template_hash=template_hash,
            replicas=replicas,
            annotations=revisions.new_rs_annotations(
                self.d,
                {},
                new_revision,
                exists=False,
                replicas_annotations=self.w.replicas_annotations(),
            ),
            owner_ref=controller_ref(self.d, self.w.kinds.deployments),
        )
        name = str(body["metadata"]["name"])
        namespace = self.d["metadata"].get("namespace")
        try:
            created = await self.w.client.create(self.w.kinds.replicasets, namespace, body)
            already_existed = False
        except errors.AlreadyExists:
            created = await self._adopt_existing_or_collide(name)
            already_existed = True
        except errors.StatusError as err:
            if not _namespace_terminating(err):
                await self._report_create_failure(name, err)
            raise
        self.rs[name] = created
        if not already_existed:
            log.info(
                "created replica set deployment=%s rs=%s replicas=%d revision=%d",
                self.w.key,
                name,
                replicas,
                new_revision,
            )
            if replicas > 0:
                await self.w.event(NORMAL, "ScalingReplicaSet", scaled_message(name, 0, replicas))
        await self.w.set_deployment_revision(str(new_revision))
        if not already_existed and dstatus.progress_deadline(self.d) is not None:
            dstatus.set_condition(
                self.d.setdefault("status", {}),
                dstatus.condition(
                    dstatus.PROGRESSING,
                    "True",
                    dstatus.NEW_RS_CREATED,
                    f'Created new replica set "{name}"',
                    self.clock.now(),
                ),
            )
            await self.w.write_status()
        return name

    async def _adopt_existing_or_collide(self, name: str) -> dict[str, Any]:
        """Our own earlier create (a slow cache), or a hash collision to count."""
        namespace = self.d["metadata"].get("namespace")
        existing = await self.w.client.get(self.w.kinds.replicasets, namespace, name)
        ref = controller_of(existing)
        if (
            ref is not None
            and ref.get("uid") == self.d["metadata"].get("uid")
            and revisions.equal_ignore_hash(
                revisions.template_of(self.d), revisions.template_of(existing)
            )
        ):
            return existing
        status = self.d.setdefault("status", {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        log.warning(
            "pod-template-hash collision deployment=%s rs=%s collision_count=%d",
            self.w.key,
            name,
            status["collisionCount"],
        )
        await self.w.write_status()
        raise errors.AlreadyExists(f'replicasets.apps "{name}" already exists')

    async def _report_create_failure(self, name: str, err: errors.StatusError) -> None:
        message = f'Failed to create new replica set "{name}": {err}'
        await self.w.event(WARNING, dstatus.FAILED_RS_CREATE, message)
        if dstatus.progress_deadline(self.d) is None:
            return
        dstatus.set_condition(
            self.d.setdefault("status", {}),
            dstatus.condition(
                dstatus.PROGRESSING, "False", dstatus.FAILED_RS_CREATE, message, self.clock.now()
            ),
        )
        try:
            await self.w.write_status()
        except errors.StatusError:
            log.debug("could not report the create failure deployment=%s", self.w.key)

    # -- status -------------------------------------------------------------------------

    async def check_paused_conditions(self) -> None:
        cond = dstatus.paused_condition(self.d, self.clock.now())
        if cond is None:
            return
        dstatus.set_condition(self.d.setdefault("status", {}), cond)
        log.info("deployment %s key=%s", cond["reason"], self.w.key)
        await self.w.write_status()

    def _all_states(self) -> list[rollout.ReplicaSetState]:
        return [self.state(n) for n in self.rs]

    async def sync_status(self, new: str | None) -> None:
        status = dstatus.calculate_status(
            self.d, self._all_states(), self.state(new) if new else None, self.clock.now()
        )
        if dstatus.status_differs(self.d, status):
            self.d["status"] = status
            await self.w.write_status()

    async def sync_rollout_status(self, new: str | None) -> float | None:
        now = self.clock.now()
        status = dstatus.rollout_status(
            self.d,
            self._all_states(),
            self.state(new) if new else None,
            self._replica_failure(new),
            now,
        )
        if not dstatus.status_differs(self.d, status):
            return dstatus.recheck_after(self.d, status, now)
        before = dstatus.get_condition(self.d.get("status") or {}, dstatus.PROGRESSING)
        after = dstatus.get_condition(status, dstatus.PROGRESSING)
        if after is not None and (before or {}).get("reason") != after.get("reason"):
            log.info(
                "deployment progressing key=%s status=%s reason=%s",
                self.w.key,
                after["status"],
                after["reason"],
            )
        self.d["status"] = status
        await self.w.write_status()
        return None

    def _replica_failure(self, new: str | None) -> dict[str, Any] | None:
        ordered = ([new] if new else []) + [n for n in self.rs if n != new]
        for name in ordered:
            for cond in (self.rs[name].get("status") or {}).get("conditions") or []:
                if cond.get("type") == dstatus.REPLICA_FAILURE:
                    found: dict[str, Any] = cond
                    return found
        return None
