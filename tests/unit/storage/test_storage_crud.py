"""SqliteStore create, get, update, delete: revisions, compare-and-swap and tombstones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from kubeproc.storage import (
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionMismatch,
    SqliteStore,
    StoreClosed,
)

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Callable, Iterator


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Iterator[SqliteStore]:
    s = SqliteStore.open(tmp_path / "store.db")
    yield s
    s.close()


def test_new_store_starts_at_revision_zero(store: SqliteStore) -> None:
    """A new store is empty at revision 0 with nothing compacted."""
    assert store.revision == 0
    assert store.compact_revision == 0
    assert store.get("/a") is None
    assert store.list("") == ([], False)


def test_create_assigns_next_revision_as_create_and_mod(store: SqliteStore) -> None:
    """Create gives the key the next global revision as both create and mod revision."""
    kv = store.create("/pods/default/a", b"v1")
    assert kv == KeyValue("/pods/default/a", b"v1", create_revision=1, mod_revision=1)
    assert store.get("/pods/default/a") == kv
    assert store.revision == 1


def test_create_existing_key_raises_and_consumes_no_revision(store: SqliteStore) -> None:
    """Creating a live key raises KeyExists and leaves value and revision alone."""
    store.create("/a", b"v1")
    with pytest.raises(KeyExists) as e:
        store.create("/a", b"v2")
    assert e.value.key == "/a"
    assert store.get("/a") == KeyValue("/a", b"v1", 1, 1)
    assert store.revision == 1


def test_update_keeps_create_revision_and_bumps_mod_revision(store: SqliteStore) -> None:
    """Update writes a new revision and keeps the key's create revision."""
    store.create("/a", b"v1")
    store.create("/b", b"x")
    kv = store.update("/a", b"v2")
    assert kv == KeyValue("/a", b"v2", create_revision=1, mod_revision=3)
    assert store.get("/a") == kv


def test_update_with_matching_expected_revision_succeeds(store: SqliteStore) -> None:
    """A compare-and-swap update against the current mod revision wins."""
    first = store.create("/a", b"v1")
    kv = store.update("/a", b"v2", expected_revision=first.mod_revision)
    assert kv.value == b"v2"
    assert kv.mod_revision == 2


def test_update_with_stale_expected_revision_conflicts(store: SqliteStore) -> None:
    """A compare-and-swap update against an old revision raises and changes nothing."""
    store.create("/a", b"v1")
    store.update("/a", b"v2")
    with pytest.raises(RevisionMismatch) as e:
        store.update("/a", b"v3", expected_revision=1)
    assert (e.value.key, e.value.expected, e.value.actual) == ("/a", 1, 2)
    assert store.get("/a") == KeyValue("/a", b"v2", 1, 2)
    assert store.revision == 2


def test_update_missing_key_raises_key_not_found(store: SqliteStore) -> None:
    """Updating a key that does not exist raises KeyNotFound."""
    with pytest.raises(KeyNotFound) as e:
        store.update("/nope", b"v")
    assert e.value.key == "/nope"
    assert store.revision == 0


def test_delete_returns_last_value_at_the_delete_revision(store: SqliteStore) -> None:
    """Delete returns the last live value stamped with the delete's revision."""
    store.create("/a", b"v1")
    store.update("/a", b"v2")
    kv = store.delete("/a")
    assert kv == KeyValue("/a", b"v2", create_revision=1, mod_revision=3)
    assert store.get("/a") is None
    assert store.count("") == 0
    assert store.revision == 3


def test_deleted_key_can_be_created_again_with_a_new_create_revision(store: SqliteStore) -> None:
    """After a delete, creating the key starts a new life with a new create revision."""
    store.create("/a", b"v1")
    store.delete("/a")
    kv = store.create("/a", b"again")
    assert kv == KeyValue("/a", b"again", create_revision=3, mod_revision=3)


def test_delete_with_stale_expected_revision_conflicts(store: SqliteStore) -> None:
    """A compare-and-swap delete against an old revision raises and keeps the key."""
    store.create("/a", b"v1")
    store.update("/a", b"v2")
    with pytest.raises(RevisionMismatch):
        store.delete("/a", expected_revision=1)
    assert store.get("/a") == KeyValue("/a", b"v2", 1, 2)
    assert store.delete("/a", expected_revision=2).mod_revision == 3


def test_delete_missing_key_raises_key_not_found(store: SqliteStore) -> None:
    """Deleting a key that does not exist (or no longer does) raises KeyNotFound."""
    store.create("/a", b"v1")
    store.delete("/a")
    with pytest.raises(KeyNotFound):
        store.delete("/a")
    assert store.revision == 2


def test_revision_is_one_global_counter_across_keys(store: SqliteStore) -> None:
    """Every write to any key takes exactly the next revision."""
    revisions = [
        store.create("/a", b"1").mod_revision,
        store.create("/b", b"1").mod_revision,
        store.update("/a", b"2").mod_revision,
        store.delete("/b").mod_revision,
        store.create("/c", b"1").mod_revision,
        store.update("/c", b"2").mod_revision,
    ]
    assert revisions == [1, 2, 3, 4, 5, 6]
    assert store.revision == 6


def test_closed_store_refuses_every_operation(tmp_path: pathlib.Path) -> None:
    """After close, reads, writes and watches raise StoreClosed; close is idempotent."""
    store = SqliteStore.open(tmp_path / "store.db")
    store.create("/a", b"v")
    store.close()
    store.close()
    calls: list[Callable[[], object]] = [
        lambda: store.get("/a"),
        lambda: store.list(""),
        lambda: store.count(""),
        lambda: store.create("/b", b"v"),
        lambda: store.update("/a", b"v"),
        lambda: store.delete("/a"),
        lambda: store.compact(0),
        lambda: store.watch("", 0),
    ]
    for call in calls:
        with pytest.raises(StoreClosed):
            call()
