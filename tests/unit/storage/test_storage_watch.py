"""SqliteStore watch: replay then live without gaps or duplicates, bounded buffers, ends."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from kubeproc.storage import (
    Event,
    EventType,
    KeyValue,
    SqliteStore,
    StoreClosed,
    Watcher,
    WatcherTooSlow,
)
from kubeproc.storage.watch import HISTORY_PAGE

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterator


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Iterator[SqliteStore]:
    s = SqliteStore.open(tmp_path / "store.db", watch_buffer=8)
    yield s
    s.close()


async def next_event(watcher: Watcher) -> Event:
    async with asyncio.timeout(5):
        return await anext(watcher)


async def take(watcher: Watcher, n: int) -> list[Event]:
    return [await next_event(watcher) for _ in range(n)]


async def parked(watcher: Watcher) -> asyncio.Task[Event]:
    """A task reading the watcher, run until it waits for an event."""
    task = asyncio.create_task(next_event(watcher))
    await asyncio.sleep(0)  # one loop turn: the task runs up to its await on the waiter
    assert not task.done()
    return task


async def test_replay_then_live_has_no_gap_and_no_duplicate(store: SqliteStore) -> None:
    """A watch from revision 2 yields 3, 4, 5 from history and then 6, 7 live, once each."""
    for i in range(5):
        store.create(f"/k{i}", b"v")
    watcher = store.watch("", 2)
    store.create("/k5", b"v")
    store.create("/k6", b"v")
    events = await take(watcher, 5)
    store.create("/sentinel", b"v")
    assert [e.revision for e in events] == [3, 4, 5, 6, 7]
    assert (await next_event(watcher)).kv.key == "/sentinel"


async def test_writes_during_a_long_replay_are_neither_lost_nor_repeated(
    tmp_path: pathlib.Path,
) -> None:
    """Writes landing while history is read page by page each arrive exactly once, in order."""
    total = HISTORY_PAGE * 3 + 7
    with SqliteStore.open(tmp_path / "s.db", watch_buffer=total) as store:
        for i in range(total):
            store.create(f"/k{i:05}", b"v")
        with store.watch("", 0) as watcher:
            seen: list[int] = []
            for i in range(total):
                seen.append((await next_event(watcher)).revision)
                store.create(f"/live{i:05}", b"v")  # one live write per replayed event
            seen += [e.revision for e in await take(watcher, total)]
    assert seen == list(range(1, 2 * total + 1))


async def test_replayed_events_equal_the_live_events(store: SqliteStore) -> None:
    """History read back from the log is the same events watchers saw live, prev included."""
    live_watcher = store.watch("", 0)
    store.create("/a", b"a1")
    store.update("/a", b"a2")
    store.create("/b", b"b1")
    store.delete("/a")
    store.create("/a", b"a3")
    store.delete("/b", expected_revision=3)
    live = await take(live_watcher, 6)
    replayed = await take(store.watch("", 0), 6)
    assert replayed == live
    assert live[3] == Event(
        EventType.DELETE,
        KeyValue("/a", b"a2", create_revision=1, mod_revision=4),
        prev=KeyValue("/a", b"a2", create_revision=1, mod_revision=2),
    )
    assert live[0].created
    assert not live[1].created
    assert live[1].prev == KeyValue("/a", b"a1", 1, 1)


async def test_watch_sees_only_keys_under_its_prefix(store: SqliteStore) -> None:
    """Events for other prefixes, even textually close ones, are not delivered."""
    store.create("/registry/pods/a", b"")
    store.create("/registry/pods-other/x", b"")
    watcher = store.watch("/registry/pods/", 0)
    store.create("/registry/services/s", b"")
    store.create("/registry/pods/b", b"")
    events = await take(watcher, 2)
    assert [(e.kv.key, e.revision) for e in events] == [
        ("/registry/pods/a", 1),
        ("/registry/pods/b", 4),
    ]


async def test_watch_from_a_future_revision_starts_after_it(store: SqliteStore) -> None:
    """A watch after a revision not yet written skips events up to that revision."""
    store.create("/a", b"")
    watcher = store.watch("", 3)
    store.create("/b", b"")  # 2
    store.create("/c", b"")  # 3
    store.create("/d", b"")  # 4
    assert (await next_event(watcher)).revision == 4


async def test_a_parked_reader_is_woken_by_a_write(store: SqliteStore) -> None:
    """A reader waiting on an idle watch gets the next write's event."""
    watcher = store.watch("", 0)
    task = await parked(watcher)
    kv = store.create("/a", b"v")
    assert (await task).kv == kv


