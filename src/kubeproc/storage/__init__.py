"""The embedded store: a SQLite revision log with watch fan-out, used only by the apiserver.

``SqliteStore`` is the door; the error tree and records come from ``types``.
"""

from kubeproc.storage.sqlite import SqliteStore
from kubeproc.storage.types import (
    Compacted,
    Event,
    EventType,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionMismatch,
    StorageError,
    StoreClosed,
    StoreFailed,
    WatcherTooSlow,
)
from kubeproc.storage.watch import Watcher

__all__ = [
    "Compacted",
    "Event",
    "EventType",
    "KeyExists",
    "KeyNotFound",
    "KeyValue",
    "RevisionMismatch",
    "SqliteStore",
    "StorageError",
    "StoreClosed",
    "StoreFailed",
    "Watcher",
    "WatcherTooSlow",
]
