"""Exec in a process-runtime container: ``exec_sync`` (probes, hooks) and interactive sessions.

The command runs with the container's environment and working directory, in its cgroup
when it has one, as the leader of its own session, so the whole tree it forks can be
killed as one group. ``exec_sync`` keeps a deadline around the exact operation: past
``timeout_seconds`` the group is SIGKILLed, the leader reaped (and its orphans, when
kubeproc is their subreaper), and the result says ``timed_out``; output past the caller's
limit is read and dropped so the command never blocks on a full pipe. A cancelled caller
leaves nothing running: the group is killed and the pidfd callback reaps the leader.

Sessions use pipes, or with ``tty`` a pty whose slave becomes the command's controlling
terminal (``kubectl exec -it``): stderr then arrives merged into stdout, ``close_stdin``
sends end-of-file (^D) instead of closing, and ``resize`` sets the window size.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import subprocess
import termios
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from kubeproc.kubelet.runtime.process_io import read_chunks, write_all
from kubeproc.kubelet.runtime.process_spawn import (
    DEFAULT_PATH,
    Child,
    ExecError,
    SpawnSpec,
    exec_failure,
    reap_group,
    resolve_executable,
    spawn,
)
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, ExecResult

DRAIN_AFTER_EXIT = 0.5
"""How long output may still arrive after the command exits (from processes it left)."""


@dataclass(frozen=True)
class ExecContext:
    """What a command inherits from its container, and how the container tracks it."""

    env: dict[str, str]
    cwd: str
    adopt: Callable[[Child], None]
    """Called once the command runs: join the container's cgroup, be killed with it."""
    release: Callable[[Child], None]
    user: int | None = None
    group: int | None = None
    extra_groups: tuple[int, ...] | None = None


def _start(
    ctx: ExecContext, argv: tuple[str, ...], stdio: tuple[int, int, int], *, tty: bool = False
) -> Child:
    if not argv:
        raise ContainerRuntimeError("exec: no command given")
    env = dict(ctx.env)
    if tty:
        env.setdefault("TERM", "xterm")
    try:
        executable = resolve_executable(argv[0], env.get("PATH", DEFAULT_PATH), ctx.cwd)
        spec = SpawnSpec(
            argv,
            executable,
            env,
            ctx.cwd,
            *stdio,
            set_ctty=tty,
            user=ctx.user,
            group=ctx.group,
            extra_groups=ctx.extra_groups,
        )
        try:
            popen = spawn(spec)
        except OSError as exc:
            raise exec_failure(argv[0], exc) from exc
    except ExecError as exc:
        raise ContainerRuntimeError(exc.exec_message()) from exc
    child = Child(popen)
    ctx.adopt(child)
    return child


class _Collector:
    """Reads a pipe to its end, keeping the first ``limit`` bytes."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd: int | None = fd
        self.output = bytearray()
        self._limit = limit
        self._loop = asyncio.get_running_loop()
        self.eof: asyncio.Future[None] = self._loop.create_future()
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        if self.fd is None:
            return
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        if not data:
            self.close()
            return
        room = self._limit - len(self.output)
        if room > 0:
            self.output += data[:room]

    def close(self) -> None:
        if self.fd is not None:
            self._loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = None
        if not self.eof.done():
            self.eof.set_result(None)


async def exec_sync(
    ctx: ExecContext, argv: tuple[str, ...], *, timeout_seconds: float, output_limit: int
) -> ExecResult:
    """Run argv to completion or to the deadline; see the module docstring."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    out_read, out_write = os.pipe2(os.O_CLOEXEC)
    err_read, err_write = os.pipe2(os.O_CLOEXEC)
    try:
        child = _start(ctx, argv, (subprocess.DEVNULL, out_write, err_write))
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:
        os.close(out_write)
        os.close(err_write)
    collectors = (_Collector(out_read, output_limit), _Collector(err_read, output_limit))
    timed_out = False
    try:
        try:
            async with asyncio.timeout_at(deadline):
                code = await child.wait()
        except TimeoutError:
            timed_out = True
            child.signal_group(signal.SIGKILL)
            code = await child.wait()
            await reap_group(child.pid)
        drain = DRAIN_AFTER_EXIT if timed_out else min(DRAIN_AFTER_EXIT, deadline - loop.time())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(drain, 0.0)):
                await asyncio.shield(asyncio.gather(*(c.eof for c in collectors)))
    finally:
        if not child.exited:
            child.signal_group(signal.SIGKILL)  # cancelled: the pidfd callback reaps it
        for collector in collectors:
            collector.close()
        ctx.release(child)
    # stdout first, then stderr, as CRI's ExecSync returns them.
    output = bytes(collectors[0].output + collectors[1].output)[:output_limit]
    return ExecResult(exit_code=code, output=output, timed_out=timed_out)


