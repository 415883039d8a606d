"""Read a container's CRI log file for ``kubectl logs``: once, or following it as it grows.

The I/O around ``select``: find the tail's start by reading the file backwards in
blocks, then read forwards in blocks, hand complete lines to a ``LogFilter`` and yield
what it produces. Reads are plain blocking reads of a file that is in the page cache,
done a block at a time so the event loop keeps turning between blocks.

As in the kubelet, only the current file is read: lines already rotated away (to
``<path>.1``...) are not shown. Following polls the file (no inotify in the standard
library): at the end of the file it checks whether the writer rotated it (a new inode at
``path``: the old file is drained, then the new one is opened from its start) and asks
``container_exited``; once that says yes, whatever was written before the exit is read
and the iteration ends. The runtime records a container as exited only after its output
is in the file, so nothing is lost at the end. Two rotations between two polls skip the
file in between; the kubelet has the same limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

from kubeproc.kubelet.logs.format import Stream
from kubeproc.kubelet.logs.select import LogFilter, LogOptions, TailScanner

BLOCK = 64 * 1024


def find_tail_start(file: BinaryIO, size: int, lines: int, stream: Stream | None = None) -> int:
    """The offset where the last ``lines`` lines of output (of ``stream``) start."""
    scanner = TailScanner(lines, stream)
    position = size
    while position > 0:
        offset = max(0, position - BLOCK)
        file.seek(offset)
        block = file.read(position - offset)
        found = scanner.feed(block, offset)
        if found is not None:
            return found
        position = offset
    return scanner.finish()


async def read_logs(
    path: str | os.PathLike[str],
    options: LogOptions,
    *,
    container_exited: Callable[[], Awaitable[bool]] | None = None,
    poll_interval: float = 0.25,
    now: dt.datetime | None = None,
) -> AsyncIterator[bytes]:
    """Yield what ``kubectl logs`` prints for this log file, in chunks.

    Without ``options.follow``: the records complete when the call starts, then stop.
    With it: keep yielding as the file grows, across rotations, until
    ``container_exited()`` says the container has exited and the file is drained (never,
    if it is None: the caller stops iterating). A missing file raises
    ``FileNotFoundError``. Close the iterator (``contextlib.aclosing``) to release the file
    early.
    """
    since_ns = options.since_ns(now or dt.datetime.now(dt.UTC))
    selector = LogFilter(options, since_ns=since_ns)
    path = Path(path)
    file = _open_log(path)
    try:
        size = os.fstat(file.fileno()).st_size
        start = 0
        if options.tail_lines is not None:
            start = find_tail_start(file, size, options.tail_lines, options.stream)
        file.seek(start)
        position, stop = start, None if options.follow else size
        pending = b""
        exited = False
        while not selector.done:
            want = BLOCK if stop is None else min(BLOCK, stop - position)
            chunk = file.read(want) if want > 0 else b""
            if chunk:
                position += len(chunk)
                pending += chunk
                cut = pending.rfind(b"\n") + 1
                if cut:
                    out = selector.feed(pending[:cut])
                    pending = pending[cut:]
                    if out:
                        yield out
                continue
            if stop is not None:
                return
            replacement = _reopen_if_rotated(path, file)
            if replacement is not None:
                file.close()
                file, position, pending = replacement, 0, b""
                continue
            if exited:
                return
            if container_exited is not None and await container_exited():
                exited = True  # one more pass: what was written before the exit
                continue
            await asyncio.sleep(poll_interval)
    finally:
        file.close()


def _open_log(path: Path) -> BinaryIO:
    """Unbuffered: the reader does its own blocking, and re-reads at EOF must see growth."""
    return path.open("rb", buffering=0)


def _reopen_if_rotated(path: Path, file: BinaryIO) -> BinaryIO | None:
    """The file now at ``path`` if it is not the one being read (rotated), else None."""
    try:
        current = path.stat()
    except FileNotFoundError:
        return None  # between the rename and the new file: keep draining the old one
    opened = os.fstat(file.fileno())
    if (current.st_ino, current.st_dev) == (opened.st_ino, opened.st_dev):
        return None
    try:
        return _open_log(path)
    except FileNotFoundError:
        return None
