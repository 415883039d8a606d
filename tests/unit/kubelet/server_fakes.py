"""Test doubles for the kubelet server's seams: where containers are, and exec sessions.

``FakeContainers`` is a ``PodContainers`` over a dict; ``ScriptedSession`` is an
``ExecSession`` that prints what it is told, echoes its stdin if asked, and exits with a
given code; ``HostRuntime`` runs exec commands as real processes on this machine (enough
of a runtime for the kubelet server, with no isolation).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kubeproc.kubelet.locator import LocatedContainer
from kubeproc.kubelet.logs import format_timestamp
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, ExecSession


@dataclass
class FakeContainers:
    """Container instances by (namespace, pod, container); ``running`` by container id."""

    current: dict[tuple[str, str, str], LocatedContainer] = field(default_factory=dict)
    previous: dict[tuple[str, str, str], LocatedContainer] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)

    def add(
        self,
        namespace: str,
        pod: str,
        container: str,
        log_path: Path,
        *,
        container_id: str = "",
        running: bool = True,
        previous: bool = False,
    ) -> LocatedContainer:
        cid = container_id or f"{namespace}-{pod}-{container}-{'prev' if previous else 'cur'}"
        located = LocatedContainer("uid-" + pod, cid, str(log_path), running)
        (self.previous if previous else self.current)[(namespace, pod, container)] = located
        if running:
            self.running.add(cid)
        else:
            self.running.discard(cid)
        return located

    def stop(self, container_id: str) -> None:
        self.running.discard(container_id)

    def locate(
        self, namespace: str, pod: str, container: str, *, previous: bool
    ) -> LocatedContainer | None:
        table = self.previous if previous else self.current
        return table.get((namespace, pod, container))

    def is_running(self, container_id: str) -> bool:
        return container_id in self.running


def cri_line(text: str, stream: str = "stdout", *, seconds: int = 0, partial: bool = False) -> str:
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    stamp = format_timestamp(int(moment.timestamp()) * 1_000_000_000)
    return f"{stamp} {stream} {'P' if partial else 'F'} {text}\n"


class ScriptedSession:
    """Prints ``stdout``/``stderr``, then (with ``echo``) copies stdin to stdout until it
    closes, then exits with ``exit_code``; ``hold`` keeps it running until killed."""

    def __init__(
        self,
        stdout: Sequence[bytes] = (),
        stderr: Sequence[bytes] = (),
        *,
        exit_code: int = 0,
        echo: bool = False,
        hold: bool = False,
    ) -> None:
        self._stdout = list(stdout)
        self._stderr = list(stderr)
        self.exit_code = exit_code
        self._echo: asyncio.Queue[bytes | None] | None = asyncio.Queue() if echo else None
        self._released = asyncio.Event()
        if not hold:
            self._released.set()
        self.stdin: list[bytes] = []
        self.stdin_closed = False
        self.resizes: list[tuple[int, int]] = []
        self.killed = False

    async def write_stdin(self, data: bytes) -> None:
        self.stdin.append(data)
        if self._echo is not None:
            self._echo.put_nowait(data)

    async def close_stdin(self) -> None:
        self.stdin_closed = True
        if self._echo is not None:
            self._echo.put_nowait(None)

    async def stdout(self) -> AsyncIterator[bytes]:
        for chunk in self._stdout:
            yield chunk
        if self._echo is not None:
            while (chunk := await self._echo.get()) is not None:
                yield chunk
        await self._released.wait()

    async def stderr(self) -> AsyncIterator[bytes]:
        for chunk in self._stderr:
            yield chunk

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def wait(self) -> int:
        await self._released.wait()
        return 137 if self.killed else self.exit_code

    async def kill(self) -> None:
        self.killed = True
        if self._echo is not None:
            self._echo.put_nowait(None)
        self._released.set()


@dataclass
class ExecCall:
    container_id: str
    argv: tuple[str, ...]
    tty: bool
    stdin: bool
    session: ExecSession


@dataclass
class FakeRuntime:
    """Only ``exec_session``; ``make`` builds each session, ``fail`` refuses them all."""

    make: Callable[[tuple[str, ...]], ExecSession] = lambda argv: ScriptedSession()
    fail: ContainerRuntimeError | None = None
    calls: list[ExecCall] = field(default_factory=list)
    name: str = "fake"

    async def exec_session(
        self, container_id: str, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> ExecSession:
        if self.fail is not None:
            raise self.fail
        session = self.make(argv)
        self.calls.append(ExecCall(container_id, argv, tty, stdin, session))
        return session


class HostSession:
    """An ``ExecSession`` that is a real child process of the test."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    async def write_stdin(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(data)
        await self._proc.stdin.drain()

    async def close_stdin(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()

    async def _read(self, reader: asyncio.StreamReader | None) -> AsyncIterator[bytes]:
        if reader is None:
            return
        while chunk := await reader.read(65536):
            yield chunk

    def stdout(self) -> AsyncIterator[bytes]:
        return self._read(self._proc.stdout)

    def stderr(self) -> AsyncIterator[bytes]:
        return self._read(self._proc.stderr)

    async def resize(self, width: int, height: int) -> None:
        return None

    async def wait(self) -> int:
        return await self._proc.wait()

    async def kill(self) -> None:
        if self._proc.returncode is None:
            self._proc.kill()
        await self._proc.wait()


@dataclass
class HostRuntime:
    name: str = "host"

    async def exec_session(
        self, container_id: str, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> ExecSession:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise ContainerRuntimeError(
                f'exec: "{argv[0]}": executable file not found in $PATH'
            ) from None
        return HostSession(proc)