def _close_all(fds: dict[str, int | None]) -> None:
    for name, fd in list(fds.items()):
        if fd is not None:
            fds[name] = None
            with contextlib.suppress(OSError):
                os.close(fd)


class ProcessExecSession:
    """An interactive exec: the ``ExecSession`` of the process runtime."""

    def __init__(
        self,
        child: Child,
        fds: dict[str, int | None],
        *,
        tty: bool,
        release: Callable[[Child], None],
    ) -> None:
        self._child = child
        self._fds = fds
        self._tty = tty
        self._release = release
        self._stdin_closed = fds.get("stdin") is None
        # Streams nobody reads are closed with the session object, not before.
        weakref.finalize(self, _close_all, fds)

    @classmethod
    def start(
        cls, ctx: ExecContext, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> ProcessExecSession:
        if tty:
            master, slave = os.openpty()
            try:
                child = _start(ctx, argv, (slave, slave, slave), tty=True)
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
            os.set_blocking(master, False)
            fds = {"stdout": master, "stdin": os.dup(master) if stdin else None, "stderr": None}
            return cls(child, fds, tty=True, release=ctx.release)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        in_r, in_w = os.pipe2(os.O_CLOEXEC) if stdin else (subprocess.DEVNULL, None)
        try:
            child = _start(ctx, argv, (in_r, out_w, err_w))
        except BaseException:
            _close_all({"a": out_r, "b": err_r, "c": in_w})
            raise
        finally:
            _close_all({"a": out_w, "b": err_w, "c": in_r if stdin else None})
        for fd in (out_r, err_r, in_w):
            if fd is not None:
                os.set_blocking(fd, False)
        return cls(
            child, {"stdout": out_r, "stderr": err_r, "stdin": in_w}, tty=False, release=ctx.release
        )

    async def write_stdin(self, data: bytes) -> None:
        fd = self._fds.get("stdin")
        if fd is None or self._stdin_closed:
            raise ContainerRuntimeError("stdin of this exec session is not open")
        await write_all(fd, data)  # a command that stopped reading drops the rest

    async def close_stdin(self) -> None:
        if self._stdin_closed:
            return
        self._stdin_closed = True
        fd = self._fds.get("stdin")
        if fd is None:
            return
        if self._tty:
            await write_all(fd, b"\x04")  # end of file, as typed at the terminal
        else:
            self._fds["stdin"] = None
            os.close(fd)

    def stdout(self) -> AsyncIterator[bytes]:
        return self._stream("stdout")

    def stderr(self) -> AsyncIterator[bytes]:
        return self._stream("stderr")

    async def _stream(self, name: str) -> AsyncIterator[bytes]:
        fd = self._fds.get(name)
        if fd is None:
            return
        try:
            async for chunk in read_chunks(fd):
                yield chunk
        finally:
            if self._fds.get(name) == fd:
                self._fds[name] = None
                os.close(fd)

    async def resize(self, width: int, height: int) -> None:
        fd = self._fds.get("stdout")
        if self._tty and fd is not None:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> int:
        code = await self._child.wait()
        self._release(self._child)
        if not self._tty and not self._stdin_closed:
            await self.close_stdin()
        return code

    async def kill(self) -> None:
        self._child.signal_group(signal.SIGKILL)
        await self._child.wait()
        await reap_group(self._child.pid)
        self._release(self._child)
