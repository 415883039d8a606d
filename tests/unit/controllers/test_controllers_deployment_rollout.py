"""Deployment sizing: fenceposts, rolling steps, recreate, proportional scaling (tables)."""

from __future__ import annotations

import pytest

from kubeproc.controllers.deploymentrollout import (
    DeploymentShape,
    ReplicaSetState,
    is_scaling_event,
    max_surge,
    max_unavailable,
    new_rs_replicas,
    old_pods_running,
    recreate_scale_down,
    resolve_fenceposts,
    rolling_scale_down,
    rolling_scale_up,
    scale,
    scaled_value,
)


def rs(
    name: str,
    replicas: int,
    *,
    available: int | None = None,
    actual: int | None = None,
    created: str = "2026-01-01T00:00:00Z",
    desired: int | None = None,
    maximum: int | None = None,
) -> ReplicaSetState:
    return ReplicaSetState(
        name=name,
        uid=f"uid-{name}",
        created=created,
        replicas=replicas,
        actual=replicas if actual is None else actual,
        ready=replicas if available is None else available,
        available=replicas if available is None else available,
        desired_annotation=desired,
        max_annotation=maximum,
    )


def rolling(replicas: int, surge: int | str, unavailable: int | str) -> DeploymentShape:
    return DeploymentShape(replicas=replicas, max_surge=surge, max_unavailable=unavailable)


@pytest.mark.parametrize(
    ("value", "total", "round_up", "want"),
    [
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("50%", 5, True, 3),
        ("50%", 5, False, 2),
        ("1%", 2, True, 1),
        ("1%", 2, False, 0),
        (2, 10, False, 2),
        ("0%", 7, True, 0),
        (None, 7, True, 0),
    ],
)
def test_int_or_percent_rounds_surge_up_and_unavailability_down(
    value: int | str | None, total: int, round_up: bool, want: int
) -> None:
    """Percentages scale against spec.replicas: surge rounds up, unavailability down."""
    assert scaled_value(value, total, round_up=round_up) == want


@pytest.mark.parametrize(
    ("shape", "want", "surge", "unavailable"),
    [
        (rolling(10, "25%", "25%"), (3, 2), 3, 2),
        (rolling(1, "25%", "25%"), (1, 0), 1, 0),
        (rolling(2, 0, "1%"), (0, 1), 0, 1),
        (rolling(3, 1, 0), (1, 0), 1, 0),
        (rolling(0, "25%", "25%"), (0, 1), 0, 0),
        (rolling(2, 0, 5), (0, 5), 0, 2),
        (DeploymentShape(replicas=3, strategy="Recreate"), (1, 0), 0, 0),
    ],
)
def test_fenceposts(
    shape: DeploymentShape, want: tuple[int, int], surge: int, unavailable: int
) -> None:
    """Two zeros become one unavailable; maxUnavailable is capped at replicas; Recreate has none."""
    assert resolve_fenceposts(shape) == want
    assert (max_surge(shape), max_unavailable(shape)) == (surge, unavailable)


@pytest.mark.parametrize(
    ("shape", "sizes", "new", "want"),
    [
        (rolling(3, 1, 0), [3], 0, 1),
        (rolling(3, 1, 0), [2], 1, 2),
        (rolling(3, 1, 0), [3], 1, 1),
        (rolling(10, "25%", "25%"), [10], 0, 3),
        (rolling(3, 5, 0), [3], 0, 3),
        (DeploymentShape(replicas=4, strategy="Recreate"), [2], 0, 4),
    ],
)
def test_new_replica_set_grows_up_to_the_surge(
    shape: DeploymentShape, sizes: list[int], new: int, want: int
) -> None:
    """The new ReplicaSet may reach replicas+maxSurge in total, never beyond spec.replicas."""
    olds = [rs(f"old{i}", n) for i, n in enumerate(sizes)]
    fresh = rs("new", new)
    assert new_rs_replicas(shape, [*olds, fresh], fresh) == want


def test_rolling_scale_up_also_shrinks_an_oversized_new_replica_set() -> None:
    """A new ReplicaSet above spec.replicas is cut back; at the size, nothing happens."""
    assert rolling_scale_up(rolling(2, 1, 0), [rs("new", 5)], rs("new", 5)) == 2
    assert rolling_scale_up(rolling(2, 1, 0), [rs("new", 2)], rs("new", 2)) is None
    full = [rs("old", 3), rs("new", 1)]
    assert rolling_scale_up(rolling(3, 1, 0), full, rs("new", 1)) is None


