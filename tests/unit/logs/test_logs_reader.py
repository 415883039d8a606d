"""read_logs: kubectl logs over a real file, once or following it across rotations to the end."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubeproc.kubelet.logs.format import Stream
from kubeproc.kubelet.logs.reader import read_logs
from kubeproc.kubelet.logs.select import LogOptions
from kubeproc.kubelet.logs.writer import CriLogWriter

T0 = b"2026-01-01T00:00:00.000000000Z"
NOW = dt.datetime(2026, 1, 1, 0, 5, tzinfo=dt.UTC)


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    async with asyncio.timeout(5):
        return b"".join([chunk async for chunk in chunks])


class Follower:
    """Follows a log in a task, collecting output, so a test can write and then look."""

    def __init__(self, path: Path, options: LogOptions) -> None:
        self.output = b""
        self.exited = False
        self._grew = asyncio.Event()
        self._chunks = read_logs(
            path, options, container_exited=self._exited, poll_interval=0.005, now=NOW
        )
        self.task = asyncio.create_task(self._run())

    async def _exited(self) -> bool:
        return self.exited

    async def _run(self) -> None:
        async with contextlib.aclosing(self._chunks) as chunks:
            async for chunk in chunks:
                self.output += chunk
                self._grew.set()

    async def wait_for(self, expected: bytes) -> None:
        """Wait until the output ends with expected, within a deadline."""
        async with asyncio.timeout(5):
            while not self.output.endswith(expected):
                self._grew.clear()
                await self._grew.wait()


async def test_reads_complete_records_once(tmp_path: Path) -> None:
    """Without follow: everything complete at the start, a torn last record left out."""
    path = tmp_path / "0.log"
    path.write_bytes(T0 + b" stdout F one\n" + T0 + b" stderr F two\n" + T0 + b" stdout F th")
    assert await collect(read_logs(path, LogOptions(), now=NOW)) == b"one\ntwo\n"


async def test_tail_stream_and_timestamps_apply(tmp_path: Path) -> None:
    """tail_lines, stream and timestamps combine as in kubectl logs."""
    path = tmp_path / "0.log"
    with CriLogWriter(path, now_ns=lambda: 1_767_225_600_000_000_000) as writer:
        for i in range(1000):
            writer.write(Stream.STDOUT if i % 2 else Stream.STDERR, b"line %d\n" % i)
    options = LogOptions(tail_lines=2, stream=Stream.STDOUT, timestamps=True)
    out = await collect(read_logs(path, options, now=NOW))
    assert out == T0 + b" line 997\n" + T0 + b" line 999\n"


async def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """No log file: FileNotFoundError, as the kubelet fails to open it."""
    with pytest.raises(FileNotFoundError):
        await collect(read_logs(tmp_path / "nope.log", LogOptions()))


async def test_follow_yields_growth_and_ends_after_exit_once_drained(tmp_path: Path) -> None:
    """follow: new lines arrive as written; after the exit, the rest is read, then it ends."""
    path = tmp_path / "0.log"
    writer = CriLogWriter(path)
    writer.write(Stream.STDOUT, b"before\n")
    follower = Follower(path, LogOptions(follow=True, tail_lines=1))
    await follower.wait_for(b"before\n")
    writer.write(Stream.STDOUT, b"during\n")
    await follower.wait_for(b"during\n")
    writer.write(Stream.STDERR, b"last words")
    writer.close()
    follower.exited = True
    async with asyncio.timeout(5):
        await follower.task
    assert follower.output == b"before\nduring\nlast words\n"


async def test_follow_continues_across_rotation(tmp_path: Path) -> None:
    """When the writer rotates, the follower drains the old file and reads the new one."""
    path = tmp_path / "0.log"
    writer = CriLogWriter(path, max_bytes=1024, max_files=2, max_line=512)
    follower = Follower(path, LogOptions(follow=True))
    expected = b""
    for i in range(60):  # about 2.5 KiB: several rotations, one at a time
        line = b"line %02d %s\n" % (i, b"." * 20)
        writer.write(Stream.STDOUT, line)
        expected += line
        await follower.wait_for(line)
    writer.close()
    follower.exited = True
    async with asyncio.timeout(5):
        await follower.task
    assert follower.output == expected


async def test_follow_stops_at_limit_bytes(tmp_path: Path) -> None:
    """limit_bytes ends a follow even while the container runs."""
    path = tmp_path / "0.log"
    with CriLogWriter(path) as writer:
        writer.write(Stream.STDOUT, b"abcdef\n")
    follower = Follower(path, LogOptions(follow=True, limit_bytes=4))
    async with asyncio.timeout(5):
        await follower.task
    assert follower.output == b"abcd"


async def test_since_seconds_is_relative_to_now(tmp_path: Path) -> None:
    """since_seconds=60 at 00:05 shows records from 00:04 on."""
    path = tmp_path / "0.log"
    path.write_bytes(
        b"2026-01-01T00:03:59.999999999Z stdout F old\n"
        b"2026-01-01T00:04:00.000000000Z stdout F new\n"
    )
    out = await collect(read_logs(path, LogOptions(since_seconds=60), now=NOW))
    assert out == b"new\n"
