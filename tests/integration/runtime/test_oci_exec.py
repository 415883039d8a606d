"""Exec into oci containers, for real: the container's view, timeouts, sessions, ttys.

Needs root, runc, conmon and the CNI plugins (skipped otherwise, with the reason). Each
test builds a private node and leaves nothing behind (``ocikit.oci_node``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ocikit import UNAVAILABLE, Node, oci_node, poll_until, processes_mentioning

from kubeproc.kubelet.runtime.types import ContainerRuntimeError, Security

pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"oci runtime unavailable: {UNAVAILABLE}"
)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    async with oci_node(tmp_path) as n:
        yield n


def cgroups_of(pid: int | None) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text()


async def read_all(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_exec_runs_as_the_container_runs(node: Node) -> None:
    """Same user, groups, capabilities, env, cwd, hostname, PID namespace and cgroup."""
    sandbox = await node.sandbox("exec-0")
    container = await node.run(
        sandbox.id,
        "sleep",
        "600",
        env=(("GREETING", "hello"),),
        working_dir="/tmp",
        security=Security(
            run_as_user=1000,
            run_as_group=1000,
            supplemental_groups=(5,),
            capabilities_drop=("ALL",),
        ),
    )
    script = "id -u; id -g; id -G; echo $GREETING; pwd; hostname; grep CapBnd /proc/self/status; cat /proc/1/cmdline"
    result = await node.runtime.exec_sync(
        container, ("sh", "-c", script), timeout_seconds=10, output_limit=4096
    )
    assert result.exit_code == 0, result.output
    lines = result.output.decode().splitlines()
    assert lines[:7] == [
        "1000",
        "1000",
        "1000 5",
        "hello",
        "/tmp",
        "exec-0",
        "CapBnd:\t0000000000000000",
    ]
    assert lines[7] == "sleep\x00600\x00"
    init_pid = (await node.runtime.container_status(container)).pid
    own = await node.runtime.exec_sync(
        container, ("cat", "/proc/self/cgroup"), timeout_seconds=10, output_limit=4096
    )
    assert own.output.decode() == cgroups_of(init_pid)


async def test_exec_sync_gives_stdout_then_stderr(node: Node) -> None:
    """As CRI's ExecSync: stdout first, then stderr, whatever order they were written in."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    result = await node.runtime.exec_sync(
        container,
        ("sh", "-c", "echo err >&2; echo out; exit 1"),
        timeout_seconds=10,
        output_limit=8,
    )
    assert (result.exit_code, result.output) == (1, b"out\nerr\n"[:8])


async def test_exec_sync_timeout_kills_the_whole_group(node: Node) -> None:
    """Past the deadline the command and everything it forked are killed and reaped."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    marker = f"{uuid.uuid4().int % 10_000}.{uuid.uuid4().int % 1000}"
    script = f"sleep {marker} & sleep {marker} & echo started; wait"
    started = time.monotonic()
    result = await node.runtime.exec_sync(
        container, ("sh", "-c", script), timeout_seconds=0.5, output_limit=4096
    )
    assert result.timed_out
    assert result.output == b"started\n"
    assert time.monotonic() - started < 3
    await poll_until(lambda: not processes_mentioning(f"sleep\x00{marker}"))


async def test_exec_sync_caps_output_and_reports_exit_codes(node: Node) -> None:
    """Output past the limit is dropped (the command still finishes); exit codes come back."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    big = await node.runtime.exec_sync(
        container,
        ("sh", "-c", "head -c 1000000 /dev/zero; exit 4"),
        timeout_seconds=10,
        output_limit=100,
    )
    assert (big.exit_code, len(big.output), big.timed_out) == (4, 100, False)
    with pytest.raises(
        ContainerRuntimeError, match=r'exec: "nope": executable file not found in \$PATH'
    ):
        await node.runtime.exec_sync(container, ("nope",), timeout_seconds=5, output_limit=100)


async def test_exec_session_pipes_stdin_to_stdout(node: Node) -> None:
    """An interactive exec without tty: stdin in, stdout and stderr out, then the exit code."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    session = await node.runtime.exec_session(
        container, ("sh", "-c", "cat; echo done >&2; exit 5"), tty=False, stdin=True
    )
    await session.write_stdin(b"hello\n")
    await session.close_stdin()
    assert await read_all(session.stdout()) == b"hello\n"
    assert await read_all(session.stderr()) == b"done\n"
    assert await session.wait() == 5


async def test_exec_session_with_a_tty_resizes(node: Node) -> None:
    """With a tty: one stream, the window size set by resize, a controlling terminal."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    session = await node.runtime.exec_session(
        container,
        ("sh", "-c", "read line; stty size; echo $TERM; test -t 0 && echo tty"),
        tty=True,
        stdin=True,
    )
    await session.resize(100, 40)
    await session.write_stdin(b"go\n")
    output = await read_all(session.stdout())
    assert await session.wait() == 0
    assert b"40 100\r\nxterm\r\ntty\r\n" in output, output
    assert await read_all(session.stderr()) == b""


async def test_exec_session_kill(node: Node) -> None:
    """kill() ends a session that would run forever."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    session = await node.runtime.exec_session(container, ("sleep", "600"), tty=False, stdin=False)
    await session.kill()
    assert await session.wait() == 137
