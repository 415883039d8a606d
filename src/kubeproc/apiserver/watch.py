"""Watches: the revision log's changes as one watcher's ADDED, MODIFIED and DELETED events.

Owns the translation kube-apiserver's cacher does: the current objects first for a watch
from ``""`` or ``"0"``, then each store change filtered by the watch's selectors, where an
object moving into the selection is ADDED and one moving out is DELETED. Talks to the
store (a snapshot and a subscription, taken with no await between them) and shares the
object store's decoded cache; ``watchstream`` puts the events on the wire.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from kubeproc.api.errors import BadRequest, Gone, StatusError
from kubeproc.api.resources import ResourceType
from kubeproc.api.selectors import FieldSelector, LabelSelector
from kubeproc.apiserver.codec import DecodedCache, decode, present
from kubeproc.apiserver.listing import matches
from kubeproc.apiserver.records import WatchEvent
from kubeproc.storage import Compacted, Event, EventType, SqliteStore, Watcher


class Watches:
    """Opens watches on one store; the decoded cache is the object store's."""

    def __init__(self, store: SqliteStore, cache: DecodedCache) -> None:
        self.store = store
        self._cache = cache

    def open(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        resource_version: str,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> AsyncIterator[WatchEvent]:
        """Events after ``resource_version`` (all current objects first for 0 or "").

        Opening is synchronous so a malformed resourceVersion fails before the response
        starts, while a compacted one fails on the first step (an ERROR event in a 200
        stream, as kube-apiserver answers); the snapshot and the subscription are taken
        with no await between them, so no change can fall in the gap.
        """
        prefix = rt.prefix(namespace)
        initial: list[dict[str, Any]] = []
        if resource_version in ("", "0"):
            start = self.store.revision
            kvs, _ = self.store.list(prefix)
            initial = [self._cache.decode(kv) for kv in kvs]
        else:
            try:
                start = int(resource_version)
            except ValueError:
                raise BadRequest(f'invalid resource version "{resource_version}"') from None
        try:
            watcher = self.store.watch(prefix, start)
        except Compacted as err:
            # kube-apiserver accepts such a watch (200) and sends one ERROR event (410
            # Expired), so clients read it in-stream and relist.
            return _Failed(Gone(f"too old resource version: {start} ({err.compacted})"))
        return self._events(
            rt, watcher=watcher, initial=initial, start=start, labels=labels, fields=fields
        )

    async def _events(
        self,
        rt: ResourceType,
        *,
        watcher: Watcher,
        initial: list[dict[str, Any]],
        start: int,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> AsyncIterator[WatchEvent]:
        try:
            for obj in initial:
                if matches(rt, obj, labels, fields):
                    yield WatchEvent("ADDED", present(rt, obj), start)
            async for ev in watcher:
                out = self._translate(rt, ev, labels, fields)
                if out is not None:
                    yield out
        finally:
            watcher.close()

    def _translate(
        self,
        rt: ResourceType,
        ev: Event,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> WatchEvent | None:
        """A store change as this watch sees it; moving across the selector is ADDED/DELETED."""
        if ev.type is EventType.DELETE:
            self._cache.forget(ev.kv.key)
            last = decode(ev.kv)
            if matches(rt, last, labels, fields):
                return WatchEvent("DELETED", present(rt, last), ev.revision)
            return None
        obj = self._cache.decode(ev.kv)
        now_in = matches(rt, obj, labels, fields)
        if ev.prev is None:
            return WatchEvent("ADDED", present(rt, obj), ev.revision) if now_in else None
        prev = json.loads(ev.prev.value)
        was_in = matches(rt, prev, labels, fields)
        if now_in:
            kind = "MODIFIED" if was_in else "ADDED"
            return WatchEvent(kind, present(rt, obj), ev.revision)
        if was_in:
            # As kube-apiserver's cacher: the last state the watcher was shown, at the
            # revision of the change that moved it out.
            prev["metadata"]["resourceVersion"] = str(ev.revision)
            return WatchEvent("DELETED", present(rt, prev), ev.revision)
        return None


class _Failed:
    """A watch whose first step raises ``err``; the stream sends it as an ERROR event."""

    def __init__(self, err: StatusError) -> None:
        self._err = err

    def __aiter__(self) -> _Failed:
        return self

    async def __anext__(self) -> WatchEvent:
        raise self._err
