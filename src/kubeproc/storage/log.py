"""The SQLite revision log: the durable half of the store.

Owns the database file: its pragmas, its schema and every SQL statement. ``SqliteStore``
(``sqlite.py``) calls it to append one row per write, to load the live state on open, to
read history for watch replay and to compact. It knows nothing of watchers or of the
in-memory index, and it is the one place where ``sqlite3`` errors become ``StoreFailed``.

Shaped after k3s' kine: one append-only table, one row per revision (the revision is the
rowid); a row names its key, the revision the key was created at, the revision it replaced
(0 for a create) and whether it is a delete (a tombstone). Unlike kine, a row does not
carry a copy of the value it replaced: its predecessor is the row at ``prev_revision``,
and compaction keeps that row alive. Compacting at C deletes, for each key, the rows at or
below C that a newer row at or below C supersedes, and tombstones at or below C; the newest
surviving version at or below C stays (as etcd keeps the state at the compact revision),
so every row above C can still name the version it replaced. A tombstone's own value is
empty for the same reason: the deleted value is its predecessor's.

The connection holds the file in SQLite's exclusive locking mode: the store's live state
is cached in memory, so a second process writing behind it would be silently lost. WAL
with ``synchronous=NORMAL`` makes each committed write survive a crash of the process.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Final

from kubeproc.storage.types import Event, EventType, KeyValue, StoreFailed

if TYPE_CHECKING:
    import pathlib

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS log (
    revision        INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    value           BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_revision ON log (key, revision);
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

_INSERT: Final = (
    "INSERT INTO log (revision, key, create_revision, prev_revision, deleted, value)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

# SQLite's documented bare-column rule: with a single MAX() aggregate, the other columns
# come from the row holding the maximum, so this is each key's newest row.
_NEWEST_PER_KEY: Final = (
    "SELECT key, MAX(revision), create_revision, deleted, value FROM log GROUP BY key"
)

# A tombstone carries no value; both sides of its event come from its predecessor.
_HISTORY: Final = """
SELECT l.revision, l.key, l.create_revision, l.prev_revision, l.deleted, p.value, l.value
FROM log AS l LEFT JOIN log AS p ON p.revision = l.prev_revision
WHERE l.revision > ? AND l.revision <= ? AND substr(l.key, 1, ?) = ?
ORDER BY l.revision
LIMIT ?
"""

_COMPACT: Final = """
DELETE FROM log
WHERE revision <= :target AND (
    deleted = 1
    OR EXISTS (
        SELECT 1 FROM log AS newer
        WHERE newer.key = log.key
          AND newer.revision > log.revision
          AND newer.revision <= :target
    )
)
"""

_COMPACT_REVISION: Final = "compact_revision"


class RevisionLog:
    """One open store file. Create with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, path: pathlib.Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: pathlib.Path) -> RevisionLog:
        """Open or create the store at ``path`` and take its exclusive lock."""
        try:
            # timeout=0: a store held by another process fails now, not in five seconds.
            conn = sqlite3.connect(path, isolation_level=None, timeout=0)
        except sqlite3.Error as e:
            raise StoreFailed(f"cannot open store {path}: {e}") from e
        try:
            _prepare(conn)
        except sqlite3.Error as e:
            conn.close()
            reason = "held by another process" if _is_locked(e) else str(e)
            raise StoreFailed(f"cannot open store {path}: {reason}") from e
        except StoreFailed:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        """Close the connection; SQLite checkpoints the WAL into the main file."""
        self._conn.close()

    def load(self) -> tuple[list[KeyValue], int, int]:
        """The live key-values (sorted by key), the revision and the compact revision."""
        try:
            rows = self._conn.execute(_NEWEST_PER_KEY).fetchall()
            (newest,) = self._conn.execute("SELECT MAX(revision) FROM log").fetchone()
            compact_revision = self._read_meta(_COMPACT_REVISION)
        except sqlite3.Error as e:
            raise StoreFailed(f"cannot read store {self.path}: {e}") from e
        live = [
            KeyValue(key=key, value=value, create_revision=created, mod_revision=revision)
            for key, revision, created, deleted, value in rows
            if not deleted
        ]
        live.sort(key=lambda kv: kv.key)
        # A tombstone at the head of the log may have been compacted away; the compact
        # revision then remembers how far the counter had gone.
        return live, max(newest or 0, compact_revision), compact_revision

    def append(self, event: Event) -> None:
        """Persist one write; it is committed (durable) when this returns."""
        kv = event.kv
        deleted = event.type is EventType.DELETE
        row = (
            kv.mod_revision,
            kv.key,
            kv.create_revision,
            event.prev.mod_revision if event.prev is not None else 0,
            int(deleted),
            b"" if deleted else kv.value,
        )
        try:
            self._conn.execute(_INSERT, row)
        except sqlite3.Error as e:
            raise StoreFailed(f"cannot write {kv.key} to store {self.path}: {e}") from e

    def history(self, prefix: str, after: int, until: int, limit: int) -> list[Event]:
        """Up to ``limit`` events for keys under ``prefix`` with after < revision <= until.

        ``after`` must be at or above the compact revision, so every predecessor exists.
        """
        try:
            rows = self._conn.execute(
                _HISTORY, (after, until, len(prefix), prefix, limit)
            ).fetchall()
        except sqlite3.Error as e:
            raise StoreFailed(f"cannot read history from store {self.path}: {e}") from e
        return [_event(row) for row in rows]

    def compact(self, target: int) -> int:
        """Drop history at or below ``target`` that no reader after it needs; rows deleted."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                deleted = self._conn.execute(_COMPACT, {"target": target}).rowcount
                self._write_meta(_COMPACT_REVISION, target)
                self._conn.execute("COMMIT")
            except BaseException:
                _rollback(self._conn)
                raise
        except sqlite3.Error as e:
            raise StoreFailed(f"cannot compact store {self.path}: {e}") from e
        return deleted

    def _read_meta(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

    def _write_meta(self, name: str, value: int) -> None:
        self._conn.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


def _prepare(conn: sqlite3.Connection) -> None:
    """Set the pragmas, take the lock, create or check the schema."""
    # Exclusive before WAL: SQLite then keeps the WAL index in process memory (no -shm
    # file), and the first write below takes the lock for the life of the connection.
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        _check_version(conn)
        # Statement by statement: executescript() would commit the open transaction first.
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _check_version(conn: sqlite3.Connection) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreFailed(f"store schema {version} is newer than this kubeproc supports")


def _rollback(conn: sqlite3.Connection) -> None:
    # Some errors (a full disk) roll the transaction back on their own.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _is_locked(error: sqlite3.Error) -> bool:
    return error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


# revision, key, create_revision, prev_revision, deleted, predecessor's value, value
_HistoryRow = tuple[int, str, int, int, int, bytes | None, bytes]


def _event(row: _HistoryRow) -> Event:
    revision, key, create_revision, prev_revision, deleted, prev_value, value = row
    prev = None
    if prev_revision:
        if prev_value is None:  # the compaction invariant says this cannot happen
            raise StoreFailed(f"history of {key} at revision {revision} lost its predecessor")
        prev = KeyValue(key, prev_value, create_revision, prev_revision)
    if deleted:
        assert prev is not None, "a tombstone always names the version it deleted"
        return Event(EventType.DELETE, KeyValue(key, prev.value, create_revision, revision), prev)
    return Event(EventType.PUT, KeyValue(key, value, create_revision, revision), prev)
