"""SqliteStore on disk: reopening restores the exact state, bad files fail clearly."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from kubeproc.storage import EventType, KeyExists, KeyValue, SqliteStore, StoreFailed

if TYPE_CHECKING:
    import pathlib


def write_some(store: SqliteStore) -> None:
    store.create("/registry/pods/default/a", b'{"a":1}')
    store.create("/registry/pods/default/b", b'{"b":1}')
    store.update("/registry/pods/default/a", b'{"a":2}')
    store.create("/registry/services/default/s", b"{}")
    store.delete("/registry/pods/default/b")
    store.update("/registry/services/default/s", b'{"s":2}')


def test_reopened_store_has_identical_state(tmp_path: pathlib.Path) -> None:
    """Close and open again: same keys, values, create and mod revisions, same revision."""
    path = tmp_path / "store.db"
    with SqliteStore.open(path) as store:
        write_some(store)
        before = store.list("")
        revision = store.revision
    with SqliteStore.open(path) as store:
        assert store.list("") == before
        assert store.revision == revision == 6
        assert store.get("/registry/pods/default/a") == KeyValue(
            "/registry/pods/default/a", b'{"a":2}', create_revision=1, mod_revision=3
        )
        assert store.get("/registry/pods/default/b") is None


def test_reopened_store_continues_the_revision_counter(tmp_path: pathlib.Path) -> None:
    """The first write after reopening takes the revision after the last one written."""
    path = tmp_path / "store.db"
    with SqliteStore.open(path) as store:
        write_some(store)
    with SqliteStore.open(path) as store:
        assert store.create("/new", b"").mod_revision == 7
        with pytest.raises(KeyExists):
            store.create("/registry/pods/default/a", b"")


async def test_reopened_store_replays_history_including_tombstones(
    tmp_path: pathlib.Path,
) -> None:
    """A watch on a reopened store replays the same events, deletes included."""
    path = tmp_path / "store.db"
    with SqliteStore.open(path) as store:
        write_some(store)
    with SqliteStore.open(path) as store, store.watch("/registry/pods/", 0) as watcher:
        events = [await anext(watcher) for _ in range(4)]
    assert [(e.type, e.kv.key, e.revision) for e in events] == [
        (EventType.PUT, "/registry/pods/default/a", 1),
        (EventType.PUT, "/registry/pods/default/b", 2),
        (EventType.PUT, "/registry/pods/default/a", 3),
        (EventType.DELETE, "/registry/pods/default/b", 5),
    ]
    assert events[3].kv == KeyValue("/registry/pods/default/b", b'{"b":1}', 2, 5)


def test_compaction_state_survives_reopen(tmp_path: pathlib.Path) -> None:
    """The compact revision persists, and so does the counter when the head was compacted."""
    path = tmp_path / "store.db"
    with SqliteStore.open(path) as store:
        write_some(store)
        store.delete("/registry/services/default/s")  # the newest row is a tombstone
        assert store.compact(0) == 7
    with SqliteStore.open(path) as store:
        assert store.compact_revision == 7
        assert store.revision == 7
        assert store.create("/next", b"").mod_revision == 8


def test_second_open_of_a_store_in_use_fails_clearly(tmp_path: pathlib.Path) -> None:
    """While one store holds the file, opening it again raises StoreFailed; after close it opens."""
    path = tmp_path / "store.db"
    with SqliteStore.open(path) as store:
        store.create("/a", b"")
        with pytest.raises(StoreFailed, match="held by another process"):
            SqliteStore.open(path)
    with SqliteStore.open(path) as store:
        assert store.revision == 1


def test_file_that_is_not_a_store_fails_clearly(tmp_path: pathlib.Path) -> None:
    """Opening a file that is not a SQLite database raises StoreFailed naming the path."""
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database, just text padded out. " * 100)
    with pytest.raises(StoreFailed, match=str(path)):
        SqliteStore.open(path)


def test_missing_directory_fails_clearly(tmp_path: pathlib.Path) -> None:
    """Opening a store in a directory that does not exist raises StoreFailed."""
    with pytest.raises(StoreFailed, match="cannot open store"):
        SqliteStore.open(tmp_path / "absent" / "store.db")


def test_store_from_a_newer_schema_is_refused(tmp_path: pathlib.Path) -> None:
    """A store whose schema version is newer than this code raises StoreFailed."""
    path = tmp_path / "store.db"
    SqliteStore.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreFailed, match="schema 99 is newer"):
        SqliteStore.open(path)


def test_every_write_is_in_the_file_before_close(tmp_path: pathlib.Path) -> None:
    """Each acknowledged write is committed: a copy of the files taken while open has it."""
    path = tmp_path / "store.db"
    with SqliteStore.open(path) as store:
        store.create("/a", b"1")
        store.update("/a", b"2")
        # Simulate a crash: copy the database and its WAL as they are now, while open.
        crash = tmp_path / "crash.db"
        crash.write_bytes(path.read_bytes())
        (tmp_path / "crash.db-wal").write_bytes((tmp_path / "store.db-wal").read_bytes())
    with SqliteStore.open(crash) as recovered:
        assert recovered.get("/a") == KeyValue("/a", b"2", 1, 2)
        assert recovered.revision == 2
