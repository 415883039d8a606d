"""Exec in process-runtime containers: exec_sync with deadlines and limits, sessions, tty."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from processkit import Pod, process_gone, process_pod

from kubeproc.kubelet.runtime.types import ContainerRuntimeError, ExecSession

LONG_RUNNING = ("sh", "-c", "cd /tmp; exec sleep 60")


@pytest.fixture
async def pod(tmp_path: Path) -> AsyncIterator[Pod]:
    async with process_pod(tmp_path) as p:
        yield p


async def read_until(chunks: AsyncIterator[bytes], expected: bytes, count: int = 1) -> bytes:
    """Read a stream until expected occurs count times in the output, within a deadline."""
    seen = b""
    async with asyncio.timeout(5):
        async for chunk in chunks:
            seen += chunk
            if seen.count(expected) >= count:
                return seen
    raise AssertionError(f"stream ended before {expected!r}; got {seen!r}")


async def test_exec_sync_runs_with_the_container_env_and_dir(pod: Pod, tmp_path: Path) -> None:
    """Output (stdout, then stderr) and exit code; the container's env and cwd."""
    cid = await pod.run(*LONG_RUNNING, env=(("FOO", "bar"),), working_dir=str(tmp_path))
    result = await pod.runtime.exec_sync(
        cid, ("sh", "-c", 'echo err >&2; echo "$FOO $PWD"; exit 4'),
        timeout_seconds=5, output_limit=1024,
    )  # fmt: skip
    assert result.exit_code == 4
    assert not result.timed_out
    assert result.output == f"bar {tmp_path}\nerr\n".encode()


async def test_exec_sync_caps_output_and_still_finishes(pod: Pod) -> None:
    """Output past the limit is read and dropped: a chatty command never blocks."""
    cid = await pod.run(*LONG_RUNNING)
    result = await pod.runtime.exec_sync(
        cid, ("sh", "-c", "head -c 1000000 /dev/zero; echo done"),
        timeout_seconds=5, output_limit=10,
    )  # fmt: skip
    assert (result.exit_code, result.output, result.timed_out) == (0, b"\0" * 10, False)


async def test_exec_sync_timeout_kills_the_whole_tree_and_leaves_no_zombies(
    pod: Pod, tmp_path: Path
) -> None:
    """Past the deadline the group is killed and every process of the tree is reaped."""
    cid = await pod.run(*LONG_RUNNING)
    pids = tmp_path / "pids"
    script = f"sleep 30 & echo $! > {pids}; sh -c 'echo $$ >> {pids}; sleep 30' & wait"
    started = time.monotonic()
    result = await pod.runtime.exec_sync(
        cid, ("sh", "-c", script), timeout_seconds=0.5, output_limit=1024
    )
    assert result.timed_out
    assert result.exit_code == 137
    assert 0.5 <= time.monotonic() - started < 3
    tree = [int(p) for p in pids.read_text().split()]
    assert len(tree) == 2
    assert all(process_gone(pid) for pid in tree)


async def test_exec_sync_errors(pod: Pod) -> None:
    """A command that does not exist and an exited container are errors, not results."""
    cid = await pod.run(*LONG_RUNNING)
    with pytest.raises(ContainerRuntimeError) as raised:
        await pod.runtime.exec_sync(cid, ("nope",), timeout_seconds=1, output_limit=10)
    assert raised.value.message == (
        "OCI runtime exec failed: exec failed: unable to start container process: "
        'exec: "nope": executable file not found in $PATH: unknown'
    )
    await pod.runtime.stop_container(cid, 0)
    with pytest.raises(ContainerRuntimeError, match="CONTAINER_EXITED"):
        await pod.runtime.exec_sync(cid, ("true",), timeout_seconds=1, output_limit=10)


async def test_stop_kills_running_exec_commands(pod: Pod) -> None:
    """A command exec'd into a container ends when the container is stopped."""
    cid = await pod.run(*LONG_RUNNING)
    probe = asyncio.create_task(
        pod.runtime.exec_sync(cid, ("sleep", "30"), timeout_seconds=30, output_limit=10)
    )
    await asyncio.sleep(0.1)
    await pod.runtime.stop_container(cid, 5)
    async with asyncio.timeout(5):
        result = await probe
    assert result.exit_code == 137


async def close_and_wait(session: ExecSession) -> int:
    await session.close_stdin()
    async with asyncio.timeout(5):
        return await session.wait()


async def test_exec_session_echo_with_pipes(pod: Pod) -> None:
    """Without tty: stdin goes in, stdout and stderr come back apart, then the exit code."""
    cid = await pod.run(*LONG_RUNNING)
    session = await pod.runtime.exec_session(
        cid, ("sh", "-c", "cat; echo oops >&2; exit 3"), tty=False, stdin=True
    )
    await session.write_stdin(b"hello\n")
    assert await read_until(session.stdout(), b"hello\n") == b"hello\n"
    await session.close_stdin()
    assert await read_until(session.stderr(), b"oops\n") == b"oops\n"
    assert await close_and_wait(session) == 3


async def test_exec_session_echo_with_tty(pod: Pod) -> None:
    """With tty: a terminal that echoes and maps newlines; ^D ends cat; no stderr."""
    cid = await pod.run(*LONG_RUNNING)
    session = await pod.runtime.exec_session(cid, ("sh", "-c", "tty; cat"), tty=True, stdin=True)
    stdout = session.stdout()
    await session.write_stdin(b"hello\n")
    seen = await read_until(stdout, b"hello\r\n", count=2)  # the terminal's echo, then cat's
    assert b"/dev/pts/" in seen
    assert await close_and_wait(session) == 0
    assert [chunk async for chunk in session.stderr()] == []


async def test_exec_session_resize_reaches_the_terminal(pod: Pod) -> None:
    """resize sets rows and columns that the command reads from its terminal."""
    cid = await pod.run(*LONG_RUNNING)
    session = await pod.runtime.exec_session(
        cid, ("sh", "-c", "read x; stty size"), tty=True, stdin=True
    )
    await session.resize(100, 40)
    await session.write_stdin(b"go\n")
    assert b"40 100" in await read_until(session.stdout(), b"40 100")
    assert await close_and_wait(session) == 0


async def test_exec_session_kill(pod: Pod) -> None:
    """kill ends the command (and its group): wait reports 137."""
    cid = await pod.run(*LONG_RUNNING)
    session = await pod.runtime.exec_session(cid, ("sleep", "30"), tty=False, stdin=False)
    await session.kill()
    assert await session.wait() == 137
