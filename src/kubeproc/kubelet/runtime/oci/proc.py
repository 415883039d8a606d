"""Child processes of the ``oci`` runtime: runc, conmon, ip, the CNI plugins, exec helpers.

``Child`` wraps a ``subprocess.Popen`` (vfork, exec errors reported in the parent) and
learns of its exit from a pidfd registered with the event loop, reaping it in that
callback: no watcher thread, and 4-5x cheaper in the parent than asyncio's default child
watcher (perf-baselines §4.2). Every child leads its own session, so a timeout kills its
whole process group. ``run`` is the one-shot form with a deadline around the exact call.

File descriptors are read with ``loop.add_reader`` on non-blocking fds (``Reader``), the
same machinery for pipes and pty masters (where EIO means the other side has closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import subprocess
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass

CHUNK = 65536


def exit_code(returncode: int) -> int:
    """Kubernetes' exit code: a death by signal N is 128+N (137 SIGKILL, 143 SIGTERM)."""
    return 128 - returncode if returncode < 0 else returncode


class Child:
    """A spawned process leading its own session; reaped from a pidfd callback."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Future[int] = self._loop.create_future()
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except OSError:  # kernels before 5.3: a thread waits instead
            waiting = self._loop.run_in_executor(None, popen.wait)
            waiting.add_done_callback(lambda _: self._reap())
        else:
            self._loop.add_reader(self._pidfd, self._reap)

    @classmethod
    def spawn(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: int = subprocess.DEVNULL,
        stdout: int = subprocess.DEVNULL,
        stderr: int = subprocess.DEVNULL,
        pass_fds: Sequence[int] = (),
        cwd: str | None = None,
        new_session: bool = True,
    ) -> Child:
        popen = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            pass_fds=tuple(pass_fds),
            cwd=cwd,
            start_new_session=new_session,
            close_fds=True,
        )
        return cls(popen)

    @property
    def exited(self) -> bool:
        return self._done.done()

    async def wait(self) -> int:
        """The raw return code (negative for a signal, as ``Popen`` reports it)."""
        return await asyncio.shield(self._done)

    def signal_group(self, signum: int) -> None:
        """Signal the whole group while its leader is unreaped (the group id is still ours)."""
        if not self._done.done():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def _reap(self) -> None:
        if self._done.done():
            return
        returncode = self.popen.poll()
        if returncode is None:
            return  # spurious wake-up
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._done.set_result(returncode)


class Reader:
    """Reads one non-blocking fd through the event loop; owns and closes the fd."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._paused = False
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        if self.fd is None:
            return
        try:
            data = os.read(self.fd, CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: a pty whose slave side has closed
                raise
            data = b""
        self._queue.put_nowait(data)
        if not data:
            self.close()
        elif self._queue.qsize() > 16:  # back-pressure: stop reading until consumed
            self._loop.remove_reader(self.fd)
            self._paused = True

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """Chunks until end of file."""
        while True:
            data = await self._queue.get()
            if self._paused and self.fd is not None and self._queue.qsize() < 4:
                self._paused = False
                self._loop.add_reader(self.fd, self._on_readable)
            if not data:
                return
            yield data

    async def read_capped(self, limit: int) -> bytes:
        """Everything until end of file, keeping the first ``limit`` bytes, dropping the rest."""
        kept = bytearray()
        async for data in self.chunks():
            room = limit - len(kept)
            if room > 0:
                kept += data[:room]
        return bytes(kept)

    def close(self) -> None:
        if self.fd is not None:
            if not self._paused:
                self._loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = None
            self._queue.put_nowait(b"")


async def write_all(fd: int, data: bytes) -> None:
    """Write to a non-blocking fd, waiting for room; a closed reader drops the rest."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(fd, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_writer(fd)
            continue
        except BrokenPipeError:
            return
        view = view[written:]


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        text = self.stderr.decode(errors="replace").strip() or self.stdout.decode(errors="replace")
        return text.strip() or f"exit status {exit_code(self.returncode)}"


async def run(
    argv: Sequence[str],
    *,
    input: bytes = b"",
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,  # noqa: ASYNC109 (the deadline wraps this one call, kill included)
) -> Completed:
    """Run a command to completion; past ``timeout`` its group is killed and TimeoutError raised."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        child = Child.spawn(argv, env=env, stdin=in_r, stdout=out_w, stderr=err_w)
    except BaseException:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    out, err = Reader(out_r), Reader(err_r)
    try:
        async with asyncio.timeout(timeout):
            os.set_blocking(in_w, False)
            await write_all(in_w, input)
            os.close(in_w)
            in_w = -1
            stdout, stderr, returncode = await asyncio.gather(
                out.read_capped(1 << 24), err.read_capped(1 << 20), child.wait()
            )
    finally:
        if in_w >= 0:
            os.close(in_w)
        if not child.exited:
            child.signal_group(signal.SIGKILL)  # the pidfd callback reaps it
        out.close()
        err.close()
    return Completed(tuple(argv), returncode, stdout, stderr)


async def wait_readable(fd: int, within: float) -> None:
    """Until fd is readable (a pidfd: its process has exited), or ``within`` seconds."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await ready
    finally:
        loop.remove_reader(fd)
