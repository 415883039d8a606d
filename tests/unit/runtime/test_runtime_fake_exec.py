"""FakeRuntime exec: scripted results, handlers timed out on the fake clock, echo sessions."""

from __future__ import annotations

import asyncio

import pytest

from kubeproc.kubelet.runtime.fake import FakeExecSession, FakeRuntime
from kubeproc.kubelet.runtime.types import (
    ContainerConfig,
    ContainerRuntimeError,
    ExecResult,
    SandboxConfig,
)
from kubeproc.util.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def setup(clock: FakeClock) -> tuple[FakeRuntime, str]:
    fake = FakeRuntime(clock)
    sandbox = await fake.run_sandbox(SandboxConfig("u", "p", "ns", "p", "/l"))
    cid = await fake.create_container(sandbox.id, ContainerConfig(name="c", attempt=0, argv=("x",)))
    await fake.start_container(cid)
    return fake, cid


async def test_exec_sync_returns_queued_results_then_success(
    setup: tuple[FakeRuntime, str],
) -> None:
    """Queued results (or errors) come out in order; then exit 0, no output; output is capped."""
    fake, cid = setup
    fake.queue_exec(ExecResult(1, b"not ready yet"))
    fake.queue_exec(ContainerRuntimeError("exec failed"))
    first = await fake.exec_sync(cid, ("check",), timeout_seconds=1, output_limit=3)
    assert (first.exit_code, first.output) == (1, b"not")
    with pytest.raises(ContainerRuntimeError, match="exec failed"):
        await fake.exec_sync(cid, ("check",), timeout_seconds=1, output_limit=3)
    assert await fake.exec_sync(cid, ("check",), timeout_seconds=1, output_limit=3) == ExecResult(
        0, b""
    )
    assert [c.args[1] for c in fake.calls_to("exec_sync")] == [("check",)] * 3


async def test_async_handler_times_out_on_the_fake_clock(
    setup: tuple[FakeRuntime, str], clock: FakeClock
) -> None:
    """A handler that sleeps past timeout_seconds yields timed_out exactly at the deadline."""
    fake, cid = setup
    finished: list[str] = []

    async def slow(container_id: str, argv: tuple[str, ...]) -> ExecResult:
        await clock.sleep(10)
        finished.append(container_id)
        return ExecResult(0, b"late")

    fake.exec_handler = slow
    probe = asyncio.create_task(fake.exec_sync(cid, ("x",), timeout_seconds=2, output_limit=100))
    await clock.advance(0)  # let the exec start: its deadline counts from then
    await clock.advance(1.9)
    assert not probe.done()
    await clock.advance(0.1)
    async with asyncio.timeout(1):
        result = await probe
    assert result.timed_out and result.exit_code == 137
    assert finished == []


async def test_sync_handler_sees_the_argv(setup: tuple[FakeRuntime, str]) -> None:
    """A plain handler answers from the argv."""
    fake, cid = setup
    fake.exec_handler = lambda _cid, argv: ExecResult(len(argv), " ".join(argv).encode())
    result = await fake.exec_sync(cid, ("a", "b"), timeout_seconds=1, output_limit=100)
    assert (result.exit_code, result.output) == (2, b"a b")


async def test_exec_into_an_exited_container_fails(setup: tuple[FakeRuntime, str]) -> None:
    """As with containerd: not running is an error, not a result."""
    fake, cid = setup
    fake.exit(cid, 1)
    with pytest.raises(ContainerRuntimeError, match="CONTAINER_EXITED"):
        await fake.exec_sync(cid, ("x",), timeout_seconds=1, output_limit=10)
    with pytest.raises(ContainerRuntimeError, match="CONTAINER_EXITED"):
        await fake.exec_session(cid, ("sh",), tty=True, stdin=True)


async def test_default_session_echoes_until_stdin_closes(setup: tuple[FakeRuntime, str]) -> None:
    """The default session echoes stdin to stdout and exits 0 when stdin closes."""
    fake, cid = setup
    session = await fake.exec_session(cid, ("sh",), tty=False, stdin=True)
    await session.write_stdin(b"hi\n")
    await session.close_stdin()
    async with asyncio.timeout(1):
        assert [c async for c in session.stdout()] == [b"hi\n"]
        assert await session.wait() == 0


async def test_queued_session_is_scripted(setup: tuple[FakeRuntime, str]) -> None:
    """A queued session gives its output and exit code, and records stdin and resizes."""
    fake, cid = setup
    scripted = FakeExecSession(stdout=b"out", stderr=b"err", exit_code=3)
    fake.queue_session(scripted)
    session = await fake.exec_session(cid, ("sh",), tty=True, stdin=True)
    await session.resize(80, 24)
    await session.write_stdin(b"ls\n")
    assert [c async for c in session.stdout()] == [b"out"]
    assert [c async for c in session.stderr()] == [b"err"]
    assert await session.wait() == 3
    assert (scripted.stdin, scripted.resizes) == (bytearray(b"ls\n"), [(80, 24)])
    await session.kill()
    assert await session.wait() == 137
