"""ObjectStore reads on a real SqliteStore: list pages, watch versions, selectors, expiry."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest

from kubeproc.api.errors import Gone
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.api.selectors import FieldSelector, LabelSelector
from kubeproc.apiserver.bootstrap import ensure_system_namespaces
from kubeproc.apiserver.objects import DeleteOptions, ObjectStore, WatchEvent, WriteOptions
from kubeproc.storage import SqliteStore, WatcherTooSlow
from kubeproc.util.clock import FakeClock

if TYPE_CHECKING:
    import pathlib
    from collections.abc import AsyncIterator, Iterator

OPTS = WriteOptions(field_manager="test")
_CONFIGMAPS = REGISTRY.get("", "v1", "configmaps")
assert _CONFIGMAPS is not None
CONFIGMAPS: ResourceType = _CONFIGMAPS


def open_objects(path: pathlib.Path, watch_buffer: int = 1000) -> ObjectStore:
    store = SqliteStore.open(path, watch_buffer=watch_buffer)
    objs = ObjectStore(store, REGISTRY, FakeClock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)))
    ensure_system_namespaces(objs, REGISTRY)
    return objs


@pytest.fixture
def objects(tmp_path: pathlib.Path) -> Iterator[ObjectStore]:
    objs = open_objects(tmp_path / "state.db")
    yield objs
    objs.store.close()


def create(objects: ObjectStore, name: str, **labels: str) -> dict[str, Any]:
    body = {"metadata": {"name": name, "labels": labels}}
    return objects.create(CONFIGMAPS, "default", body, OPTS)


def relabel(objects: ObjectStore, name: str, **labels: str) -> dict[str, Any]:
    def mutate(cur: dict[str, Any]) -> dict[str, Any]:
        cur["metadata"]["labels"] = labels
        return cur

    return objects.patch(CONFIGMAPS, "default", name, mutate, OPTS)


def set_data(objects: ObjectStore, name: str, value: str) -> dict[str, Any]:
    def mutate(cur: dict[str, Any]) -> dict[str, Any]:
        cur["data"] = {"k": value}
        return cur

    return objects.patch(CONFIGMAPS, "default", name, mutate, OPTS)


async def take(events: AsyncIterator[WatchEvent], n: int) -> list[tuple[str, str, int]]:
    """The next ``n`` events as (type, name, resourceVersion)."""
    out = []
    async with asyncio.timeout(5):
        for _ in range(n):
            ev = await anext(events)
            meta = ev.object["metadata"]
            out.append((ev.type, meta["name"], int(meta["resourceVersion"])))
    return out


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def test_pages_return_each_object_once_at_the_first_pages_version(objects: ObjectStore) -> None:
    """limit/continue: every object exactly once, and every page reports the first's version."""
    for i in range(7):
        create(objects, f"c{i}")
    first = objects.list(CONFIGMAPS, "default", limit=3)
    set_data(objects, "c0", "changed")
    pages = [first]
    while pages[-1].continue_token:
        pages.append(
            objects.list(CONFIGMAPS, "default", limit=3, continue_token=pages[-1].continue_token)
        )
    names = [i["metadata"]["name"] for p in pages for i in p.items]
    assert names == [f"c{i}" for i in range(7)]
    assert {p.resource_version for p in pages} == {first.resource_version}
    assert int(first.resource_version) < objects.store.revision


def test_continue_from_a_compacted_version_is_gone(objects: ObjectStore) -> None:
    """A continue token older than the compacted revision expires (410)."""
    for i in range(3):
        create(objects, f"c{i}")
    first = objects.list(CONFIGMAPS, "default", limit=1)
    set_data(objects, "c0", "changed")
    objects.store.compact(0)
    with pytest.raises(Gone):
        objects.list(CONFIGMAPS, "default", limit=1, continue_token=first.continue_token)


