"""The watch response: newline-delimited JSON events on a chunked HTTP stream.

Owns the wire side of a watch: Table or plain objects per the Accept header, BOOKMARK
events only when ``allowWatchBookmarks=true`` (an unrequested one shows up as a bogus row
in ``kubectl get -w``), ``timeoutSeconds``, and an ERROR event (410 Expired) when the store
drops a watcher that fell behind, so informers relist. The event source is drained by one
pump task owned by this handler, so waiting for a bookmark tick never cancels the source.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from kubeproc.api.errors import Gone, StatusError
from kubeproc.api.resources import ResourceType
from kubeproc.apiserver import responses
from kubeproc.apiserver.records import WatchEvent
from kubeproc.apiserver.requestoptions import flag
from kubeproc.storage import StoreClosed, WatcherTooSlow
from kubeproc.util.clock import Clock

BOOKMARK_INTERVAL = 30.0
_QUEUE_BOUND = 256


class _End:
    """Marks the end of the event source, with the error that ended it, if any."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _line(event_type: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


async def _pump(events: AsyncIterator[WatchEvent], queue: asyncio.Queue[WatchEvent | _End]) -> None:
    try:
        async for ev in events:
            await queue.put(ev)
    except (WatcherTooSlow, StoreClosed, StatusError) as err:
        await queue.put(_End(err))
    else:
        await queue.put(_End())
    finally:
        with contextlib.suppress(Exception):
            await events.aclose()  # type: ignore[attr-defined]


def _bookmark(rt: ResourceType, revision: int) -> bytes:
    return _line(
        "BOOKMARK",
        {
            "kind": rt.kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(revision)},
        },
    )


def _error_line(error: BaseException) -> bytes | None:
    """The ERROR event that ends a watch: 410 Expired for a watcher that fell behind."""
    if isinstance(error, WatcherTooSlow):
        error = Gone("too old resource version: the watch fell behind; relist")
    if isinstance(error, StatusError):
        return _line("ERROR", error.status())
    return None  # the store closed: the node is stopping, the stream just ends


def _timeout(query: Any) -> float | None:
    """The watch's lifetime; 0 means the server's default (none here), as kube-apiserver has it."""
    raw = query.get("timeoutSeconds")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _next_wait(bookmarks: bool, deadline: float | None, clock: Clock) -> float | None:
    """How long to wait for the next event: until a bookmark is due or the watch times out."""
    wait = BOOKMARK_INTERVAL if bookmarks else None
    if deadline is not None:
        left = deadline - clock.monotonic()
        wait = left if wait is None else min(wait, left)
    return wait


def _table_row(
    request: web.Request, rt: ResourceType, obj: dict[str, Any], clock: Clock, *, with_columns: bool
) -> dict[str, Any]:
    """One watch event's Table: columns on the first event only, as the real server sends."""
    return responses.table(
        request,
        rt,
        [obj],
        now=clock.now(),
        resource_version=str(obj["metadata"].get("resourceVersion", "")),
        include_columns=with_columns,
    )


async def serve(
    request: web.Request,
    rt: ResourceType,
    events: AsyncIterator[WatchEvent],
    *,
    store_revision: Callable[[], int],
    clock: Clock,
) -> web.StreamResponse:
    query = request.query
    bookmarks = flag(query, "allowWatchBookmarks")
    timeout = _timeout(query)
    as_table = responses.wants_table(request)

    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    response.enable_chunked_encoding()
    await response.prepare(request)
    columns_sent = False
    last_rv = 0
    queue: asyncio.Queue[WatchEvent | _End] = asyncio.Queue(_QUEUE_BOUND)
    pump = asyncio.create_task(_pump(events, queue), name="watch-pump")
    deadline = None if timeout is None else clock.monotonic() + timeout
    try:
        while True:
            wait = _next_wait(bookmarks, deadline, clock)
            if wait is not None and wait <= 0:
                break
            try:
                item = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                if bookmarks:
                    # A bookmark promises every event up to its revision was sent: let the
                    # pump move what the store just delivered before reading the revision.
                    await asyncio.sleep(0)
                    if not queue.empty():
                        continue
                    await response.write(_bookmark(rt, max(last_rv, store_revision())))
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    error = _error_line(item.error)
                    if error is not None:
                        await response.write(error)
                break
            last_rv = max(last_rv, item.revision)
            obj = item.object
            if as_table:
                obj = _table_row(request, rt, obj, clock, with_columns=not columns_sent)
                columns_sent = True
            await response.write(_line(item.type, obj))
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
    except ConnectionResetError:
        pass
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
    return response
