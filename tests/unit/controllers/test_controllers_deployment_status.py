"""Deployment status: counts, Available, Progressing through a rollout, deadlines, pauses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubeproc.controllers.deploymentrollout import ReplicaSetState
from kubeproc.controllers.deploymentstatus import (
    calculate_status,
    get_condition,
    paused_condition,
    recheck_after,
    rollout_status,
    set_condition,
    status_differs,
)
from kubeproc.util.clock import rfc3339

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def ago(seconds: float) -> str:
    return rfc3339(NOW - dt.timedelta(seconds=seconds))


def deployment(
    replicas: int = 3,
    *,
    status: dict[str, Any] | None = None,
    deadline: int | None = 600,
    paused: bool = False,
    generation: int = 2,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1},
        },
        "paused": paused,
    }
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    return {
        "metadata": {"name": "web", "generation": generation},
        "spec": spec,
        "status": status or {},
    }


def state(name: str, replicas: int, available: int, actual: int | None = None) -> ReplicaSetState:
    return ReplicaSetState(
        name=name,
        uid=name,
        created="",
        replicas=replicas,
        actual=replicas if actual is None else actual,
        ready=available,
        available=available,
    )


def progressing(reason: str, status: str = "True", updated: float = 10) -> dict[str, Any]:
    return {
        "type": "Progressing",
        "status": status,
        "lastUpdateTime": ago(updated),
        "lastTransitionTime": ago(100),
        "reason": reason,
        "message": "m",
    }


@pytest.mark.parametrize(
    ("sets", "counts", "available"),
    [
        (
            [state("new", 3, 3)],
            {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3},
            ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        ),
        (
            [state("new", 2, 0), state("old", 2, 1)],
            {"replicas": 4, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1},
            (
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            ),
        ),
    ],
)
def test_counts_and_available_condition(
    sets: list[ReplicaSetState], counts: dict[str, int], available: tuple[str, str, str]
) -> None:
    """Counts sum over ReplicaSets; Available needs replicas - maxUnavailable available."""
    status = calculate_status(deployment(), sets, sets[0], NOW)
    unavailable = sum(s.replicas for s in sets) - counts["availableReplicas"]
    assert {k: status.get(k, 0) for k in counts} == counts
    assert status.get("unavailableReplicas", 0) == max(unavailable, 0)
    assert status["observedGeneration"] == 2
    cond = get_condition(status, "Available")
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == available
    assert cond["lastUpdateTime"] == cond["lastTransitionTime"] == rfc3339(NOW)


def test_set_condition_keeps_transition_time_while_status_holds() -> None:
    """Same status and reason: untouched; same status, new reason: transition time kept."""
    status: dict[str, Any] = {"conditions": [progressing("ReplicaSetUpdated")]}
    same = progressing("ReplicaSetUpdated", updated=0)
    set_condition(status, same)
    assert status["conditions"][0]["lastUpdateTime"] == ago(10)
    set_condition(status, {**same, "reason": "NewReplicaSetAvailable"})
    (cond,) = status["conditions"]
    assert (cond["reason"], cond["lastTransitionTime"]) == ("NewReplicaSetAvailable", ago(100))


@pytest.mark.parametrize(
    ("old_status", "sets", "deadline", "want", "updated_now"),
    [
        (
            {"replicas": 3, "updatedReplicas": 3, "conditions": [progressing("ReplicaSetUpdated")]},
            [state("web-1", 3, 3)],
            600,
            ("True", "NewReplicaSetAvailable", 'ReplicaSet "web-1" has successfully progressed.'),
            True,
        ),
        (
            {
                "replicas": 4,
                "updatedReplicas": 1,
                "conditions": [progressing("NewReplicaSetCreated")],
            },
            [state("web-1", 2, 0), state("web-0", 2, 2)],
            600,
            ("True", "ReplicaSetUpdated", 'ReplicaSet "web-1" is progressing.'),
            True,
        ),
        (
            {
                "replicas": 4,
                "updatedReplicas": 2,
                "readyReplicas": 2,
                "availableReplicas": 2,
                "conditions": [progressing("ReplicaSetUpdated", updated=30)],
            },
            [state("web-1", 2, 0), state("web-0", 2, 2)],
            20,
            ("False", "ProgressDeadlineExceeded", 'ReplicaSet "web-1" has timed out progressing.'),
            True,
        ),
        (
            {
                "replicas": 4,
                "updatedReplicas": 2,
                "readyReplicas": 2,
                "availableReplicas": 2,
                "conditions": [progressing("ReplicaSetUpdated", updated=30)],
            },
            [state("web-1", 2, 0), state("web-0", 2, 2)],
            60,
            ("True", "ReplicaSetUpdated", "m"),
            False,
        ),
    ],
)
def test_progressing_condition_through_a_rollout(
    old_status: dict[str, Any],
    sets: list[ReplicaSetState],
    deadline: int,
    want: tuple[str, str, str],
    updated_now: bool,
) -> None:
    """Progress moves lastUpdateTime; completion and a passed deadline change the reason."""
    d = deployment(status={"observedGeneration": 2, **old_status}, deadline=deadline)
    status = rollout_status(d, sets, sets[0], None, NOW)
    cond = get_condition(status, "Progressing")
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == want
    assert (cond["lastUpdateTime"] == rfc3339(NOW)) is updated_now
    if want[0] == "True":
        assert cond["lastTransitionTime"] == ago(100)


def test_no_deadline_means_no_progressing_condition_and_failures_are_promoted() -> None:
    """Without progressDeadlineSeconds Progressing goes; a ReplicaFailure is copied up."""
    d = deployment(status={"conditions": [progressing("ReplicaSetUpdated")]}, deadline=None)
    failure = {
        "type": "ReplicaFailure",
        "status": "True",
        "lastTransitionTime": ago(5),
        "reason": "FailedCreate",
        "message": "quota",
    }
    status = rollout_status(d, [state("web-1", 1, 0)], None, failure, NOW)
    assert get_condition(status, "Progressing") is None
    promoted = get_condition(status, "ReplicaFailure")
    assert promoted is not None
    assert (promoted["reason"], promoted["lastUpdateTime"]) == ("FailedCreate", ago(5))


@pytest.mark.parametrize(
    ("paused", "current", "want"),
    [
        (True, None, ("Unknown", "DeploymentPaused", "Deployment is paused")),
        (True, "DeploymentPaused", None),
        (False, "DeploymentPaused", ("Unknown", "DeploymentResumed", "Deployment is resumed")),
        (False, "ReplicaSetUpdated", None),
        (True, "ProgressDeadlineExceeded", None),
    ],
)
def test_pause_and_resume_conditions(
    paused: bool, current: str | None, want: tuple[str, str, str] | None
) -> None:
    """Pausing and resuming mark Progressing Unknown, never over a timeout."""
    conditions = [progressing(current)] if current else []
    d = deployment(paused=paused, status={"conditions": conditions})
    cond = paused_condition(d, NOW)
    got = None if cond is None else (cond["status"], cond["reason"], cond["message"])
    assert got == want


@pytest.mark.parametrize(
    ("updated", "deadline", "reason", "want"),
    [
        (10, 60, "ReplicaSetUpdated", 51.0),
        (59, 60, "ReplicaSetUpdated", 2.0),
        (61, 60, "ReplicaSetUpdated", 0.1),
        (10, 60, "ProgressDeadlineExceeded", None),
    ],
)
def test_recheck_after_the_deadline(
    updated: float, deadline: int, reason: str, want: float | None
) -> None:
    """A stuck rollout is looked at again a second past lastUpdateTime + deadline."""
    d = deployment(deadline=deadline, status={"conditions": [progressing(reason, updated=updated)]})
    got = recheck_after(d, {"replicas": 1}, NOW)
    assert got == (None if want is None else pytest.approx(want))


def test_status_differs_ignores_zero_counts_only() -> None:
    """Omitted zero counts equal explicit zeros; any real change differs."""
    d = deployment(status={"replicas": 2, "observedGeneration": 2})
    assert not status_differs(d, {"replicas": 2, "observedGeneration": 2, "readyReplicas": 0})
    assert status_differs(d, {"replicas": 3, "observedGeneration": 2})
