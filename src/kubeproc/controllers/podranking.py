"""Which pods count, which are ready or available, and which to delete first.

Owns the pod predicates the replica controllers share (upstream's ``IsPodActive``,
``IsPodReady``, ``IsPodAvailable``) and the deletion order of ``ActivePodsWithRanks``
with ``getPodsToDelete`` on top of it. Pure functions over pod JSON, so the order is
tested with tables and read beside ``pkg/controller/controller_utils.go``.

The order, most deletable first: unassigned before assigned; Pending, then Unknown, then
Running; not ready before ready; lower ``controller.kubernetes.io/pod-deletion-cost``
first; more co-located sibling pods first; for two ready pods, the more recently ready
first; more container restarts first; newer first. Times compare on upstream's
logarithmic scale (``LogarithmicScaleDown``, on by default): two pods whose ages fall in
the same power-of-two bucket are ordered by uid, a stable pseudo-random choice.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from kubeproc.util.clock import parse_rfc3339

Pod = dict[str, Any]

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def is_pod_active(pod: Pod) -> bool:
    """Not Succeeded, not Failed, not being deleted."""
    phase = pod.get("status", {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def _ready_condition(pod: Pod) -> dict[str, Any] | None:
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            found: dict[str, Any] = cond
            return found
    return None


def is_pod_ready(pod: Pod) -> bool:
    cond = _ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def pod_ready_time(pod: Pod) -> dt.datetime | None:
    """When the pod last became ready (the Ready condition's transition), if it is."""
    cond = _ready_condition(pod)
    if cond is None or cond.get("status") != "True" or not cond.get("lastTransitionTime"):
        return None
    return parse_rfc3339(str(cond["lastTransitionTime"]))


def is_pod_available(pod: Pod, min_ready_seconds: int, now: dt.datetime) -> bool:
    """Ready, and (with ``minReadySeconds``) ready for longer than that."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    since = pod_ready_time(pod)
    return since is not None and since + dt.timedelta(seconds=min_ready_seconds) < now


def available_after(pod: Pod, min_ready_seconds: int, now: dt.datetime) -> float | None:
    """Seconds until a ready pod becomes available, or None if it is or cannot yet."""
    since = pod_ready_time(pod)
    if since is None or min_ready_seconds == 0 or is_pod_available(pod, min_ready_seconds, now):
        return None
    return (since + dt.timedelta(seconds=min_ready_seconds) - now).total_seconds()


def _deletion_cost(pod: Pod) -> int:
    raw = (pod["metadata"].get("annotations") or {}).get(DELETION_COST_ANNOTATION)
    try:
        cost = int(str(raw))
    except ValueError:
        return 0
    return cost if -(2**31) <= cost < 2**31 else 0


def _max_restarts(pod: Pod) -> int:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return max((int(s.get("restartCount", 0)) for s in statuses), default=0)


def _created(pod: Pod) -> dt.datetime | None:
    raw = pod["metadata"].get("creationTimestamp")
    return parse_rfc3339(str(raw)) if raw else None


def _log_rank(moment: dt.datetime, now: dt.datetime) -> int:
    nanos = (now - moment) / dt.timedelta(microseconds=1) * 1000
    return int(math.log2(nanos)) if nanos > 0 else -1


def _newer_first(
    a: Pod, b: Pod, ta: dt.datetime | None, tb: dt.datetime | None, now: dt.datetime | None
) -> bool | None:
    """``a`` before ``b`` by time (absent first, then newer), None when they tie."""
    if ta == tb:
        return None
    if ta is None or tb is None:
        return ta is None
    if now is None:
        return ta > tb
    diff = _log_rank(ta, now) - _log_rank(tb, now)
    if diff == 0:
        return str(a["metadata"].get("uid", "")) < str(b["metadata"].get("uid", ""))
    return diff < 0


def delete_before(a: Pod, b: Pod, rank_a: int, rank_b: int, now: dt.datetime | None) -> bool:
    """True when ``a`` should be deleted before ``b`` (upstream's ``ActivePodsWithRanks.Less``)."""
    node_a, node_b = a.get("spec", {}).get("nodeName", ""), b.get("spec", {}).get("nodeName", "")
    if node_a != node_b and (not node_a or not node_b):
        return not node_a
    phase_a = _PHASE_ORDINAL.get(a.get("status", {}).get("phase", ""), 0)
    phase_b = _PHASE_ORDINAL.get(b.get("status", {}).get("phase", ""), 0)
    if phase_a != phase_b:
        return phase_a < phase_b
    ready_a, ready_b = is_pod_ready(a), is_pod_ready(b)
    if ready_a != ready_b:
        return not ready_a
    cost_a, cost_b = _deletion_cost(a), _deletion_cost(b)
    if cost_a != cost_b:
        return cost_a < cost_b
    if rank_a != rank_b:
        return rank_a > rank_b
    if ready_a and ready_b:
        by_ready = _newer_first(a, b, pod_ready_time(a), pod_ready_time(b), now)
        if by_ready is not None:
            return by_ready
    restarts_a, restarts_b = _max_restarts(a), _max_restarts(b)
    if restarts_a != restarts_b:
        return restarts_a > restarts_b
    by_age = _newer_first(a, b, _created(a), _created(b), now)
    return bool(by_age)


def rank_for_deletion(
    pods: Sequence[Pod], related: Sequence[Pod], now: dt.datetime | None
) -> list[Pod]:
    """``pods`` sorted most deletable first; ranks count active ``related`` pods per node."""
    on_node = Counter(p.get("spec", {}).get("nodeName", "") for p in related if is_pod_active(p))
    ranked = [(p, on_node[p.get("spec", {}).get("nodeName", "")]) for p in pods]

    def compare(x: tuple[Pod, int], y: tuple[Pod, int]) -> int:
        if delete_before(x[0], y[0], x[1], y[1], now):
            return -1
        if delete_before(y[0], x[0], y[1], x[1], now):
            return 1
        return 0

    return [p for p, _ in sorted(ranked, key=functools.cmp_to_key(compare))]


def pods_to_delete(
    pods: Sequence[Pod], related: Sequence[Pod], diff: int, now: dt.datetime | None
) -> list[Pod]:
    """The ``diff`` pods to delete (upstream's ``getPodsToDelete``)."""
    if diff >= len(pods):
        return list(pods)
    return rank_for_deletion(pods, related, now)[:diff]
