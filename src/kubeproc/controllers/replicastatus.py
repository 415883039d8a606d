"""The status a ReplicaSet or ReplicationController reports, computed from its pods.

Owns upstream's ``calculateStatus`` and the "has it changed" test of
``updateReplicaSetStatus``: ``replicas`` (active pods the owner controls),
``fullyLabeledReplicas`` (of those, pods carrying every label of the template),
``readyReplicas``, ``availableReplicas`` (ready for longer than ``minReadySeconds``),
``observedGeneration``, and the ``ReplicaFailure`` condition while creating or deleting
pods fails (``FailedCreate``/``FailedDelete``, the API error as message). Pure functions:
the controller writes the result to the status subresource only when it differs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from kubeproc.controllers.podranking import Pod, is_pod_available, is_pod_ready
from kubeproc.util.clock import rfc3339

REPLICA_FAILURE = "ReplicaFailure"

# Status fields Go omits when zero (``replicas`` itself is always written).
_COUNTS = ("fullyLabeledReplicas", "readyReplicas", "availableReplicas")


def desired_replicas(owner: dict[str, Any]) -> int:
    replicas = owner.get("spec", {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def min_ready_seconds(owner: dict[str, Any]) -> int:
    return int(owner.get("spec", {}).get("minReadySeconds") or 0)


def _template_labels(owner: dict[str, Any]) -> dict[str, str]:
    template = owner.get("spec", {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {})


def calculate_status(
    owner: dict[str, Any],
    pods: Sequence[Pod],
    manage_error: Exception | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The status ``owner`` should report, given the active pods it controls."""
    status: dict[str, Any] = dict(owner.get("status") or {})
    template_labels = _template_labels(owner)
    min_ready = min_ready_seconds(owner)
    counts = dict.fromkeys(_COUNTS, 0)
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in template_labels.items()):
            counts["fullyLabeledReplicas"] += 1
        if is_pod_ready(pod):
            counts["readyReplicas"] += 1
            if is_pod_available(pod, min_ready, now):
                counts["availableReplicas"] += 1

    conditions = [dict(c) for c in status.get("conditions") or []]
    failing = next((c for c in conditions if c.get("type") == REPLICA_FAILURE), None)
    if manage_error is not None and failing is None:
        diff = len(pods) - desired_replicas(owner)
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        conditions.append(
            {
                "type": REPLICA_FAILURE,
                "status": "True",
                "lastTransitionTime": rfc3339(now),
                "reason": reason,
                "message": str(manage_error),
            }
        )
    elif manage_error is None and failing is not None:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)

    status["replicas"] = len(pods)
    for name, value in counts.items():
        if value:
            status[name] = value
        else:
            status.pop(name, None)
    return status


def status_changed(owner: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``new`` must be written (counts, conditions, or an unobserved generation)."""
    old = owner.get("status") or {}
    if int(old.get("replicas") or 0) != int(new.get("replicas") or 0):
        return True
    if any(int(old.get(f) or 0) != int(new.get(f) or 0) for f in _COUNTS):
        return True
    if (old.get("conditions") or []) != (new.get("conditions") or []):
        return True
    return int(owner["metadata"].get("generation") or 0) != int(old.get("observedGeneration") or 0)


def with_observed_generation(owner: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    generation = owner["metadata"].get("generation")
    return {**status, "observedGeneration": generation} if generation else dict(status)
