"""Moving bytes between the process runtime's children and kubeproc, on the event loop.

``OutputPump`` copies a container's stdout or stderr (a pipe, or a pty master for
``tty: true``) into its CRI log from a reader callback: one ``read`` and one append per
wake-up, no task, no queue. The container can write only as fast as the log takes it, so
memory stays bounded however much it writes. ``read_chunks`` and ``write_all`` are the
same idea for exec sessions, whose consumer sets the pace.

A pty master reports the end of its output as ``EIO`` once every slave is closed; it is
treated as end of file.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import AsyncIterator

from kubeproc.kubelet.logs import CriLogWriter, Stream

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


def _read(fd: int) -> bytes | None:
    """One non-blocking read: data, b"" at end of output, None if nothing yet."""
    try:
        return os.read(fd, CHUNK)
    except BlockingIOError:
        return None
    except OSError as exc:
        if exc.errno == errno.EIO:  # pty master once the slave side is closed
            return b""
        raise


class OutputPump:
    """Copies one output fd into the container's log until end of file or ``close``."""

    def __init__(self, fd: int, stream: Stream, writer: CriLogWriter | None) -> None:
        self._fd: int | None = fd
        self._stream = stream
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self._loop.create_future()
        self._write_failed = False
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        if self._fd is None:
            return
        try:
            data = _read(self._fd)
        except OSError as exc:
            log.warning("reading container output failed stream=%s error=%s", self._stream, exc)
            data = b""
        if data is None:
            return
        if not data:
            self.close()
            return
        if self._writer is None or self._write_failed:
            return
        try:
            self._writer.write(self._stream, data)
        except OSError:
            # Keep draining: a full disk must not block the container on a full pipe.
            self._write_failed = True
            log.exception("container log not writable, dropping output path=%s", self._writer.path)

    def close(self) -> None:
        """Stop copying (end of output, or the drain after exit timed out)."""
        if self._fd is None:
            return
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        self._fd = None
        if self._writer is not None and not self._write_failed:
            with contextlib.suppress(OSError, ValueError):
                self._writer.flush(self._stream)
        if not self.done.done():
            self.done.set_result(None)


async def _wait(fd: int, *, writable: bool) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if writable:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        if writable:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def read_chunks(fd: int) -> AsyncIterator[bytes]:
    """Yield what a non-blocking fd delivers until end of file; does not close it."""
    while True:
        data = _read(fd)
        if data is None:
            await _wait(fd, writable=False)
            continue
        if not data:
            return
        yield data


async def write_all(fd: int, data: bytes) -> bool:
    """Write everything to a non-blocking fd; False if the reader has gone away."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await _wait(fd, writable=True)
            continue
        except (BrokenPipeError, ConnectionResetError):
            return False
        except OSError as exc:
            if exc.errno == errno.EIO:
                return False
            raise
        view = view[written:]
    return True
