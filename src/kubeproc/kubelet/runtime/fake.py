"""``FakeRuntime``: the runtime seam in memory, driven by the test, for the kubelet's unit tests.

No processes: containers change state when the kubelet calls in or when the test says so
(``exit``, ``fail_next``, ``on_stop``), and every call is logged in ``calls`` for
assertions. Times come from the injected clock, so with a ``FakeClock`` the kubelet's
timing logic runs without sleeping: a container that ignores its stop signal holds
``stop_container`` for the grace period on that clock, and an exec handler that sleeps
on it times out ``exec_sync`` exactly when the test advances past the deadline.

It behaves as the real runtimes do where the kubelet can tell: a failed start leaves the
container exited with ``StartError`` and exit code 128, a stop ends in 143 (or what the
test set) or 137 after the grace, unknown ids raise ``NotFoundError``, removals are
idempotent, exec into a container that is not running is an error, and sandboxes and
containers carry the pod, container and attempt labels.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import itertools
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from kubeproc.kubelet.logs import CriLogWriter, Stream
from kubeproc.kubelet.runtime.types import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerConfig,
    ContainerPhase,
    ContainerRuntimeError,
    ContainerStatus,
    ExecResult,
    ExecSession,
    NotFoundError,
    Runtime,
    SandboxConfig,
    SandboxStatus,
    StartContainerError,
    TerminationReason,
)
from kubeproc.util.clock import Clock, FakeClock

ExecHandler = Callable[[str, tuple[str, ...]], ExecResult | Awaitable[ExecResult]]
"""(container_id, argv) -> result, possibly after sleeping on the fake clock."""


@dataclass(frozen=True)
class RuntimeCall:
    method: str
    args: tuple[object, ...] = ()


@dataclass
class StopBehaviour:
    """How a container answers its stop signal."""

    exit_code: int = 143
    ignore_signal: bool = False
    """Keep running until SIGKILL at the end of the grace period (exit code 137)."""


@dataclass
class _Entry:
    status: ContainerStatus
    config: ContainerConfig
    stop: StopBehaviour = field(default_factory=StopBehaviour)
    exited: asyncio.Event = field(default_factory=asyncio.Event)


class FakeExecSession:
    """A scripted interactive exec: fixed output, recorded stdin, optional echo."""

    def __init__(
        self, *, stdout: bytes = b"", stderr: bytes = b"", exit_code: int = 0, echo: bool = False
    ) -> None:
        self.stdin = bytearray()
        self.stdin_closed = False
        self.resizes: list[tuple[int, int]] = []
        self.killed = False
        self._stdout = stdout
        self._stderr = stderr
        self._exit_code = exit_code
        self._echo: asyncio.Queue[bytes | None] | None = asyncio.Queue() if echo else None
        self._done = asyncio.Event()
        if not echo:
            self._done.set()

    async def write_stdin(self, data: bytes) -> None:
        if self.stdin_closed:
            raise ContainerRuntimeError("stdin of this exec session is not open")
        self.stdin += data
        if self._echo is not None:
            self._echo.put_nowait(data)

    async def close_stdin(self) -> None:
        if not self.stdin_closed:
            self.stdin_closed = True
            if self._echo is not None:
                self._echo.put_nowait(None)
            self._done.set()

    async def stdout(self) -> AsyncIterator[bytes]:
        if self._stdout:
            yield self._stdout
        while self._echo is not None:
            data = await self._echo.get()
            if data is None:
                return
            yield data

    async def stderr(self) -> AsyncIterator[bytes]:
        if self._stderr:
            yield self._stderr

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def wait(self) -> int:
        await self._done.wait()
        return 137 if self.killed else self._exit_code

    async def kill(self) -> None:
        self.killed = True
        if self._echo is not None:
            self._echo.put_nowait(None)
        self._done.set()


class FakeRuntime:
    """An in-memory ``Runtime``; see the module docstring. Attributes are for assertions."""

    name = "fake"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or FakeClock()
        self.calls: list[RuntimeCall] = []
        self.sandboxes: dict[str, SandboxStatus] = {}
        self.exec_handler: ExecHandler | None = None
        self.closed = False
        self._containers: dict[str, _Entry] = {}
        self._failures: dict[str, deque[ContainerRuntimeError]] = {}
        self._exec_results: deque[ExecResult | ContainerRuntimeError] = deque()
        self._sessions: deque[FakeExecSession] = deque()
        self._ids = itertools.count(1)

    # Driving the fake from a test.

    def fail_next(self, method: str, error: ContainerRuntimeError) -> None:
        """The next call of ``method`` raises ``error`` (queued: one failure per call)."""
        self._failures.setdefault(method, deque()).append(error)

    def fail_next_create(self, error: ContainerRuntimeError) -> None:
        self.fail_next("create_container", error)

    def fail_next_start(self, error: ContainerRuntimeError) -> None:
        """The next start raises ``error``; a ``StartContainerError`` also leaves the
        container exited with ``StartError``, exit code 128 and its message, as containerd."""
        self.fail_next("start_container", error)

    def exit(
        self, container_id: str, code: int, reason: str | None = None, message: str = ""
    ) -> None:
        """The container's process exits now (reason: Completed for 0, else Error)."""
        entry = self._entry(container_id)
        if reason is None:
            reason = (TerminationReason.COMPLETED if code == 0 else TerminationReason.ERROR).value
        self._finish(entry, code, reason, message)

    def on_stop(
        self, container_id: str, *, exit_code: int = 143, ignore_signal: bool = False
    ) -> None:
        """How this container answers its stop signal (default: exits with 143)."""
        self._entry(container_id).stop = StopBehaviour(exit_code, ignore_signal)

    def queue_exec(self, result: ExecResult | ContainerRuntimeError) -> None:
        """The next ``exec_sync`` without a handler returns (or raises) this."""
        self._exec_results.append(result)

    def queue_session(self, session: FakeExecSession) -> None:
        """The next ``exec_session`` returns this (default: a session that echoes stdin)."""
        self._sessions.append(session)

    def write_log(self, container_id: str, data: bytes, stream: Stream = Stream.STDOUT) -> None:
        """Append output to the container's CRI log, stamped with the fake clock."""
        entry = self._entry(container_id)
        clock = self.clock

        def now_ns() -> int:
            moment = clock.now()
            whole = int(moment.replace(microsecond=0).timestamp())
            return whole * 1_000_000_000 + moment.microsecond * 1000

        with CriLogWriter(entry.config.log_path, now_ns=now_ns) as writer:
            writer.write(stream, data)

    def calls_to(self, method: str) -> list[RuntimeCall]:
        return [call for call in self.calls if call.method == method]

    def config(self, container_id: str) -> ContainerConfig:
        """The config the kubelet created this container with."""
        return self._entry(container_id).config

    def running(self) -> list[ContainerStatus]:
        return [
            e.status for e in self._containers.values() if e.status.phase is ContainerPhase.RUNNING
        ]

    # The Runtime protocol.

    async def run_sandbox(self, config: SandboxConfig) -> SandboxStatus:
        self._record("run_sandbox", config)
        self._raise_failure("run_sandbox")
        status = SandboxStatus(
            id=f"sandbox-{next(self._ids)}",
            pod_uid=config.pod_uid,
            pod_name=config.pod_name,
            namespace=config.namespace,
            ip=f"10.88.0.{len(self.sandboxes) % 250 + 2}",
            ready=True,
            created_at=self.clock.now(),
            labels={
                **config.labels,
                LABEL_POD_UID: config.pod_uid,
                LABEL_POD_NAME: config.pod_name,
                LABEL_POD_NAMESPACE: config.namespace,
            },
        )
        self.sandboxes[status.id] = status
        return status

    async def stop_sandbox(self, sandbox_id: str) -> None:
        self._record("stop_sandbox", sandbox_id)
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is None:
            return
        for entry in list(self._containers.values()):
            status = entry.status
            if status.sandbox_id == sandbox_id and status.phase is ContainerPhase.RUNNING:
                self._finish(entry, 137, TerminationReason.ERROR.value)
        self.sandboxes[sandbox_id] = dataclasses.replace(sandbox, ready=False)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        self._record("remove_sandbox", sandbox_id)
        for cid in [c for c, e in self._containers.items() if e.status.sandbox_id == sandbox_id]:
            del self._containers[cid]
        self.sandboxes.pop(sandbox_id, None)

    async def list_sandboxes(self) -> list[SandboxStatus]:
        self._record("list_sandboxes")
        return list(self.sandboxes.values())

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        self._record("create_container", sandbox_id, config)
        self._raise_failure("create_container")
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is None:
            raise NotFoundError(f'sandbox "{sandbox_id}" not found')
        container_id = f"container-{next(self._ids)}"
        labels = {
            **config.labels,
            **sandbox.labels,
            LABEL_CONTAINER_NAME: config.name,
            LABEL_ATTEMPT: str(config.attempt),
        }
        status = ContainerStatus(
            id=container_id,
            sandbox_id=sandbox_id,
            name=config.name,
            attempt=config.attempt,
            phase=ContainerPhase.CREATED,
            created_at=self.clock.now(),
            log_path=config.log_path,
            labels=labels,
        )
        self._containers[container_id] = _Entry(status, config)
        return container_id

    async def start_container(self, container_id: str) -> None:
        self._record("start_container", container_id)
        entry = self._entry(container_id)
        failure = self._take_failure("start_container")
        if failure is not None:
            if isinstance(failure, StartContainerError):
                reason = TerminationReason.START_ERROR.value
                self._finish(entry, 128, reason, failure.message, started=False)
            raise failure
        if entry.status.phase is not ContainerPhase.CREATED:
            raise StartContainerError(f'container "{container_id}" is not in created state')
        entry.status = dataclasses.replace(
            entry.status,
            phase=ContainerPhase.RUNNING,
            started_at=self.clock.now(),
            pid=10_000 + int(container_id.rsplit("-", 1)[1]),
        )

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        entry = self._call("stop_container", container_id, grace_seconds)
        if entry.status.phase is not ContainerPhase.RUNNING:
            return
        behaviour = entry.stop
        if grace_seconds > 0 and not behaviour.ignore_signal:
            code = behaviour.exit_code
            reason = TerminationReason.COMPLETED if code == 0 else TerminationReason.ERROR
            self._finish(entry, code, reason.value)
            return
        if grace_seconds > 0:
            await self._first(entry.exited.wait(), grace_seconds)  # the test may exit() it
        if entry.status.phase is ContainerPhase.RUNNING:
            self._finish(entry, 137, TerminationReason.ERROR.value)

    async def remove_container(self, container_id: str) -> None:
        self._record("remove_container", container_id)
        self._raise_failure("remove_container")
        entry = self._containers.pop(container_id, None)
        if entry is not None and entry.status.phase is ContainerPhase.RUNNING:
            self._finish(entry, 137, TerminationReason.ERROR.value)

    async def list_containers(self) -> list[ContainerStatus]:
        self._record("list_containers")
        self._raise_failure("list_containers")
        return [e.status for e in self._containers.values()]

    async def container_status(self, container_id: str) -> ContainerStatus:
        return self._call("container_status", container_id).status

    async def exec_sync(
        self, container_id: str, argv: tuple[str, ...], *, timeout_seconds: float, output_limit: int
    ) -> ExecResult:
        entry = self._call("exec_sync", container_id, argv, timeout_seconds)
        self._require_running(entry)
        if self.exec_handler is None:
            queued = self._exec_results.popleft() if self._exec_results else ExecResult(0, b"")
            if isinstance(queued, ContainerRuntimeError):
                raise queued
            result = queued
        else:
            outcome = self.exec_handler(container_id, argv)
            if inspect.isawaitable(outcome):
                box: list[ExecResult] = []

                async def run() -> None:
                    box.append(await outcome)

                if not await self._first(run(), timeout_seconds):
                    return ExecResult(exit_code=137, output=b"", timed_out=True)
                result = box[0]
            else:
                result = outcome
        return dataclasses.replace(result, output=result.output[:output_limit])

    async def exec_session(
        self, container_id: str, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> ExecSession:
        entry = self._call("exec_session", container_id, argv, tty, stdin)
        self._require_running(entry)
        return self._sessions.popleft() if self._sessions else FakeExecSession(echo=True)

    async def close(self) -> None:
        self._record("close")
        self.closed = True

    # Internals.

    def _record(self, method: str, *args: object) -> None:
        self.calls.append(RuntimeCall(method, args))

    def _raise_failure(self, method: str) -> None:
        failure = self._take_failure(method)
        if failure is not None:
            raise failure

    def _take_failure(self, method: str) -> ContainerRuntimeError | None:
        queue = self._failures.get(method)
        return queue.popleft() if queue else None

    def _entry(self, container_id: str) -> _Entry:
        entry = self._containers.get(container_id)
        if entry is None:
            raise NotFoundError(f'container "{container_id}" not found')
        return entry

    def _call(self, method: str, container_id: str, *args: object) -> _Entry:
        """Record a call on a container, raise a queued failure, find the container."""
        self._record(method, container_id, *args)
        self._raise_failure(method)
        return self._entry(container_id)

    def _finish(
        self, entry: _Entry, code: int, reason: str, message: str = "", *, started: bool = True
    ) -> None:
        entry.status = dataclasses.replace(
            entry.status,
            phase=ContainerPhase.EXITED,
            started_at=entry.status.started_at if started else None,
            finished_at=self.clock.now(),
            exit_code=code,
            reason=reason,
            message=message,
            pid=None,
        )
        entry.exited.set()

    @staticmethod
    def _require_running(entry: _Entry) -> None:
        if entry.status.phase is not ContainerPhase.RUNNING:
            state = f"CONTAINER_{entry.status.phase.value.upper()}"
            raise ContainerRuntimeError(
                f"failed to exec in container: container is in {state} state"
            )

    async def _first(self, work: Awaitable[object], seconds: float) -> bool:
        """Run work until done or until the clock passes ``seconds``; True if it finished."""
        task = asyncio.ensure_future(work)
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, sleeper):
                pending.cancel()
            await asyncio.wait({task, sleeper})
        return task.done() and not task.cancelled() and task.exception() is None


def _conforms(fake: FakeRuntime, session: FakeExecSession) -> tuple[Runtime, ExecSession]:
    """Never called: mypy checks here that the fakes satisfy the protocols."""
    return fake, session
