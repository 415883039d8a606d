"""SqliteStore compaction: history goes, live values stay, old watches are refused."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import TYPE_CHECKING

import pytest

from kubeproc.storage import Compacted, Event, EventType, SqliteStore
from kubeproc.storage.watch import HISTORY_PAGE, Watcher

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterator


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Iterator[SqliteStore]:
    s = SqliteStore.open(tmp_path / "store.db")
    yield s
    s.close()


async def next_event(watcher: Watcher) -> Event:
    async with asyncio.timeout(5):
        return await anext(watcher)


def churn(store: SqliteStore) -> None:
    """Revisions 1-10: three keys, several versions each, one deleted, one re-created."""
    store.create("/a", b"a1")  # 1
    store.create("/b", b"b1")  # 2
    store.create("/c", b"c1")  # 3
    store.update("/a", b"a2")  # 4
    store.update("/b", b"b2")  # 5
    store.delete("/c")  # 6
    store.update("/a", b"a3")  # 7
    store.create("/c", b"c2")  # 8
    store.update("/b", b"b3")  # 9
    store.update("/c", b"c3")  # 10


def log_revisions(path: pathlib.Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [r for (r,) in conn.execute("SELECT revision FROM log ORDER BY revision")]
    finally:
        conn.close()


def test_compaction_keeps_every_live_value(store: SqliteStore) -> None:
    """Compacting all history leaves get, list and count exactly as they were."""
    churn(store)
    before = store.list("")
    assert store.compact(0) == 10
    assert store.compact_revision == 10
    assert store.list("") == before
    assert store.count("") == 3
    assert store.revision == 10


def test_compaction_drops_superseded_rows_and_tombstones(tmp_path: pathlib.Path) -> None:
    """Below the compact revision the file keeps only each key's newest non-deleted row."""
    path = tmp_path / "store.db"
    with SqliteStore.open(path) as store:
        churn(store)
        assert store.compact(3) == 7  # keep the last three revisions: 8, 9, 10
    # /a's newest at or below 7 is 7; /b's is 5 (9 replaces it); /c's is the tombstone 6.
    assert log_revisions(path) == [5, 7, 8, 9, 10]


def test_watch_from_before_the_compact_revision_raises_compacted(store: SqliteStore) -> None:
    """A watch starting below the compact revision raises Compacted with both revisions."""
    churn(store)
    store.compact(4)
    with pytest.raises(Compacted) as e:
        store.watch("", 5)
    assert (e.value.requested, e.value.compacted) == (5, 6)


async def test_watch_from_the_compact_revision_replays_with_previous_values(
    store: SqliteStore,
) -> None:
    """Events after the compact revision still carry the versions they replaced."""
    churn(store)
    store.compact(5)
    with store.watch("", 5) as watcher:
        events = [await next_event(watcher) for _ in range(5)]
    summary = [
        (e.type, e.kv.key, e.kv.value, e.revision, e.prev and (e.prev.value, e.prev.mod_revision))
        for e in events
    ]
    assert summary == [
        (EventType.DELETE, "/c", b"c1", 6, (b"c1", 3)),
        (EventType.PUT, "/a", b"a3", 7, (b"a2", 4)),
        (EventType.PUT, "/c", b"c2", 8, None),
        (EventType.PUT, "/b", b"b3", 9, (b"b2", 5)),
        (EventType.PUT, "/c", b"c3", 10, (b"c2", 8)),
    ]


def test_compact_that_would_go_backwards_is_a_no_op(store: SqliteStore) -> None:
    """Asking to keep more history than is left changes nothing and returns the old mark."""
    churn(store)
    assert store.compact(2) == 8
    assert store.compact(5) == 8
    assert store.compact(100) == 8
    with pytest.raises(ValueError, match="keep"):
        store.compact(-1)


async def test_a_replaying_watcher_holds_compaction_back(store: SqliteStore) -> None:
    """Compaction stops at what a replaying watcher has read, so it misses nothing."""
    total = HISTORY_PAGE * 2 + 10
    store.create("/k", b"0")
    for i in range(1, total):
        store.update("/k", str(i).encode())
    with store.watch("", 0) as watcher:
        first = await next_event(watcher)  # reads the first page only
        assert store.compact(0) == HISTORY_PAGE
        rest = [await next_event(watcher) for _ in range(total - 1)]
    assert [e.revision for e in [first, *rest]] == list(range(1, total + 1))
    assert all(e.prev is not None and e.prev.mod_revision == e.revision - 1 for e in rest)
    assert store.compact(0) == total
