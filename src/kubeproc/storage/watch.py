"""Watch fan-out: a ``Watcher`` per watch request and the ``Broadcaster`` feeding them.

``SqliteStore`` owns one ``Broadcaster``. After each committed write it calls
:meth:`Broadcaster.publish`, which appends the event to the bounded buffer of every
watcher whose prefix matches and wakes it. The apiserver iterates a ``Watcher`` and turns
its events into a watch stream.

Why it is shaped this way:

- A writer never waits for a reader. ``publish`` is synchronous and only appends to a
  deque; a watcher whose buffer is full is ended with ``WatcherTooSlow`` and dropped, and
  the apiserver answers that with 410 Gone so the client relists (as etcd and kine do).
- Replay and live events cannot overlap or leave a gap. ``watch`` runs synchronously on
  the event-loop thread: it reads the current revision R and subscribes in one step, so
  events above R arrive live and the watcher reads (after, R] from history itself.
- History is read lazily, a page at a time as the consumer pulls, so a watch from far
  back neither blocks the loop nor buffers the whole log. While a watcher still has
  history to read, :meth:`Broadcaster.replay_floor` tells compaction not to drop it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Final, Protocol, Self

from kubeproc.storage.types import Event, StorageError, StoreClosed, WatcherTooSlow

if TYPE_CHECKING:
    from types import TracebackType

logger = logging.getLogger(__name__)

HISTORY_PAGE: Final = 256
"""Events read from the log per page of replay."""


class History(Protocol):
    """Reads past events: keys under ``prefix``, ``after < revision <= until``."""

    def __call__(self, prefix: str, after: int, until: int, limit: int) -> list[Event]: ...


class Watcher:
    """One watch: replays history, then yields live events, in revision order.

    ``__anext__`` raises ``WatcherTooSlow`` once the buffer overflowed, ``StoreClosed``
    once the store closed, and ``StopAsyncIteration`` after :meth:`close`.
    """

    def __init__(
        self,
        broadcaster: Broadcaster,
        prefix: str,
        after: int,
        until: int,
        history: History,
    ) -> None:
        self.prefix = prefix
        self._broadcaster = broadcaster
        self._after = after
        self._cursor = after  # history is read up to here
        self._until = until  # history ends here; live events come after it
        self._history = history
        self._page: deque[Event] = deque()
        self._live: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._end: StorageError | None = None
        self._stopped = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._end is not None:
                raise self._end.with_traceback(None)
            if self._stopped:
                raise StopAsyncIteration
            if self._page:
                return self._page.popleft()
            if self.replaying:
                self._read_page()
                continue
            if self._live:
                return self._live.popleft()
            await self._wait()

    def close(self) -> None:
        """Stop watching; a pending or later ``__anext__`` ends the iteration."""
        if self._stopped:
            return
        self._stopped = True
        self._broadcaster.discard(self)
        self._drop_buffers()
        self._wake()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def replaying(self) -> bool:
        """Whether history below the subscription point is still unread."""
        return self._cursor < self._until

    @property
    def replay_cursor(self) -> int:
        """The revision up to which history has been read."""
        return self._cursor

    @property
    def buffered(self) -> int:
        """Live events waiting to be consumed."""
        return len(self._live)

    def deliver(self, event: Event, capacity: int) -> bool:
        """Buffer one live event; False if the buffer was full and this watcher ended."""
        if event.revision <= self._after:  # a watch from a revision not yet written
            return True
        if len(self._live) >= capacity:
            self.fail(WatcherTooSlow(f"watch on {self.prefix!r} fell {capacity} events behind"))
            return False
        self._live.append(event)
        self._wake()
        return True

    def fail(self, error: StorageError) -> None:
        """End this watcher with ``error``, unless it already ended."""
        if self._stopped or self._end is not None:
            return
        self._end = error
        self._drop_buffers()
        self._wake()

    def _read_page(self) -> None:
        events = self._history(self.prefix, self._cursor, self._until, HISTORY_PAGE)
        self._page.extend(events)
        if len(events) < HISTORY_PAGE:
            self._cursor = self._until
        else:
            self._cursor = events[-1].revision

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _drop_buffers(self) -> None:
        self._page.clear()
        self._live.clear()
        self._cursor = self._until


class Broadcaster:
    """Delivers each committed event to the watchers of matching prefixes."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"watch buffer must hold at least one event, not {capacity}")
        self.capacity = capacity
        self._by_prefix: dict[str, set[Watcher]] = {}

    def __len__(self) -> int:
        return sum(len(watchers) for watchers in self._by_prefix.values())

    def watch(self, prefix: str, after: int, until: int, history: History) -> Watcher:
        """Subscribe a watcher that replays (after, until] and then receives live events."""
        watcher = Watcher(self, prefix, after, until, history)
        self._by_prefix.setdefault(prefix, set()).add(watcher)
        return watcher

    def publish(self, event: Event) -> None:
        key = event.kv.key
        emptied: list[str] = []
        for prefix, watchers in self._by_prefix.items():
            if not key.startswith(prefix):
                continue
            overflowed = [w for w in watchers if not w.deliver(event, self.capacity)]
            for watcher in overflowed:
                watchers.discard(watcher)
                logger.warning(
                    "watch ended: too slow prefix=%s revision=%d buffer=%d",
                    prefix,
                    event.revision,
                    self.capacity,
                )
            if not watchers:
                emptied.append(prefix)
        for prefix in emptied:
            del self._by_prefix[prefix]

    def discard(self, watcher: Watcher) -> None:
        watchers = self._by_prefix.get(watcher.prefix)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._by_prefix[watcher.prefix]

    def replay_floor(self) -> int | None:
        """The lowest revision above which a watcher still has history to read."""
        cursors = [w.replay_cursor for ws in self._by_prefix.values() for w in ws if w.replaying]
        return min(cursors, default=None)

    def close(self) -> None:
        """End every watcher with ``StoreClosed``."""
        watchers = [w for ws in self._by_prefix.values() for w in ws]
        self._by_prefix.clear()
        for watcher in watchers:
            watcher.fail(StoreClosed("the store was closed"))
