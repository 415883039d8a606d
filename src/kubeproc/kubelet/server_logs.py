"""``GET /containerLogs/{ns}/{pod}/{container}``: one container's log, as ``kubectl logs``
prints it.

Owns the kubelet's side of a log request: parse the ``PodLogOptions`` query, find the
container instance (the current one, or with ``previous`` the one before), then stream
what the CRI log reader (``kubeproc.kubelet.logs``) yields, flushing every chunk, so
``-f`` shows lines as they are written and ends once the instance has exited and its
file is drained. Refusals are plain text, as the kubelet writes them.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator

from aiohttp import web

from kubeproc.api.errors import BadRequest
from kubeproc.api.podlogs import PodLogOptions
from kubeproc.kubelet.locator import LocatedContainer, PodContainers
from kubeproc.kubelet.logs import LogOptions, Stream, read_logs
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


def log_options(options: PodLogOptions, stream: str) -> LogOptions:
    """The reader's options for one request (``stream`` is ``Stdout``, ``Stderr`` or all)."""
    selected = {"Stdout": Stream.STDOUT, "Stderr": Stream.STDERR}.get(stream)
    return LogOptions(
        tail_lines=options.tail_lines,
        since_time=options.since_time,
        since_seconds=options.since_seconds,
        timestamps=options.timestamps,
        limit_bytes=options.limit_bytes,
        follow=options.follow,
        stream=selected,
    )


def not_located(pod: str, container: str, *, previous: bool) -> str:
    """The kubelet's words when it has no instance to read."""
    if previous:
        return f'previous terminated container "{container}" in pod "{pod}" not found'
    return f'container "{container}" in pod "{pod}" is not available'


async def close_iterator(chunks: AsyncIterator[bytes]) -> None:
    """Close a reader's generator now, releasing its file (not whenever it is collected)."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


class LogHandler:
    def __init__(self, locator: PodContainers, clock: Clock) -> None:
        self._locator = locator
        self._clock = clock

    async def handle(self, request: web.Request) -> web.StreamResponse:
        namespace = request.match_info["namespace"]
        pod = request.match_info["pod"]
        container = request.match_info["container"]
        try:
            options = PodLogOptions.from_query(request.query)
        except BadRequest as err:
            return web.Response(status=400, text=err.message)
        if options.errors():
            return web.Response(status=422, text='{"message": "Invalid request."}')
        located = self._locator.locate(namespace, pod, container, previous=options.previous)
        if located is None:
            text = not_located(pod, container, previous=options.previous)
            return web.Response(status=400, text=text)
        if not await asyncio.to_thread(os.path.exists, located.log_path):
            text = (
                f'failed to try resolving symlinks in path "{located.log_path}": '
                f"lstat {located.log_path}: no such file or directory"
            )
            return web.Response(status=400, text=text)
        return await self._stream(request, located, options)

    async def _stream(
        self, request: web.Request, located: LocatedContainer, options: PodLogOptions
    ) -> web.StreamResponse:
        async def exited() -> bool:
            return not located.running or not self._locator.is_running(located.container_id)

        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunks = read_logs(
            located.log_path,
            log_options(options, request.query.get("stream", "")),
            container_exited=exited,
            now=self._clock.now(),
        )
        try:
            async for chunk in chunks:
                await response.write(chunk)
        except FileNotFoundError:
            log.info("log file vanished path=%s", located.log_path)
        finally:
            await close_iterator(chunks)
        await response.write_eof()
        return response
