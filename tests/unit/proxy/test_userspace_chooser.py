"""The userspace proxy's endpoint choice: round robin, retries, ClientIP affinity (pure)."""

from __future__ import annotations

from collections import Counter

import pytest

from kubeproc.proxy.userspace_chooser import SWEEP_INTERVAL, EndpointChooser

A, B, C = ("10.0.0.1", 80), ("10.0.0.2", 80), ("10.0.0.3", 80)


def test_round_robin_cycles_through_every_endpoint() -> None:
    """Without affinity, successive connections take the endpoints in turn."""
    chooser = EndpointChooser([A, B, C])
    picks = [chooser.choose("1.1.1.1", 0.0) for _ in range(7)]
    assert picks == [A, B, C, A, B, C, A]


def test_no_endpoint_gives_none() -> None:
    """An empty set has nothing to choose."""
    assert EndpointChooser([]).choose("1.1.1.1", 0.0) is None


def test_tried_endpoints_are_skipped_until_none_is_left() -> None:
    """A retry skips what this connection already tried; when all were tried, None."""
    chooser = EndpointChooser([A, B, C])
    assert chooser.choose("c", 0.0) == A
    assert chooser.choose("c", 0.0, tried=[A]) == B
    assert chooser.choose("c", 0.0, tried=[A, B]) == C
    assert chooser.choose("c", 0.0, tried=[A, B, C]) is None


def test_a_retry_advances_the_rotation() -> None:
    """The endpoint a retry lands on counts as its turn: the next connection moves on."""
    chooser = EndpointChooser([A, B, C])
    assert chooser.choose("c", 0.0, tried=[A]) == B
    assert chooser.choose("c", 0.0) == C


def test_duplicates_count_once() -> None:
    """An endpoint listed twice is not given twice the share."""
    chooser = EndpointChooser([A, A, B])
    assert Counter(chooser.choose("c", 0.0) for _ in range(4)) == {A: 2, B: 2}


@pytest.mark.parametrize(
    ("before", "after", "expected_next"),
    [
        ([A, B, C], [A, B, C], C),  # unchanged: the rotation goes on
        ([A, B, C], [A, B], A),  # shrunk below the position: wraps
        ([A, B, C], [A, B, C, ("10.0.0.4", 80)], C),
        ([A, B, C], [], None),
    ],
)
def test_update_keeps_the_rotation_position(
    before: list[tuple[str, int]], after: list[tuple[str, int]], expected_next: object
) -> None:
    """A new endpoint set carries the rotation on rather than restarting it."""
    chooser = EndpointChooser(before)
    chooser.choose("c", 0.0)
    chooser.choose("c", 0.0)
    chooser.update(after, None)
    assert chooser.choose("c", 0.0) == expected_next


def test_affinity_pins_each_client_ip() -> None:
    """With ClientIP affinity, a client keeps its endpoint; another client gets the next."""
    chooser = EndpointChooser([A, B, C], affinity_timeout=10)
    assert [chooser.choose("c1", t) for t in (0.0, 1.0, 2.0)] == [A, A, A]
    assert [chooser.choose("c2", t) for t in (3.0, 4.0)] == [B, B]
    assert chooser.choose("c1", 5.0) == A


def test_affinity_expires_after_the_timeout_since_last_use() -> None:
    """Each connection renews the pin; a gap longer than the timeout releases it."""
    chooser = EndpointChooser([A, B], affinity_timeout=10)
    assert chooser.choose("c1", 0.0) == A
    assert chooser.choose("c1", 9.0) == A
    assert chooser.choose("c1", 18.0) == A  # 9 s after the last use
    assert chooser.choose("c1", 28.5) == B  # 10.5 s idle: round robin again, re-pinned
    assert chooser.choose("c1", 29.0) == B


def test_affinity_moves_when_the_pinned_endpoint_fails_or_leaves() -> None:
    """A failed connect re-pins the client; so does its endpoint leaving the set."""
    chooser = EndpointChooser([A, B, C], affinity_timeout=100)
    assert chooser.choose("c1", 0.0) == A
    assert chooser.choose("c1", 0.0, tried=[A]) == B
    assert chooser.choose("c1", 1.0) == B
    chooser.update([A, C], 100)
    moved = chooser.choose("c1", 2.0)
    assert moved in (A, C)
    assert chooser.choose("c1", 3.0) == moved


def test_turning_affinity_off_forgets_the_pins() -> None:
    """Without affinity the same client rotates again."""
    chooser = EndpointChooser([A, B], affinity_timeout=100)
    chooser.choose("c1", 0.0)
    chooser.update([A, B], None)
    assert {chooser.choose("c1", 1.0) for _ in range(2)} == {A, B}


def test_expired_pins_are_swept() -> None:
    """Records of clients gone quiet do not accumulate."""
    chooser = EndpointChooser([A, B], affinity_timeout=5)
    for i in range(100):
        chooser.choose(f"client-{i}", 0.0)
    chooser.choose("late", SWEEP_INTERVAL + 10)
    assert chooser.pinned_clients == 1
