"""CrashLoopBackOff follows the kubelet's curve on a fake clock, and prints Go durations."""

from __future__ import annotations

import pytest

from kubeproc.kubelet.backoff import Backoff, go_duration
from kubeproc.util.clock import FakeClock


async def _restart_delays(backoff: Backoff, clock: FakeClock, crashes: int) -> list[int]:
    """Crash right after every start; the seconds each restart had to wait."""
    delays = []
    for _ in range(crashes):
        finished = clock.now()
        waited = 0
        while backoff.in_backoff("k", finished, clock.now()):
            await clock.advance(1)
            waited += 1
        backoff.next("k", finished)
        delays.append(waited)
    return delays


async def test_delays_run_zero_then_ten_doubling_to_the_cap() -> None:
    """Restarts wait 0, 10, 20, 40, 80, 160, 300, 300 s after each exit."""
    clock = FakeClock()
    backoff = Backoff(clock)
    delays = await _restart_delays(backoff, clock, 8)
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]
    assert backoff.get("k") == 300


async def test_a_long_run_resets_the_curve() -> None:
    """A container that ran over 600 s since the last step restarts at once, then waits 10 s."""
    clock = FakeClock()
    backoff = Backoff(clock)
    await _restart_delays(backoff, clock, 6)
    await clock.advance(601)
    assert await _restart_delays(backoff, clock, 2) == [0, 10]


async def test_remaining_counts_down_to_zero() -> None:
    """``remaining`` is the wait left: what the pod worker requeues on."""
    clock = FakeClock()
    backoff = Backoff(clock)
    finished = clock.now()
    backoff.next("k", finished)
    await clock.advance(4)
    assert backoff.remaining("k", finished, clock.now()) == pytest.approx(6)
    await clock.advance(6)
    assert backoff.remaining("k", finished, clock.now()) == 0


async def test_shortened_curve_from_node_flags() -> None:
    """initial and maximum are settings: a 1 s / 4 s curve for end-to-end tests."""
    clock = FakeClock()
    backoff = Backoff(clock, initial=1, maximum=4)
    assert await _restart_delays(backoff, clock, 6) == [0, 1, 2, 4, 4, 4]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (10, "10s"),
        (20, "20s"),
        (40, "40s"),
        (80, "1m20s"),
        (160, "2m40s"),
        (300, "5m0s"),
        (3600, "1h0m0s"),
        (0.5, "500ms"),
        (1.5, "1.5s"),
        (0, "0s"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    """Durations print as Go's ``time.Duration.String()``."""
    assert go_duration(seconds) == text
