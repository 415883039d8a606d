"""The status a Deployment reports: replica counts and the Available/Progressing conditions.

Owns upstream's ``calculateStatus``, ``syncRolloutStatus``, ``checkPausedConditions`` and
``requeueStuckDeployment``, with their messages word for word, since ``kubectl rollout
status`` and ``describe`` read them:

- counts summed over the ReplicaSets (``updatedReplicas`` is the new one's pods;
  ``unavailableReplicas`` is desired-sized minus available, never negative);
- ``Available`` is True while at least ``replicas - maxUnavailable`` pods are available;
- ``Progressing`` (only with a progress deadline) moves through NewReplicaSetCreated /
  FoundNewReplicaSet, ReplicaSetUpdated on any progress (``lastUpdateTime`` moves,
  ``lastTransitionTime`` stays while the status stays True), NewReplicaSetAvailable when
  complete, ProgressDeadlineExceeded when ``lastUpdateTime + progressDeadlineSeconds`` has
  passed, and DeploymentPaused/DeploymentResumed (Unknown) around a pause;
- a ReplicaSet's ``ReplicaFailure`` condition is promoted to the deployment.

A condition is replaced only when its status or reason changes, and keeps its
``lastTransitionTime`` while its status does not. Time comes from the caller (the injected
clock). Pure functions over JSON status dicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from kubeproc.controllers.deploymentrollout import DeploymentShape, ReplicaSetState, max_unavailable
from kubeproc.util.clock import parse_rfc3339, rfc3339

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"

NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
FAILED_RS_CREATE = "ReplicaSetCreateError"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

# A deadline of MaxInt32 means "none", as upstream's HasProgressDeadline has it.
_NO_DEADLINE = 2**31 - 1

_COUNTS = (
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
)


def progress_deadline(deployment: dict[str, Any]) -> int | None:
    value = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
    if value is None or int(value) == _NO_DEADLINE:
        return None
    return int(value)


def condition(
    ctype: str, status: str, reason: str, message: str, now: dt.datetime
) -> dict[str, Any]:
    stamp = rfc3339(now)
    return {
        "type": ctype,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(status: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == ctype:
            found: dict[str, Any] = cond
            return found
    return None


def set_condition(status: dict[str, Any], cond: dict[str, Any]) -> None:
    """Put ``cond`` in ``status`` unless one of the same status and reason is there."""
    current = get_condition(status, cond["type"])
    if current is not None and (current.get("status"), current.get("reason")) == (
        cond["status"],
        cond["reason"],
    ):
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status["conditions"] = [*(status.get("conditions") or []), cond]


def remove_condition(status: dict[str, Any], ctype: str) -> None:
    kept = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def calculate_status(
    deployment: dict[str, Any],
    all_rs: Sequence[ReplicaSetState],
    new: ReplicaSetState | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """Counts, ``observedGeneration`` and the Available condition (``calculateStatus``)."""
    shape = DeploymentShape.of(deployment)
    old = deployment.get("status") or {}
    available = sum(rs.available for rs in all_rs)
    counts = {
        "replicas": sum(rs.actual for rs in all_rs),
        "updatedReplicas": new.actual if new is not None else 0,
        "readyReplicas": sum(rs.ready for rs in all_rs),
        "availableReplicas": available,
        "unavailableReplicas": max(sum(rs.replicas for rs in all_rs) - available, 0),
    }
    status: dict[str, Any] = {}
    generation = deployment["metadata"].get("generation")
    if generation:
        status["observedGeneration"] = generation
    status.update({k: v for k, v in counts.items() if v})
    if old.get("conditions"):
        status["conditions"] = [dict(c) for c in old["conditions"]]
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if available >= shape.replicas - max_unavailable(shape):
        cond = condition(
            AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.", now
        )
    else:
        cond = condition(
            AVAILABLE,
            "False",
            MIN_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    set_condition(status, cond)
    return status


def _count(status: dict[str, Any], name: str) -> int:
    return int(status.get(name) or 0)


def deployment_complete(deployment: dict[str, Any], status: dict[str, Any]) -> bool:
    replicas = DeploymentShape.of(deployment).replicas
    return (
        _count(status, "updatedReplicas") == replicas
        and _count(status, "replicas") == replicas
        and _count(status, "availableReplicas") == replicas
        and _count(status, "observedGeneration")
        >= int(deployment["metadata"].get("generation") or 0)
    )


def deployment_progressing(deployment: dict[str, Any], new: dict[str, Any]) -> bool:
    old = deployment.get("status") or {}
    old_olds = _count(old, "replicas") - _count(old, "updatedReplicas")
    new_olds = _count(new, "replicas") - _count(new, "updatedReplicas")
    return (
        _count(new, "updatedReplicas") > _count(old, "updatedReplicas")
        or new_olds < old_olds
        or _count(new, "readyReplicas") > _count(old, "readyReplicas")
        or _count(new, "availableReplicas") > _count(old, "availableReplicas")
    )


def deployment_timed_out(
    deployment: dict[str, Any], status: dict[str, Any], now: dt.datetime
) -> bool:
    deadline = progress_deadline(deployment)
    cond = get_condition(status, PROGRESSING)
    if deadline is None or cond is None:
        return False
    if cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_rfc3339(str(cond.get("lastUpdateTime")))
    return since + dt.timedelta(seconds=deadline) < now


def rollout_status(
    deployment: dict[str, Any],
    all_rs: Sequence[ReplicaSetState],
    new: ReplicaSetState | None,
    replica_failure: dict[str, Any] | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The status after a rollout step (``syncRolloutStatus``)."""
    name = deployment["metadata"]["name"]
    status = calculate_status(deployment, all_rs, new, now)
    has_deadline = progress_deadline(deployment) is not None
    if not has_deadline:
        remove_condition(status, PROGRESSING)
    current = get_condition(deployment.get("status") or {}, PROGRESSING)
    complete_already = (
        _count(status, "replicas") == _count(status, "updatedReplicas")
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE
    )
    subject = f'ReplicaSet "{new.name}"' if new is not None else f'Deployment "{name}"'
    if has_deadline and not complete_already:
        if deployment_complete(deployment, status):
            set_condition(
                status,
                condition(
                    PROGRESSING,
                    "True",
                    NEW_RS_AVAILABLE,
                    f"{subject} has successfully progressed.",
                    now,
                ),
            )
        elif deployment_progressing(deployment, status):
            cond = condition(PROGRESSING, "True", RS_UPDATED, f"{subject} is progressing.", now)
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif deployment_timed_out(deployment, status, now):
            set_condition(
                status,
                condition(
                    PROGRESSING,
                    "False",
                    TIMED_OUT,
                    f"{subject} has timed out progressing.",
                    now,
                ),
            )
    if replica_failure is not None:
        set_condition(status, replica_failure_condition(replica_failure))
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def replica_failure_condition(rs_condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": REPLICA_FAILURE,
        "status": rs_condition.get("status"),
        "lastUpdateTime": rs_condition.get("lastTransitionTime"),
        "lastTransitionTime": rs_condition.get("lastTransitionTime"),
        "reason": rs_condition.get("reason"),
        "message": rs_condition.get("message"),
    }


