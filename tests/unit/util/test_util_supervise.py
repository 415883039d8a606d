"""supervise: a failing component is restarted with back-off; cancellation always propagates.

Time is a ``FakeClock``: nothing sleeps, and each restart is observed at the exact
instant the back-off allows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from kubeproc.util.clock import FakeClock
from kubeproc.util.supervise import supervise


class Component:
    """A fake component recording each start (on the fake clock) and how each run ended."""

    def __init__(self, clock: FakeClock, behaviour: Callable[[int], Awaitable[None]]) -> None:
        self.clock = clock
        self.behaviour = behaviour
        self.starts: list[float] = []
        self.ends: list[str] = []

    async def run(self) -> None:
        self.starts.append(self.clock.monotonic())
        try:
            await self.behaviour(len(self.starts))
        except asyncio.CancelledError:
            self.ends.append("cancelled")
            raise
        except Exception:
            self.ends.append("failed")
            raise
        self.ends.append("returned")


async def fail(_: int) -> None:
    raise RuntimeError("boom")


async def turn() -> None:
    """Let ready tasks run up to their next await."""
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def running() -> AsyncIterator[list[asyncio.Task[None]]]:
    """Supervisor tasks a test starts; any still running are cancelled and awaited after."""
    tasks: list[asyncio.Task[None]] = []
    yield tasks
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def start(
    running: list[asyncio.Task[None]], component: Component, clock: FakeClock, **kw: float
) -> asyncio.Task[None]:
    task = asyncio.create_task(supervise("fake", component.run, clock, **kw))
    running.append(task)
    return task


async def test_failing_component_restarts_after_doubling_backoff_up_to_the_cap(
    clock: FakeClock, running: list[asyncio.Task[None]]
) -> None:
    """A component failing at once is started again after 0.5, 1, 2, 4, 4 s (cap 4 s)."""
    component = Component(clock, fail)
    start(running, component, clock, initial_backoff=0.5, max_backoff=4.0)
    await turn()
    assert component.starts == [0.0]
    expected = [0.0]
    for gap in (0.5, 1.0, 2.0, 4.0, 4.0):
        await clock.advance(gap - 0.01)
        assert component.starts == expected, "restarted before its back-off elapsed"
        await clock.advance(0.01)
        expected.append(expected[-1] + gap)
        assert component.starts == pytest.approx(expected)
    assert set(component.ends) == {"failed"}


async def test_component_that_returns_is_restarted_too(
    clock: FakeClock, running: list[asyncio.Task[None]]
) -> None:
    """A component that returns (a watch that ended) is started again after the back-off."""

    async def return_at_once(_: int) -> None:
        return

    component = Component(clock, return_at_once)
    start(running, component, clock, initial_backoff=1.0)
    await turn()
    await clock.advance(1.0)
    assert component.starts == [0.0, 1.0]
    assert component.ends == ["returned", "returned"]


async def test_backoff_starts_over_after_a_long_healthy_run(
    clock: FakeClock, running: list[asyncio.Task[None]]
) -> None:
    """After a run that lasted reset_after seconds, the next restart waits the initial back-off."""

    async def third_run_is_long(n: int) -> None:
        if n == 3:
            await clock.sleep(100.0)
        raise RuntimeError(f"run {n} failed")

    component = Component(clock, third_run_is_long)
    start(running, component, clock, initial_backoff=1.0, max_backoff=60.0, reset_after=60.0)
    await turn()
    await clock.advance(1.0)  # run 2 after 1 s
    await clock.advance(2.0)  # run 3 after 2 s; it lasts 100 s
    assert component.starts == [0.0, 1.0, 3.0]
    await clock.advance(100.0)
    assert len(component.starts) == 3, "restarted without any back-off"
    await clock.advance(1.0)  # back-off is 1 s again, not 4 s
    assert component.starts == [0.0, 1.0, 3.0, 104.0]


async def test_cancelling_the_supervisor_cancels_the_running_component(
    clock: FakeClock, running: list[asyncio.Task[None]]
) -> None:
    """Cancelling supervise while the component runs cancels the component, raises, and stops."""

    async def run_forever(_: int) -> None:
        await clock.sleep(1e9)

    component = Component(clock, run_forever)
    task = start(running, component, clock, initial_backoff=0.5)
    await turn()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert component.ends == ["cancelled"]
    await clock.advance(10.0)
    assert component.starts == [0.0], "restarted after cancellation"


async def test_cancelling_the_supervisor_during_backoff_propagates(
    clock: FakeClock, running: list[asyncio.Task[None]]
) -> None:
    """Cancelling supervise while it waits out a back-off raises CancelledError at once."""
    component = Component(clock, fail)
    task = start(running, component, clock, initial_backoff=5.0)
    await turn()
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await clock.advance(10.0)
    assert component.starts == [0.0]


async def test_cancellation_of_the_owning_task_group_propagates(clock: FakeClock) -> None:
    """A TaskGroup owning supervised components exits when its host task is cancelled."""
    components = [Component(clock, fail), Component(clock, fail)]

    async def host() -> None:
        async with asyncio.TaskGroup() as tg:
            for c in components:
                tg.create_task(supervise("fake", c.run, clock, initial_backoff=1.0))

    task = asyncio.create_task(host())
    await turn()
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
    assert [c.starts for c in components] == [[0.0, 1.0], [0.0, 1.0]]


async def test_component_raising_cancelled_on_its_own_is_restarted(
    clock: FakeClock, running: list[asyncio.Task[None]]
) -> None:
    """A CancelledError leaking out of a component nobody cancelled is a failure, restarted."""

    async def leak_cancellation(n: int) -> None:
        if n == 1:
            raise asyncio.CancelledError
        await clock.sleep(1e9)

    component = Component(clock, leak_cancellation)
    task = start(running, component, clock, initial_backoff=0.5)
    await turn()
    assert not task.done(), "the supervisor stopped on a cancellation it never received"
    await clock.advance(0.5)
    assert component.starts == [0.0, 0.5]


async def test_each_failure_is_logged_once_with_its_traceback(
    clock: FakeClock, running: list[asyncio.Task[None]], caplog: pytest.LogCaptureFixture
) -> None:
    """Each failure is one ERROR record naming the component and back-off, with the traceback."""
    caplog.set_level(logging.INFO, logger="kubeproc.util.supervise")
    component = Component(clock, fail)
    start(running, component, clock, initial_backoff=0.5)
    await turn()
    await clock.advance(0.5)
    records = [r for r in caplog.records if r.name == "kubeproc.util.supervise"]
    assert [r.levelno for r in records] == [logging.ERROR, logging.ERROR]
    assert [r.getMessage() for r in records] == [
        "component failed, restarting component=fake backoff=0.5s",
        "component failed, restarting component=fake backoff=1.0s",
    ]
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in records)


async def test_cancellation_wins_over_a_failure_it_provokes(
    clock: FakeClock, running: list[asyncio.Task[None]]
) -> None:
    """Cancelled while a child of the component fails on teardown, supervise still stops.

    asyncio's TaskGroup turns "cancelled, and a child failed while being cancelled" into
    an ExceptionGroup instead of CancelledError; treating it as a failure to restart from
    would swallow the node's shutdown and hang it.
    """

    async def fails_when_torn_down(_: int) -> None:
        async def child() -> None:
            try:
                await clock.sleep(1e9)
            except asyncio.CancelledError:
                raise RuntimeError("Session is closed") from None

        async with asyncio.TaskGroup() as tg:
            tg.create_task(child())
            await clock.sleep(1e9)

    component = Component(clock, fails_when_torn_down)
    task = start(running, component, clock, initial_backoff=0.5)
    await turn()
    task.cancel()
    await turn()
    assert task.done(), "supervise kept running after it was cancelled"
    with pytest.raises(asyncio.CancelledError):
        await task
    await clock.advance(10.0)
    assert component.starts == [0.0]
