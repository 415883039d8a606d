"""Run a sync function soon after each change, coalescing bursts, as kube-proxy's
BoundedFrequencyRunner does.

``run_soon`` asks for a sync; the runner's loop runs it at once unless the last one
started less than ``min_interval`` ago (then at that bound), and requests that arrive
while a sync runs are folded into one more sync after it. Without requests it syncs
every ``max_interval`` anyway (repairing rules someone else changed). A failed sync is
retried after a back-off that doubles up to ``retry_max``, sooner if a change asks. The
sync function runs serially, always in the runner's own task. Timing is on the injected
clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


class BoundedFrequencyRunner:
    def __init__(
        self,
        name: str,
        sync: Callable[[], Awaitable[None]],
        clock: Clock,
        *,
        min_interval: float = 0.0,
        max_interval: float = 30.0,
        retry_initial: float = 1.0,
        retry_max: float = 30.0,
        expected: tuple[type[Exception], ...] = (),
    ) -> None:
        self.name = name
        self._sync = sync
        self.clock = clock
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.expected = expected
        """Errors whose message says it all: logged without a traceback."""
        self.syncs = 0
        """Syncs run so far (successful or not)."""
        self.failures = 0
        """Consecutive failed syncs."""
        self._pending = True  # the first sync runs at once
        self._wake = asyncio.Event()
        self._last_start: float | None = None
        self._due = 0.0
        """When the next sync runs without being asked (periodic, or a retry)."""

    def run_soon(self) -> None:
        """Ask for a sync; any number of calls before it starts make one sync."""
        self._pending = True
        self._wake.set()

    async def run(self) -> None:
        """Sync whenever asked or due, until cancelled."""
        while True:
            await self._wait_until_due()
            if self._last_start is not None:
                gap = self._last_start + self.min_interval - self.clock.monotonic()
                if gap > 0:
                    await self.clock.sleep(gap)
            self._pending = False
            self._wake.clear()
            self._last_start = self.clock.monotonic()
            self.syncs += 1
            try:
                await self._sync()
            except Exception as err:
                self.failures += 1
                delay = min(self.retry_initial * 2 ** (self.failures - 1), self.retry_max)
                self._due = self.clock.monotonic() + delay
                log.warning(
                    "sync failed runner=%s failures=%d retry_in=%.1fs error=%s",
                    self.name,
                    self.failures,
                    delay,
                    err,
                    exc_info=not isinstance(err, self.expected),
                )
            else:
                self.failures = 0
                self._due = self.clock.monotonic() + self.max_interval

    async def _wait_until_due(self) -> None:
        while not self._pending:
            remaining = self._due - self.clock.monotonic()
            if remaining <= 0:
                return
            await self._wait_wake(remaining)

    async def _wait_wake(self, seconds: float) -> None:
        """Until ``run_soon`` is called or ``seconds`` pass on the clock."""
        woken = asyncio.ensure_future(self._wake.wait())
        slept = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({woken, slept}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            slept.cancel()
