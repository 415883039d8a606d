"""How big each of a Deployment's ReplicaSets should be next: rolling, recreate, scaling.

Owns the arithmetic of upstream's ``rolling.go``, ``recreate.go`` and the ``scale`` step of
``sync.go``: ``maxSurge``/``maxUnavailable`` resolved against ``spec.replicas`` (surge
percentages round up, unavailability percentages round down, and two zeros become one
unavailable), how far the new ReplicaSet may grow, how many old pods may go (unhealthy
ones first, then oldest ReplicaSets first while availability stays above the minimum),
and proportional scaling: a ``kubectl scale`` during a rollout (or of a paused deployment)
spreads the difference over the active ReplicaSets by their share of ``max-replicas``,
leftovers to the largest.

Every function is pure over ``ReplicaSetState`` snapshots and answers with the sizes to
write (``{name: replicas}``); ``deployment`` makes the writes and records nothing here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kubeproc.controllers.deploymentrevision import DESIRED_REPLICAS, MAX_REPLICAS

RECREATE = "Recreate"
ROLLING_UPDATE = "RollingUpdate"


@dataclass(frozen=True)
class ReplicaSetState:
    """What the planning needs of one ReplicaSet."""

    name: str
    uid: str
    created: str
    replicas: int
    """spec.replicas"""
    actual: int = 0
    """status.replicas"""
    ready: int = 0
    available: int = 0
    desired_annotation: int | None = None
    max_annotation: int | None = None

    @classmethod
    def of(cls, rs: dict[str, Any]) -> ReplicaSetState:
        meta, status = rs["metadata"], rs.get("status") or {}
        annotations = meta.get("annotations") or {}
        return cls(
            name=str(meta["name"]),
            uid=str(meta.get("uid", "")),
            created=str(meta.get("creationTimestamp") or ""),
            replicas=int((rs.get("spec") or {}).get("replicas") or 0),
            actual=int(status.get("replicas") or 0),
            ready=int(status.get("readyReplicas") or 0),
            available=int(status.get("availableReplicas") or 0),
            desired_annotation=_int_or_none(annotations.get(DESIRED_REPLICAS)),
            max_annotation=_int_or_none(annotations.get(MAX_REPLICAS)),
        )

    def resized(self, replicas: int) -> ReplicaSetState:
        return dataclasses.replace(self, replicas=replicas)


@dataclass(frozen=True)
class DeploymentShape:
    """The parts of a Deployment's spec and status that sizing depends on."""

    replicas: int
    strategy: str = ROLLING_UPDATE
    max_surge: int | str | None = "25%"
    max_unavailable: int | str | None = "25%"
    status_replicas: int = 0

    @classmethod
    def of(cls, deployment: dict[str, Any]) -> DeploymentShape:
        spec = deployment.get("spec") or {}
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        replicas = spec.get("replicas")
        return cls(
            replicas=1 if replicas is None else int(replicas),
            strategy=str(strategy.get("type") or ROLLING_UPDATE),
            max_surge=rolling.get("maxSurge"),
            max_unavailable=rolling.get("maxUnavailable"),
            status_replicas=int((deployment.get("status") or {}).get("replicas") or 0),
        )

    @property
    def rolling(self) -> bool:
        return self.strategy == ROLLING_UPDATE


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def scaled_value(value: int | str | None, total: int, *, round_up: bool) -> int:
    """An int-or-percent against ``total`` (``GetScaledValueFromIntOrPercent``)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        return int(value)
    scaled = int(value[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(d: DeploymentShape) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as pod counts; never both zero."""
    surge = scaled_value(d.max_surge, d.replicas, round_up=True)
    unavailable = scaled_value(d.max_unavailable, d.replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: DeploymentShape) -> int:
    return resolve_fenceposts(d)[0] if d.rolling else 0


def max_unavailable(d: DeploymentShape) -> int:
    if not d.rolling or d.replicas == 0:
        return 0
    return min(resolve_fenceposts(d)[1], d.replicas)


def min_available(d: DeploymentShape) -> int:
    return d.replicas - max_unavailable(d) if d.rolling else 0


def active(replica_sets: Iterable[ReplicaSetState | None]) -> list[ReplicaSetState]:
    return [rs for rs in replica_sets if rs is not None and rs.replicas > 0]


def total_replicas(replica_sets: Iterable[ReplicaSetState | None]) -> int:
    return sum(rs.replicas for rs in replica_sets if rs is not None)


def new_rs_replicas(
    d: DeploymentShape, all_rs: Sequence[ReplicaSetState], new: ReplicaSetState
) -> int:
    """How many replicas the new ReplicaSet may have now (``NewRSNewReplicas``)."""
    if not d.rolling:
        return d.replicas
    ceiling = d.replicas + scaled_value(d.max_surge, d.replicas, round_up=True)
    current = total_replicas(all_rs)
    if current >= ceiling:
        return new.replicas
    return new.replicas + min(ceiling - current, d.replicas - new.replicas)


def is_scaling_event(d: DeploymentShape, replica_sets: Iterable[ReplicaSetState | None]) -> bool:
    """An active ReplicaSet was sized for another ``spec.replicas`` than the current one."""
    return any(
        rs.desired_annotation is not None and rs.desired_annotation != d.replicas
        for rs in active(replica_sets)
    )


def is_saturated(d: DeploymentShape, rs: ReplicaSetState | None) -> bool:
    return (
        rs is not None
        and rs.replicas == d.replicas
        and rs.desired_annotation == d.replicas
        and rs.available == d.replicas
    )


