"""The controllers' work queue: keys to reconcile, never the same key twice at once.

As client-go's rate-limited work queue: a key added while it waits is queued once; a key
added while it is being processed is queued again when its processing ends (so the
latest state is always reconciled, by one worker at a time); a failed reconcile is
retried after a per-key exponential back-off (5 ms doubling to 1000 s, as upstream's
default controller rate limiter), forgotten on success. ``add_after`` schedules a key
(``minReadySeconds``, progress deadlines). Time comes from the injected clock.

``run_workers`` is the loop every controller runs: take a key, reconcile it, mark it
done, retry on error.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

from kubeproc.api import errors
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

RETRY_BASE = 0.005
RETRY_MAX = 1000.0


class WorkQueue:
    def __init__(self, clock: Clock, name: str = "") -> None:
        self.clock = clock
        self.name = name
        self._queue: collections.deque[str] = collections.deque()
        self._queued: set[str] = set()
        self._processing: set[str] = set()
        self._dirty_while_processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._ready = asyncio.Event()
        self._timers: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        if key in self._processing:
            self._dirty_while_processing.add(key)
            return
        if key in self._queued:
            return
        self._queued.add(key)
        self._queue.append(key)
        self._ready.set()

    def add_after(self, key: str, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return

        async def later() -> None:
            await self.clock.sleep(delay)
            self.add(key)

        task = asyncio.get_running_loop().create_task(later())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def get(self) -> str:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        key = self._queue.popleft()
        self._queued.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty_while_processing:
            self._dirty_while_processing.discard(key)
            self.add(key)

    def retry(self, key: str) -> float:
        """Queue ``key`` again after its back-off; returns the delay."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = float(min(RETRY_BASE * 2.0**failures, RETRY_MAX))
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def close(self) -> None:
        for task in list(self._timers):
            task.cancel()


async def run_workers(
    queue: WorkQueue, reconcile: Callable[[str], Awaitable[None]], *, workers: int = 1
) -> None:
    """Reconcile keys from ``queue`` until cancelled; errors retry the key with back-off."""

    async def worker() -> None:
        while True:
            key = await queue.get()
            try:
                await reconcile(key)
            except (errors.StatusError, OSError) as err:
                delay = queue.retry(key)
                log.warning(
                    "reconcile failed queue=%s key=%s retry_in=%.3fs error=%s",
                    queue.name,
                    key,
                    delay,
                    err,
                )
            else:
                queue.forget(key)
            finally:
                queue.done(key)

    try:
        async with asyncio.TaskGroup() as tg:
            for _ in range(workers):
                tg.create_task(worker())
    finally:
        queue.close()
