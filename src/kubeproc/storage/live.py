"""The live keys: the newest version of every key that exists, held in memory.

Owned by ``SqliteStore``, which loads it from the revision log on open and applies each
write to it after the log has committed that write. Reads (get, list, count) never touch
SQLite: the apiserver serves lists of thousands of objects and a Python dict plus a sorted
list of keys answers them in O(log n + page) time.

A plain sorted ``list`` with ``bisect`` is the index: inserting or removing a key moves at
most a few tens of thousands of pointers (microseconds), far cheaper than the SQLite
commit that precedes it, and it needs no dependency. Keys compare as Python strings,
which is code-point order, the same order as SQLite's BINARY collation of UTF-8 text.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right, insort
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kubeproc.storage.types import KeyValue


class LiveKeys:
    """A dict of key-values plus the sorted list of their keys."""

    def __init__(self, kvs: Iterable[KeyValue] = ()) -> None:
        self._kvs: dict[str, KeyValue] = {kv.key: kv for kv in kvs}
        self._keys: list[str] = sorted(self._kvs)

    def __len__(self) -> int:
        return len(self._kvs)

    def get(self, key: str) -> KeyValue | None:
        return self._kvs.get(key)

    def put(self, kv: KeyValue) -> None:
        """Insert a new key or replace the version of an existing one."""
        if kv.key not in self._kvs:
            insort(self._keys, kv.key)
        self._kvs[kv.key] = kv

    def remove(self, key: str) -> None:
        del self._kvs[key]
        index = bisect_left(self._keys, key)
        del self._keys[index]

    def list(
        self, prefix: str, *, start_after: str | None = None, limit: int = 0
    ) -> tuple[list[KeyValue], bool]:
        """Key-values under ``prefix`` sorted by key, strictly after ``start_after``.

        ``limit`` 0 means all; the flag says whether more keys under ``prefix`` remain.
        """
        if limit < 0:
            raise ValueError(f"limit must be 0 (all) or positive, not {limit}")
        lo, hi = self._span(prefix)
        if start_after is not None:
            lo = max(lo, bisect_right(self._keys, start_after, lo, hi))
        stop = hi if limit == 0 else min(hi, lo + limit)
        return [self._kvs[key] for key in self._keys[lo:stop]], stop < hi

    def count(self, prefix: str) -> int:
        lo, hi = self._span(prefix)
        return hi - lo

    def _span(self, prefix: str) -> tuple[int, int]:
        """Indexes [lo, hi) of the sorted keys that start with ``prefix``."""
        lo = bisect_left(self._keys, prefix)
        end = prefix_end(prefix)
        hi = len(self._keys) if end is None else bisect_left(self._keys, end, lo)
        return lo, hi


def prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``; None if unbounded.

    As etcd's range end for a prefix: bump the last character that can be bumped.
    """
    stripped = prefix.rstrip(chr(sys.maxunicode))
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)