def _sort_created(replica_sets: Iterable[ReplicaSetState]) -> list[ReplicaSetState]:
    return sorted(replica_sets, key=lambda rs: (rs.created, rs.name))


# -- rolling update ---------------------------------------------------------------------


def rolling_scale_up(
    d: DeploymentShape, all_rs: Sequence[ReplicaSetState], new: ReplicaSetState
) -> int | None:
    """The new ReplicaSet's next size, or None when it stays (``reconcileNewReplicaSet``)."""
    if new.replicas == d.replicas:
        return None
    if new.replicas > d.replicas:
        return d.replicas
    target = new_rs_replicas(d, all_rs, new)
    return None if target == new.replicas else target


def rolling_scale_down(
    d: DeploymentShape, old_active: Sequence[ReplicaSetState], new: ReplicaSetState
) -> dict[str, int]:
    """Old ReplicaSets' next sizes (``reconcileOldReplicaSets``).

    At most ``all - minAvailable - newUnavailable`` pods go: first unhealthy ones (a
    ReplicaSet's replicas beyond its available ones, oldest ReplicaSet first), then
    available ones as long as the available count stays above the minimum."""
    olds = _sort_created(old_active)
    if total_replicas(olds) == 0:
        return {}
    all_count = total_replicas([*olds, new])
    floor = min_available(d)
    new_unavailable = new.replicas - new.available
    budget = all_count - floor - new_unavailable
    if budget <= 0:
        return {}
    sizes: dict[str, int] = {}
    cleaned = 0
    for i, rs in enumerate(olds):
        if cleaned >= budget:
            break
        if rs.replicas in (0, rs.available):
            continue
        cut = min(budget - cleaned, rs.replicas - rs.available)
        olds[i] = rs.resized(rs.replicas - cut)
        sizes[rs.name] = olds[i].replicas
        cleaned += cut
    available = sum(rs.available for rs in [*olds, new])
    if available <= floor:
        return sizes
    allowed, taken = available - floor, 0
    for rs in olds:
        if taken >= allowed:
            break
        if rs.replicas == 0:
            continue
        cut = min(rs.replicas, allowed - taken)
        sizes[rs.name] = rs.replicas - cut
        taken += cut
    return sizes


# -- recreate -------------------------------------------------------------------------


def recreate_scale_down(old_active: Sequence[ReplicaSetState]) -> dict[str, int]:
    """Every old ReplicaSet with replicas goes to zero before anything new starts."""
    return {rs.name: 0 for rs in old_active if rs.replicas != 0}


def old_pods_running(
    old: Sequence[ReplicaSetState], pod_phases_by_rs: dict[str, list[str]], new_uid: str | None
) -> bool:
    """Whether an old ReplicaSet still reports pods, or a pod of one is not finished."""
    if sum(rs.actual for rs in old) > 0:
        return True
    for uid, phases in pod_phases_by_rs.items():
        if uid == new_uid:
            continue
        if any(phase not in ("Succeeded", "Failed") for phase in phases):
            return True
    return False


# -- scaling (paused, or a replica change mid-rollout) ---------------------------------


def _proportion(rs: ReplicaSetState, d: DeploymentShape, to_add: int, added: int) -> int:
    if rs.replicas == 0 or to_add in (0, added):
        return 0
    if d.replicas == 0:
        fraction = -rs.replicas
    else:
        target = d.replicas + max_surge(d)
        annotated = rs.max_annotation if rs.max_annotation is not None else d.status_replicas
        fraction = (
            math.floor(rs.replicas * target / annotated + 0.5) - rs.replicas if annotated else 0
        )
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def scale(
    d: DeploymentShape, new: ReplicaSetState | None, old: Sequence[ReplicaSetState]
) -> tuple[dict[str, int], bool]:
    """Sizes after a scaling event (upstream's ``scale``): ``({name: replicas}, refresh)``.

    ``refresh`` says every listed ReplicaSet gets its replica annotations rewritten even
    when its size stays (the proportional case); otherwise only resized ones are written.
    """
    candidates = [rs for rs in [new, *old] if rs is not None]
    live = active(candidates)
    if len(live) <= 1:
        target = live[0] if live else _active_or_latest(new, old)
        if target is None or target.replicas == d.replicas:
            return {}, False
        return {target.name: d.replicas}, False
    if is_saturated(d, new):
        return {rs.name: 0 for rs in active(old)}, False
    if not d.rolling:
        return {}, False
    allowed = d.replicas + max_surge(d) if d.replicas > 0 else 0
    to_add = allowed - total_replicas(live)
    if to_add > 0:
        # Larger first; among equals the newer grows first.
        live.sort(key=lambda rs: (rs.created, rs.name), reverse=True)
        live.sort(key=lambda rs: -rs.replicas)
    elif to_add < 0:
        # Larger first; among equals the older shrinks first.
        live.sort(key=lambda rs: (rs.created, rs.name))
        live.sort(key=lambda rs: -rs.replicas)
    sizes: dict[str, int] = {}
    added = 0
    for rs in live:
        if to_add != 0:
            part = _proportion(rs, d, to_add, added)
            sizes[rs.name] = rs.replicas + part
            added += part
        else:
            sizes[rs.name] = rs.replicas
    if to_add != 0 and live:
        first = live[0].name
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes, True


def _active_or_latest(
    new: ReplicaSetState | None, old: Sequence[ReplicaSetState]
) -> ReplicaSetState | None:
    """With nothing active, the new ReplicaSet, else the newest old one."""
    if new is not None:
        return new
    newest = sorted(old, key=lambda rs: (rs.created, rs.name), reverse=True)
    return newest[0] if newest else None