async def test_slow_watcher_overflows_and_writers_never_block(store: SqliteStore) -> None:
    """A watcher that stops reading ends with WatcherTooSlow; writes and other watchers go on."""
    slow = store.watch("", 0)
    fast = store.watch("", 0)
    fast_seen: list[int] = []
    for i in range(20):  # the buffer holds 8
        kv = store.create(f"/k{i}", b"v")
        assert kv.mod_revision == i + 1
        fast_seen.append((await next_event(fast)).revision)
    assert fast_seen == list(range(1, 21))
    assert store.watcher_count == 1  # the slow one was dropped, the writer kept going
    with pytest.raises(WatcherTooSlow):
        await anext(slow)
    with pytest.raises(WatcherTooSlow):
        await anext(slow)


async def test_buffer_holds_exactly_watch_buffer_events(store: SqliteStore) -> None:
    """Eight unread events fit in a buffer of eight; the ninth overflows it."""
    watcher = store.watch("", 0)
    for i in range(8):
        store.create(f"/k{i}", b"v")
    assert [e.revision for e in await take(watcher, 8)] == list(range(1, 9))
    for i in range(9):
        store.create(f"/more{i}", b"v")
    with pytest.raises(WatcherTooSlow):
        await next_event(watcher)


async def test_overflow_wakes_a_parked_reader(store: SqliteStore) -> None:
    """A reader waiting when its buffer overflows is ended with WatcherTooSlow."""
    watcher = store.watch("/other/", 0)
    task = await parked(watcher)
    # The reader does not run between these synchronous writes, so nine overflow eight.
    for i in range(9):
        store.create(f"/other/{i}", b"v")
    with pytest.raises(WatcherTooSlow):
        await task
    assert store.watcher_count == 0


async def test_closing_the_store_ends_every_watcher(store: SqliteStore) -> None:
    """Store close ends parked, idle and replaying watchers with StoreClosed."""
    store.create("/a", b"v")
    parked_watcher = store.watch("", 1)
    task = await parked(parked_watcher)
    idle = store.watch("", 1)
    replaying = store.watch("", 0)
    store.close()
    with pytest.raises(StoreClosed):
        await task
    for watcher in (idle, replaying, parked_watcher):
        with pytest.raises(StoreClosed):
            await next_event(watcher)


async def test_closing_a_watcher_ends_its_iteration(store: SqliteStore) -> None:
    """Watcher close unsubscribes it and ends iteration, waking a parked reader."""
    watcher = store.watch("", 0)
    task = await parked(watcher)
    watcher.close()
    with pytest.raises(StopAsyncIteration):
        await task
    assert store.watcher_count == 0
    store.create("/a", b"v")
    assert [e async for e in watcher] == []


async def test_async_for_yields_events_until_closed(store: SqliteStore) -> None:
    """Iterating with async for yields events in order until the consumer closes the watch."""
    store.create("/a", b"1")
    store.update("/a", b"2")
    seen: list[bytes] = []
    with store.watch("/a", 0) as watcher:
        async for event in watcher:
            seen.append(event.kv.value)
            if len(seen) == 2:
                watcher.close()
    assert seen == [b"1", b"2"]


def test_watch_buffer_must_hold_an_event(tmp_path: pathlib.Path) -> None:
    """A watch buffer below one event is refused when the store opens."""
    with pytest.raises(ValueError, match="watch buffer"):
        SqliteStore.open(tmp_path / "s.db", watch_buffer=0)
