"""SqliteStore list and count: prefix ranges, key order and pagination."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from kubeproc.storage import KeyValue, SqliteStore
from kubeproc.storage.live import prefix_end

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterator

KEYS = [
    "/registry/pods/default/b",
    "/registry/pods/default/a",
    "/registry/pods/kube-system/c",
    "/registry/pods-extra/x",
    "/registry/pod",
    "/registry/services/default/s",
]


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Iterator[SqliteStore]:
    s = SqliteStore.open(tmp_path / "store.db")
    for key in KEYS:
        s.create(key, key.encode())
    yield s
    s.close()


def keys(kvs: list[KeyValue]) -> list[str]:
    return [kv.key for kv in kvs]


def test_list_returns_only_keys_under_prefix_sorted(store: SqliteStore) -> None:
    """List returns exactly the keys starting with the prefix, in key order."""
    kvs, more = store.list("/registry/pods/")
    assert keys(kvs) == [
        "/registry/pods/default/a",
        "/registry/pods/default/b",
        "/registry/pods/kube-system/c",
    ]
    assert not more
    assert [kv.value for kv in kvs] == [k.encode() for k in keys(kvs)]


def test_empty_prefix_lists_every_key(store: SqliteStore) -> None:
    """The empty prefix covers the whole keyspace."""
    kvs, more = store.list("")
    assert keys(kvs) == sorted(KEYS)
    assert not more
    assert store.count("") == len(KEYS)


def test_pagination_walks_every_key_once(store: SqliteStore) -> None:
    """Pages of limit keys, continued after the last key, cover the prefix exactly once."""
    pages: list[list[str]] = []
    start_after = None
    while True:
        kvs, more = store.list("/registry/", start_after=start_after, limit=2)
        pages.append(keys(kvs))
        if not more:
            break
        start_after = kvs[-1].key
    assert [len(page) for page in pages] == [2, 2, 2]
    assert [k for page in pages for k in page] == sorted(KEYS)


def test_more_is_false_when_the_limit_ends_exactly_at_the_last_key(store: SqliteStore) -> None:
    """A page that ends on the prefix's last key reports nothing more."""
    kvs, more = store.list("/registry/pods/", limit=3)
    assert len(kvs) == 3
    assert not more


def test_start_after_need_not_be_an_existing_key(store: SqliteStore) -> None:
    """Listing resumes strictly after any string, present in the store or not."""
    kvs, more = store.list("/registry/pods/", start_after="/registry/pods/default/aa")
    assert keys(kvs) == ["/registry/pods/default/b", "/registry/pods/kube-system/c"]
    assert not more
    assert store.list("/registry/pods/", start_after="/registry/pods/zzz") == ([], False)
    kvs, _ = store.list("/registry/pods/", start_after="/a")
    assert len(kvs) == 3


def test_count_counts_keys_under_prefix(store: SqliteStore) -> None:
    """Count agrees with list for several prefixes, including one matching nothing."""
    for prefix in ["/registry/pods/", "/registry/pod", "/registry/services/", "/nothing/"]:
        assert store.count(prefix) == len(store.list(prefix)[0])
    assert store.count("/registry/pod") == 5


def test_list_follows_writes(store: SqliteStore) -> None:
    """Deleted keys leave the listing, new ones join it, updates show their new value."""
    store.delete("/registry/pods/default/a")
    store.create("/registry/pods/default/0", b"new")
    store.update("/registry/pods/default/b", b"changed")
    kvs, _ = store.list("/registry/pods/default/")
    assert [(kv.key, kv.value) for kv in kvs] == [
        ("/registry/pods/default/0", b"new"),
        ("/registry/pods/default/b", b"changed"),
    ]


def test_negative_limit_is_rejected(store: SqliteStore) -> None:
    """A negative limit is a caller bug and raises ValueError."""
    with pytest.raises(ValueError, match="limit"):
        store.list("", limit=-1)


def test_prefix_ending_in_the_highest_character_still_bounds_the_range(
    tmp_path: pathlib.Path,
) -> None:
    """A prefix whose last character cannot be incremented still selects exactly its keys."""
    top = chr(sys.maxunicode)
    assert prefix_end("ab") == "ac"
    assert prefix_end("a" + top) == "b"
    assert prefix_end(top) is None
    assert prefix_end("") is None
    with SqliteStore.open(tmp_path / "s.db") as s:
        for key in ["a", "a" + top, "a" + top + "x", "b"]:
            s.create(key, b"")
        assert keys(s.list("a" + top)[0]) == ["a" + top, "a" + top + "x"]
        assert s.count("a" + top) == 2
