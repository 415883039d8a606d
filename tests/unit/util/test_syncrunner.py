"""BoundedFrequencyRunner: syncs at once on a change, coalesces bursts, resyncs, retries.

Time is a ``FakeClock``: each sync is observed at the exact instant the runner allows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from kubeproc.util.clock import FakeClock
from kubeproc.util.syncrunner import BoundedFrequencyRunner


class Sync:
    """A fake sync recording when it ran; fails while ``failing`` says so."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.times: list[float] = []
        self.failing: Callable[[int], bool] = lambda n: False
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> None:
        self.times.append(self.clock.monotonic())
        if self.gate is not None:
            await self.gate.wait()
        if self.failing(len(self.times)):
            raise RuntimeError("boom")


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sync(clock: FakeClock) -> Sync:
    return Sync(clock)


async def started(runner: BoundedFrequencyRunner) -> AsyncIterator[None]:
    task = asyncio.create_task(runner.run())
    await settle()
    try:
        yield
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def make(sync: Sync, clock: FakeClock, **kw: float) -> BoundedFrequencyRunner:
    return BoundedFrequencyRunner("test", sync, clock, **kw)


async def test_first_sync_runs_at_once_then_each_change_at_once(
    sync: Sync, clock: FakeClock
) -> None:
    """With min_interval 0 a change syncs without any clock advance."""
    runner = make(sync, clock, max_interval=30)
    async for _ in started(runner):
        assert sync.times == [0.0]
        await clock.advance(1)
        runner.run_soon()
        await settle()
        assert sync.times == [0.0, 1.0]


async def test_burst_during_a_sync_is_one_more_sync(sync: Sync, clock: FakeClock) -> None:
    """Changes arriving while a sync runs are folded into a single next sync."""
    sync.gate = asyncio.Event()
    runner = make(sync, clock)
    async for _ in started(runner):
        for _ in range(5):
            runner.run_soon()
        sync.gate.set()
        await settle()
        assert len(sync.times) == 2
        await clock.advance(1)
        assert len(sync.times) == 2


async def test_min_interval_bounds_the_rate(sync: Sync, clock: FakeClock) -> None:
    """A change soon after a sync waits until min_interval has passed since it started."""
    runner = make(sync, clock, min_interval=0.5)
    async for _ in started(runner):
        await clock.advance(0.1)
        runner.run_soon()
        await settle()
        assert sync.times == [0.0]
        await clock.advance(0.4)
        assert sync.times == [0.0, 0.5]


@pytest.mark.parametrize("period", [30.0, 5.0])
async def test_periodic_resync_without_changes(sync: Sync, clock: FakeClock, period: float) -> None:
    """Without changes the runner syncs every max_interval after the last sync."""
    runner = make(sync, clock, max_interval=period)
    async for _ in started(runner):
        await clock.advance(period - 0.01)
        assert sync.times == [0.0]
        await clock.advance(0.01)
        assert sync.times == [0.0, period]
        await clock.advance(period)
        assert sync.times == [0.0, period, 2 * period]


async def test_failed_sync_retries_with_doubling_backoff(sync: Sync, clock: FakeClock) -> None:
    """Failures retry after 1, 2, 4 s (capped), and success returns to the periodic resync."""
    sync.failing = lambda n: n <= 4
    runner = make(sync, clock, max_interval=30, retry_initial=1, retry_max=3)
    async for _ in started(runner):
        await clock.advance(20)
        assert sync.times == [0.0, 1.0, 3.0, 6.0, 9.0]
        assert runner.failures == 0
        await clock.advance(30)
        assert sync.times[-1] == 39.0


async def test_change_after_failure_does_not_wait_for_the_retry(
    sync: Sync, clock: FakeClock
) -> None:
    """A change requested while a retry is pending syncs at once."""
    sync.failing = lambda n: n == 1
    runner = make(sync, clock, retry_initial=10)
    async for _ in started(runner):
        await clock.advance(0.5)
        runner.run_soon()
        await settle()
        assert sync.times == [0.0, 0.5]


async def test_expected_errors_are_logged_without_traceback(
    sync: Sync, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """An expected error is one warning line; an unexpected one carries its traceback."""
    sync.failing = lambda n: True
    runner = BoundedFrequencyRunner("test", sync, clock, expected=(RuntimeError,))
    async for _ in started(runner):
        pass
    (record,) = [r for r in caplog.records if "sync failed" in r.getMessage()]
    assert "error=boom" in record.getMessage()
    assert not record.exc_info
