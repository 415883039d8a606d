"""``SqliteStore``: the embedded key-value revision store the apiserver keeps objects in.

The one public door of this package. It composes three parts and owns the rules that
bind them: the ``RevisionLog`` (``log.py``, the SQLite file, durable), the ``LiveKeys``
(``live.py``, the newest version of each key, in memory) and the ``Broadcaster``
(``watch.py``, watch fan-out). Only the apiserver calls it, always from its event-loop
thread, so the store takes no locks and every method runs to completion without awaiting.

Every write follows the same order: check the compare-and-swap against the live keys,
commit one row to the log, then update the live keys, the revision counter and the
watchers. If the commit fails nothing else changes, and nothing is acknowledged that a
crash could lose. Reads are served from memory alone.

Revisions are etcd's: one global counter across all keys, one revision per write, and
each key remembers its create revision. A reopened store rebuilds its live keys from the
log and continues the counter where it stopped.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Self

from kubeproc.storage.live import LiveKeys
from kubeproc.storage.log import RevisionLog
from kubeproc.storage.types import (
    Compacted,
    Event,
    EventType,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionMismatch,
    StoreClosed,
)
from kubeproc.storage.watch import Broadcaster, Watcher

if TYPE_CHECKING:
    import pathlib
    from types import TracebackType

logger = logging.getLogger(__name__)


class SqliteStore:
    """A revision log in SQLite (WAL) with an in-memory index. Create with :meth:`open`."""

    def __init__(
        self,
        log: RevisionLog,
        live: LiveKeys,
        *,
        revision: int,
        compact_revision: int,
        watch_buffer: int,
    ) -> None:
        self._log = log
        self._live = live
        self._revision = revision
        self._compact_revision = compact_revision
        self._broadcaster = Broadcaster(watch_buffer)
        self._closed = False

    @classmethod
    def open(cls, path: pathlib.Path, *, watch_buffer: int = 1000) -> SqliteStore:
        """Open the store at ``path``, creating it if absent.

        Raises ``StoreFailed`` if the file cannot be opened, is not a store, or is held by
        another process. ``watch_buffer`` bounds the events each watcher may fall behind.
        """
        log = RevisionLog.open(path)
        try:
            kvs, revision, compact_revision = log.load()
            store = cls(
                log,
                LiveKeys(kvs),
                revision=revision,
                compact_revision=compact_revision,
                watch_buffer=watch_buffer,
            )
        except BaseException:
            log.close()
            raise
        logger.info(
            "store opened path=%s revision=%d compact_revision=%d keys=%d",
            path,
            revision,
            compact_revision,
            len(kvs),
        )
        return store

    def close(self) -> None:
        """Close the database; every live watcher ends with ``StoreClosed``."""
        if self._closed:
            return
        self._closed = True
        self._broadcaster.close()
        self._log.close()
        logger.info("store closed path=%s revision=%d", self._log.path, self._revision)

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
    def revision(self) -> int:
        """The revision of the newest write; 0 on a new store."""
        return self._revision

    @property
    def compact_revision(self) -> int:
        """The oldest revision a watch may start after."""
        return self._compact_revision

    @property
    def watcher_count(self) -> int:
        """Watchers currently subscribed (for metrics and tests)."""
        return len(self._broadcaster)

    # Reads: memory only.

    def get(self, key: str) -> KeyValue | None:
        self._check_open()
        return self._live.get(key)

    def list(
        self, prefix: str, *, start_after: str | None = None, limit: int = 0
    ) -> tuple[list[KeyValue], bool]:
        """Keys under ``prefix`` sorted by key, strictly after ``start_after``.

        ``limit`` 0 returns all; the flag says whether more keys under ``prefix`` remain.
        """
        self._check_open()
        return self._live.list(prefix, start_after=start_after, limit=limit)

    def count(self, prefix: str) -> int:
        self._check_open()
        return self._live.count(prefix)

    # Writes: check, commit to the log, then apply and publish.

    def create(self, key: str, value: bytes) -> KeyValue:
        """Create ``key``; ``KeyExists`` if it is live."""
        self._check_open()
        if self._live.get(key) is not None:
            raise KeyExists(key)
        revision = self._revision + 1
        kv = KeyValue(key, value, create_revision=revision, mod_revision=revision)
        self._commit(Event(EventType.PUT, kv, None))
        return kv

    def update(self, key: str, value: bytes, *, expected_revision: int | None = None) -> KeyValue:
        """Replace ``key``'s value; ``KeyNotFound``, or ``RevisionMismatch`` if the CAS fails."""
        current = self._current(key, expected_revision)
        kv = KeyValue(key, value, current.create_revision, mod_revision=self._revision + 1)
        self._commit(Event(EventType.PUT, kv, current))
        return kv

    def delete(self, key: str, *, expected_revision: int | None = None) -> KeyValue:
        """Delete ``key``, leaving a tombstone in the log.

        Returns the last live value with ``mod_revision`` set to the delete's revision.
        """
        current = self._current(key, expected_revision)
        kv = KeyValue(key, current.value, current.create_revision, self._revision + 1)
        self._commit(Event(EventType.DELETE, kv, current))
        return kv

    def compact(self, keep: int) -> int:
        """Drop history older than ``revision - keep``; live values always stay.

        A watcher still replaying history holds compaction back to where it has read, so
        a started watch never loses events. Returns the new compact revision.
        """
        self._check_open()
        if keep < 0:
            raise ValueError(f"keep must not be negative, not {keep}")
        target = self._revision - keep
        floor = self._broadcaster.replay_floor()
        if floor is not None:
            target = min(target, floor)
        if target <= self._compact_revision:
            return self._compact_revision
        started = time.monotonic()
        deleted = self._log.compact(target)
        logger.info(
            "store compacted from=%d to=%d rows_deleted=%d seconds=%.3f",
            self._compact_revision,
            target,
            deleted,
            time.monotonic() - started,
        )
        self._compact_revision = target
        return target

    def watch(self, prefix: str, after_revision: int) -> Watcher:
        """Watch keys under ``prefix``: every event after ``after_revision``, then live ones.

        Raises ``Compacted`` if ``after_revision`` is older than the compact revision.
        """
        self._check_open()
        if after_revision < self._compact_revision:
            raise Compacted(after_revision, self._compact_revision)
        # Synchronous on the loop thread: no write can land between reading the revision
        # and subscribing, so history ends exactly where live delivery begins.
        return self._broadcaster.watch(prefix, after_revision, self._revision, self._log.history)

    def _current(self, key: str, expected_revision: int | None) -> KeyValue:
        self._check_open()
        current = self._live.get(key)
        if current is None:
            raise KeyNotFound(key)
        if expected_revision is not None and expected_revision != current.mod_revision:
            raise RevisionMismatch(key, expected_revision, current.mod_revision)
        return current

    def _commit(self, event: Event) -> None:
        self._log.append(event)
        if event.type is EventType.DELETE:
            self._live.remove(event.kv.key)
        else:
            self._live.put(event.kv)
        self._revision = event.revision
        self._broadcaster.publish(event)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("the store is closed")
