"""The storage contract: what a key-value revision log gives the API server.

Shaped after etcd's data model as k3s' kine maps it onto SQL: every write gets the next
global revision, which becomes the object's ``resourceVersion``; a key remembers the
revision it was created at and the revision of its last change; deletes leave a tombstone
in the log so watchers see them. Only the apiserver uses this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One version of one key. ``value`` is the serialized object (JSON bytes)."""

    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(StrEnum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    """One change, as a watcher receives it.

    For PUT, ``kv`` is the new version and ``prev`` the one it replaced (None on create).
    For DELETE, ``kv`` is the last live version with ``mod_revision`` set to the revision
    of the delete, and ``prev`` is that same last live version as stored.
    """

    type: EventType
    kv: KeyValue
    prev: KeyValue | None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision

    @property
    def created(self) -> bool:
        return self.type is EventType.PUT and self.prev is None


class StorageError(Exception):
    """Base of the store's error tree; the apiserver translates each once."""


class KeyExists(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key exists: {key}")
        self.key = key


class KeyNotFound(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class RevisionMismatch(StorageError):
    """A compare-and-swap lost: the key's current revision is not the expected one."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"revision mismatch on {key}: expected {expected}, found {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class Compacted(StorageError):
    """The requested revision is older than the oldest one the log still holds."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"revision {requested} is compacted (oldest {compacted})")
        self.requested = requested
        self.compacted = compacted


class WatcherTooSlow(StorageError):
    """A watcher's bounded buffer overflowed; it must relist."""


class StoreClosed(StorageError):
    """The store was closed while an operation or watch was in flight."""


class StoreFailed(StorageError):
    """The database could not be opened or refused a write.

    Raised for a file that is not a store, a schema from a newer kubeproc, a store held by
    another process, or an I/O error (disk full). The store's in-memory state is unchanged.
    """