@pytest.mark.parametrize(
    ("shape", "olds", "new", "want", "why"),
    [
        (rolling(3, 1, 0), [rs("old", 3)], rs("new", 1, available=0), {}, "new pod not ready"),
        (rolling(3, 1, 0), [rs("old", 3)], rs("new", 1), {"old": 2}, "one new pod available"),
        (
            rolling(3, 1, 1),
            [rs("old", 3, available=1)],
            rs("new", 1, available=0),
            {"old": 2},
            "unhealthy old pods go first, within the budget",
        ),
        (
            rolling(4, 0, 2),
            [
                rs("older", 2, created="2026-01-01T00:00:00Z"),
                rs("old", 2, created="2026-01-02T00:00:00Z"),
            ],
            rs("new", 0),
            {"older": 0},
            "the oldest ReplicaSet shrinks first",
        ),
        (
            rolling(4, 0, 3),
            [
                rs("older", 2, created="2026-01-01T00:00:00Z"),
                rs("old", 2, created="2026-01-02T00:00:00Z"),
            ],
            rs("new", 0),
            {"older": 0, "old": 1},
            "then the next",
        ),
        (rolling(3, 1, 0), [rs("old", 0)], rs("new", 3), {}, "nothing left to scale down"),
    ],
)
def test_rolling_scale_down_keeps_min_available(
    shape: DeploymentShape,
    olds: list[ReplicaSetState],
    new: ReplicaSetState,
    want: dict[str, int],
    why: str,
) -> None:
    """Old pods go only while replicas - maxUnavailable stay available."""
    assert rolling_scale_down(shape, olds, new) == want, why


# The upstream sync tests' proportional cases: each ReplicaSet was sized for ``before``.
@pytest.mark.parametrize(
    ("before", "after", "sizes", "want"),
    [
        (5, 10, {"new": 2, "old": 3}, {"new": 4, "old": 6}),
        (5, 3, {"new": 2, "old": 3}, {"new": 1, "old": 2}),
        (9, 4, {"new": 8, "old": 1}, {"new": 4, "old": 0}),
        (7, 10, {"new": 2, "old": 3, "older": 2}, {"new": 3, "old": 4, "older": 3}),
        (13, 8, {"new": 2, "old": 3, "older": 8}, {"new": 1, "old": 2, "older": 5}),
        (3, 4, {"new": 1, "old": 1, "older": 1}, {"new": 2, "old": 1, "older": 1}),
        (4, 0, {"new": 2, "old": 2}, {"new": 0, "old": 0}),
    ],
)
def test_proportional_scaling(
    before: int, after: int, sizes: dict[str, int], want: dict[str, int]
) -> None:
    """A resize mid-rollout is spread by share; leftovers go to the largest ReplicaSet."""
    created = {"new": "2026-01-03T00:00:00Z", "old": "2026-01-02T00:00:00Z"}
    states = {
        name: rs(
            name,
            size,
            created=created.get(name, "2026-01-01T00:00:00Z"),
            desired=before,
            maximum=before,
        )
        for name, size in sizes.items()
    }
    shape = rolling(after, 0, 0)
    assert is_scaling_event(shape, states.values())
    olds = [s for name, s in states.items() if name != "new"]
    got, refresh = scale(shape, states["new"], olds)
    assert got == want
    assert refresh


def test_scaling_one_active_replica_set_and_a_saturated_new_one() -> None:
    """One active ReplicaSet takes the full size; a saturated new one empties the old ones."""
    shape = rolling(5, 1, 0)
    assert scale(shape, rs("new", 3), [rs("old", 0)]) == ({"new": 5}, False)
    assert scale(shape, None, [rs("old", 0, created="2026-01-02T00:00:00Z"), rs("o", 0)]) == (
        {"old": 5},
        False,
    )
    assert scale(shape, rs("new", 5), []) == ({}, False)
    saturated = rs("new", 5, desired=5)
    assert scale(shape, saturated, [rs("old", 2)]) == ({"old": 0}, False)


def test_recreate_scales_old_down_and_waits_for_their_pods() -> None:
    """Recreate empties every old ReplicaSet, then waits until no old pod is unfinished."""
    assert recreate_scale_down([rs("a", 2), rs("b", 1)]) == {"a": 0, "b": 0}
    gone = [rs("a", 0, actual=0)]
    assert old_pods_running([rs("a", 0, actual=1)], {}, None)
    assert old_pods_running(gone, {"uid-a": ["Running"]}, "uid-new")
    assert not old_pods_running(gone, {"uid-a": ["Succeeded", "Failed"]}, "uid-new")
    assert not old_pods_running(gone, {"uid-new": ["Pending"]}, "uid-new")


def test_scaling_event_needs_an_active_replica_set_sized_for_another_count() -> None:
    """Only active ReplicaSets with a desired-replicas annotation count."""
    shape = rolling(3, 1, 0)
    assert not is_scaling_event(shape, [rs("a", 3, desired=3)])
    assert not is_scaling_event(shape, [rs("a", 0, desired=5)])
    assert not is_scaling_event(shape, [rs("a", 2)])
    assert is_scaling_event(shape, [rs("a", 2, desired=2)])
