"""Write a container's output to its CRI log file, rotating it by size.

The runtimes feed what they read from a container's stdout and stderr to
``CriLogWriter.write``; the writer stamps it, splits it into records (``format``) and
appends them to ``path``. It is synchronous on purpose: appending to the page cache takes
microseconds, and a caller that reads a pipe only as fast as the file takes the output is
the back-pressure that keeps memory bounded (at most one unterminated line, shorter than
``max_line``, per stream) however fast the container writes. Nothing is fsync'ed: a log
is not worth a disk flush per line, and the kubelet does not do it either.

Rotation (the kubelet's ``containerLogMaxSize`` and ``containerLogMaxFiles``, done here
rather than by a periodic log manager, so a fast writer cannot overrun the limits between
two checks): before a record would take the file past ``max_bytes``, the file is renamed
``<path>.1`` (the older ``<path>.N`` shift to ``<path>.N+1``, the one past
``max_files - 1`` is deleted) and a new ``<path>`` is started. So at most ``max_files``
files exist, the current one included, each at most ``max_bytes`` long, and rotation only
ever cuts between records. A reader following the log notices the new inode and reopens
(``reader``), as the kubelet does after its own rotation.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from kubeproc.kubelet.logs.format import (
    DEFAULT_MAX_LINE,
    Stream,
    encode_final,
    encode_output,
    format_timestamp,
)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
"""The kubelet's default ``containerLogMaxSize`` (10Mi)."""
DEFAULT_MAX_FILES = 5
"""The kubelet's default ``containerLogMaxFiles``; the current file counts."""

_RECORD_OVERHEAD = 64  # timestamp, stream, tag and separators, rounded up


def rotated_log_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The rotated files of a log, newest first (``<path>.1``, ``<path>.2``, ...)."""
    base = Path(path)
    found: list[tuple[int, Path]] = []
    for candidate in base.parent.glob(f"{base.name}.*"):
        suffix = candidate.name[len(base.name) + 1 :]
        if suffix.isdigit():
            found.append((int(suffix), candidate))
    return [p for _, p in sorted(found)]


def remove_log_files(path: str | os.PathLike[str]) -> None:
    """Delete a container's log and its rotated files (what the kubelet's log manager
    ``Clean`` does when a container is removed); missing files are fine."""
    for candidate in [Path(path), *rotated_log_paths(path)]:
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


class CriLogWriter:
    """Appends a container's stdout and stderr to one CRI log file, rotating it by size."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_files: int = DEFAULT_MAX_FILES,
        max_line: int = DEFAULT_MAX_LINE,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if max_line < 1:
            raise ValueError("max_line must be positive")
        if max_bytes < max_line + _RECORD_OVERHEAD:
            raise ValueError(f"max_bytes must hold one record of max_line ({max_line}) bytes")
        if max_files < 1:
            raise ValueError("max_files must be at least 1")
        self.path = Path(path)
        self._max_bytes = max_bytes
        self._max_files = max_files
        self._max_line = max_line
        self._now_ns = now_ns
        self._pending: dict[Stream, bytes] = {Stream.STDOUT: b"", Stream.STDERR: b""}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = self._open()
        self._size = os.fstat(self._fd).st_size

    def write(self, stream: Stream, data: bytes) -> None:
        """Append a chunk of the stream's output; an unterminated tail waits for the rest."""
        if not data:
            return
        records, self._pending[stream] = encode_output(
            self._timestamp(), stream, self._pending[stream], data, self._max_line
        )
        self._append(records)

    def flush(self, stream: Stream | None = None) -> None:
        """End of stream: write what is left unterminated as a full line."""
        for name in [stream] if stream is not None else list(Stream):
            pending, self._pending[name] = self._pending[name], b""
            self._append(encode_final(self._timestamp(), name, pending))

    def close(self) -> None:
        """Flush both streams and close the file; further writes are errors."""
        if self._fd is None:
            return
        try:
            self.flush()
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> CriLogWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _timestamp(self) -> bytes:
        return format_timestamp(self._now_ns()).encode()

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        return os.open(self.path, flags, 0o640)

    def _append(self, records: bytes) -> None:
        """Write whole records, rotating before one would take the file past max_bytes."""
        while records:
            room = self._max_bytes - self._size
            if len(records) <= room:
                self._write_all(records)
                return
            cut = records.rfind(b"\n", 0, room) + 1
            if cut == 0 and self._size == 0:
                cut = records.index(b"\n") + 1  # unreachable with the max_bytes check; be safe
            if cut:
                self._write_all(records[:cut])
                records = records[cut:]
            self._rotate()

    def _write_all(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError(f"log writer for {self.path} is closed")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)

    def _rotate(self) -> None:
        if self._fd is None:
            raise ValueError(f"log writer for {self.path} is closed")
        os.close(self._fd)
        self._fd = None
        if self._max_files == 1:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        else:
            self._rotated(self._max_files - 1).unlink(missing_ok=True)
            for number in range(self._max_files - 2, 0, -1):
                older = self._rotated(number)
                with contextlib.suppress(FileNotFoundError):
                    older.rename(self._rotated(number + 1))
            with contextlib.suppress(FileNotFoundError):
                self.path.rename(self._rotated(1))
        self._fd = self._open()
        self._size = os.fstat(self._fd).st_size

    def _rotated(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")