def paused_condition(deployment: dict[str, Any], now: dt.datetime) -> dict[str, Any] | None:
    """The Progressing condition a pause or resume calls for, if it is not there yet."""
    if progress_deadline(deployment) is None:
        return None
    current = get_condition(deployment.get("status") or {}, PROGRESSING)
    if current is not None and current.get("reason") == TIMED_OUT:
        return None
    paused_there = current is not None and current.get("reason") == PAUSED
    if (deployment.get("spec") or {}).get("paused"):
        if not paused_there:
            return condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now)
    elif paused_there:
        return condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now)
    return None


def recheck_after(
    deployment: dict[str, Any], status: dict[str, Any], now: dt.datetime
) -> float | None:
    """Seconds until the deadline should be checked again, None if it need not be.

    As ``requeueStuckDeployment``: a second past the deadline; with less than a second
    left, shortly after it (upstream retries with back-off there, we just aim past it)."""
    deadline = progress_deadline(deployment)
    current = get_condition(deployment.get("status") or {}, PROGRESSING)
    if deadline is None or current is None:
        return None
    if deployment_complete(deployment, status) or current.get("reason") == TIMED_OUT:
        return None
    since = parse_rfc3339(str(current.get("lastUpdateTime")))
    after = (since + dt.timedelta(seconds=deadline) - now).total_seconds()
    return max(after, 0.0) + (1.0 if after >= 1 else 0.1)


def status_differs(deployment: dict[str, Any], status: dict[str, Any]) -> bool:
    old = dict(deployment.get("status") or {})
    return _comparable(old) != _comparable(status)


def _comparable(status: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in status.items() if v not in (None, 0, [], {})}
    for name in _COUNTS:
        out.pop(name, None)
        if status.get(name):
            out[name] = int(status[name])
    return out