async def test_watch_sends_only_events_newer_than_the_version(objects: ObjectStore) -> None:
    """From a resourceVersion: strictly later changes only, each at its own revision."""
    create(objects, "a")
    start = objects.list(CONFIGMAPS, "default").resource_version
    events = objects.open_watch(
        CONFIGMAPS, "default", resource_version=start, labels=None, fields=None
    )
    changed = set_data(objects, "a", "1")
    made = create(objects, "b")
    removed, _ = objects.delete(CONFIGMAPS, "default", "a", DeleteOptions())
    assert await take(events, 3) == [
        ("MODIFIED", "a", rv(changed)),
        ("ADDED", "b", rv(made)),
        ("DELETED", "a", rv(removed)),
    ]
    await events.aclose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", ["", "0"])
async def test_watch_without_a_version_starts_with_current_objects(
    objects: ObjectStore, version: str
) -> None:
    """resourceVersion "" or "0": a synthetic ADDED per current object, then changes."""
    a = create(objects, "a")
    b = create(objects, "b")
    events = objects.open_watch(
        CONFIGMAPS, "default", resource_version=version, labels=None, fields=None
    )
    changed = set_data(objects, "a", "1")
    assert await take(events, 3) == [
        ("ADDED", "a", rv(a)),
        ("ADDED", "b", rv(b)),
        ("MODIFIED", "a", rv(changed)),
    ]
    await events.aclose()  # type: ignore[attr-defined]


async def test_selector_transitions_are_added_and_deleted(objects: ObjectStore) -> None:
    """Leaving a selector is DELETED with the last matching state; entering it is ADDED."""
    create(objects, "x", app="web")
    create(objects, "y", app="db")
    start = str(objects.store.revision)
    events = objects.open_watch(
        CONFIGMAPS,
        "default",
        resource_version=start,
        labels=LabelSelector.parse("app=web"),
        fields=None,
    )
    out = relabel(objects, "x", app="db")
    set_data(objects, "x", "outside")
    into = relabel(objects, "y", app="web")
    async with asyncio.timeout(5):
        left = await anext(events)
        entered = await anext(events)
    assert (left.type, left.object["metadata"]["labels"]) == ("DELETED", {"app": "web"})
    assert left.object["metadata"]["resourceVersion"] == str(rv(out))
    assert (entered.type, entered.object["metadata"]["resourceVersion"]) == ("ADDED", str(rv(into)))
    await events.aclose()  # type: ignore[attr-defined]


async def test_field_selector_watch_follows_one_name(objects: ObjectStore) -> None:
    """fieldSelector metadata.name: only that object's events."""
    create(objects, "one")
    create(objects, "two")
    events = objects.open_watch(
        CONFIGMAPS,
        "default",
        resource_version="0",
        labels=None,
        fields=FieldSelector.parse("metadata.name=one"),
    )
    set_data(objects, "two", "1")
    changed = set_data(objects, "one", "1")
    first, second = await take(events, 2)
    assert first[:2] == ("ADDED", "one")
    assert second == ("MODIFIED", "one", rv(changed))
    await events.aclose()  # type: ignore[attr-defined]


async def test_watch_from_a_compacted_version_fails_in_the_stream(objects: ObjectStore) -> None:
    """Opening succeeds (the response is 200); the first step raises Gone, 410 Expired."""
    create(objects, "a")
    old = str(objects.store.revision)
    set_data(objects, "a", "1")
    set_data(objects, "a", "2")
    compacted = objects.store.compact(0)
    events = objects.open_watch(
        CONFIGMAPS, "default", resource_version=old, labels=None, fields=None
    )
    with pytest.raises(Gone) as err:
        await anext(events)
    status = err.value.status()
    assert (status["code"], status["reason"]) == (410, "Expired")
    assert status["message"] == f"too old resource version: {old} ({compacted})"


async def test_a_watcher_that_falls_behind_is_ended(tmp_path: pathlib.Path) -> None:
    """Overflowing the per-watcher buffer ends the watch, so the stream can send 410."""
    objects = open_objects(tmp_path / "state.db", watch_buffer=4)
    try:
        create(objects, "a")
        events = objects.open_watch(
            CONFIGMAPS,
            "default",
            resource_version=str(objects.store.revision),
            labels=None,
            fields=None,
        )
        for i in range(6):
            set_data(objects, "a", str(i))
        with pytest.raises(WatcherTooSlow):
            async with asyncio.timeout(5):
                await anext(events)
    finally:
        objects.store.close()
