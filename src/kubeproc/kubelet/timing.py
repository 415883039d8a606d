"""Deadlines on the injected clock: wait for an event, or an operation, at most so long.

``asyncio.timeout`` runs on the loop's clock, which a ``FakeClock`` does not move; the
kubelet's grace periods, back-off requeues and preStop deadlines must, so these helpers race
the awaited thing against ``clock.sleep`` and always cancel and reap the loser.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from kubeproc.util.clock import Clock

T = TypeVar("T")


async def _cancel(task: asyncio.Task[object]) -> None:
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_event(event: asyncio.Event, clock: Clock, seconds: float | None) -> bool:
    """Wait for ``event`` for at most ``seconds`` (forever when None); True if it was set."""
    if event.is_set():
        return True
    if seconds is None:
        await event.wait()
        return True
    if seconds <= 0:
        return False
    waiter = asyncio.ensure_future(event.wait())
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _cancel(waiter)
        await _cancel(sleeper)
    return event.is_set()


async def run_with_deadline(
    aw: Awaitable[T], clock: Clock, seconds: float
) -> tuple[bool, T | None]:
    """Run ``aw`` for at most ``seconds``: (True, result) or (False, None) once cancelled."""
    task: asyncio.Task[T] = asyncio.ensure_future(aw)
    sleeper = asyncio.ensure_future(clock.sleep(max(seconds, 0.0)))
    try:
        await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _cancel(sleeper)
        if not task.done():
            await _cancel(task)
    if task.cancelled():
        return False, None
    return True, task.result()
