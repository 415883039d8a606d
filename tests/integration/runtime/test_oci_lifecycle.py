"""The oci runtime's container lifecycle, for real: exits, stops, OOM, create errors, restarts.

Needs root, runc, conmon and the CNI plugins (skipped otherwise, with the reason). Each
test builds a private node and leaves nothing behind (``ocikit.oci_node``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ocikit import UNAVAILABLE, Node, oci_node, poll_until

from kubeproc.kubelet.runtime.oci import conmon
from kubeproc.kubelet.runtime.oci import runtime as oci_runtime
from kubeproc.kubelet.runtime.types import (
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    ContainerConfig,
    ContainerPhase,
    CreateContainerError,
    Resources,
    TerminationReason,
)

pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"oci runtime unavailable: {UNAVAILABLE}"
)

HANDLES_TERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))\n"
    "print('ready', flush=True)\n"
    "time.sleep(600)\n"
)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    async with oci_node(tmp_path) as n:
        yield n


async def test_exit_codes_and_reasons_and_the_cri_log(node: Node) -> None:
    """0 is Completed, non-zero Error; stdout and stderr land in the CRI log file."""
    sandbox = await node.sandbox()
    ok = await node.run(sandbox.id, "sh", "-c", "echo out; echo err >&2", name="ok")
    bad = await node.run(sandbox.id, "sh", "-c", "exit 3", name="bad")
    ok_status = await node.wait_exited(ok)
    bad_status = await node.wait_exited(bad)
    assert (ok_status.exit_code, ok_status.reason) == (0, TerminationReason.COMPLETED.value)
    assert (bad_status.exit_code, bad_status.reason) == (3, TerminationReason.ERROR.value)
    assert ok_status.finished_at is not None
    assert ok_status.started_at is not None
    assert ok_status.finished_at >= ok_status.started_at
    assert ok_status.labels[LABEL_CONTAINER_NAME] == "ok"
    assert ok_status.labels[LABEL_POD_NAME] == "web-0"
    log = node.log(sandbox.id, "ok")
    assert " stdout F out\n" in log
    assert " stderr F err\n" in log


async def test_memory_limit_ends_in_oomkilled_137(node: Node) -> None:
    """Allocating 200 MiB under a 50 MiB limit: OOMKilled, exit code 137."""
    sandbox = await node.sandbox()
    container = await node.run(
        sandbox.id,
        "python3",
        "-c",
        "x = b'x' * (200 * 1024 * 1024)",
        resources=Resources(
            memory_limit_bytes=50 * 1024 * 1024, pids_limit=64, cpu_limit_millis=500
        ),
    )
    status = await node.wait_exited(container)
    assert (status.exit_code, status.reason) == (137, TerminationReason.OOM_KILLED.value)


async def test_stop_honours_a_handled_sigterm(node: Node) -> None:
    """A program that handles SIGTERM exits with the code it chose, well before the grace."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "python3", "-c", HANDLES_TERM)
    await poll_until(lambda: "stdout F ready" in node.log(sandbox.id))
    started = time.monotonic()
    await node.runtime.stop_container(container, 10)
    assert time.monotonic() - started < 5
    status = await node.runtime.container_status(container)
    assert (status.phase, status.exit_code, status.reason) == (ContainerPhase.EXITED, 42, "Error")
    await node.runtime.stop_container(container, 10)  # idempotent


async def test_stop_kills_after_the_grace_period_when_sigterm_is_ignored(node: Node) -> None:
    """An init without a SIGTERM handler ignores it (PID namespace rule): 137 after grace."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    started = time.monotonic()
    await node.runtime.stop_container(container, 1)
    elapsed = time.monotonic() - started
    assert 1 <= elapsed < 5
    status = await node.runtime.container_status(container)
    assert (status.phase, status.exit_code) == (ContainerPhase.EXITED, 137)


async def test_a_stop_cut_short_keeps_its_deadline_against_a_longer_one(node: Node) -> None:
    """A 2 s stop cancelled midway, then a 30 s stop (the drain of ``kubeproc down``):
    SIGKILL still comes at the first stop's deadline."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    started = time.monotonic()
    first = asyncio.ensure_future(node.runtime.stop_container(container, 2))
    await asyncio.sleep(0.3)  # the kubelet is cancelled while the first stop waits
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await node.runtime.stop_container(container, 30)
    elapsed = time.monotonic() - started
    assert 2 <= elapsed < 6
    status = await node.runtime.container_status(container)
    assert (status.phase, status.exit_code) == (ContainerPhase.EXITED, 137)


async def test_a_missing_command_fails_create_as_on_cri_o(node: Node) -> None:
    """runc create fails: CreateContainerError with runc's words, and nothing is left."""
    sandbox = await node.sandbox()
    config = ContainerConfig(
        name="c", attempt=0, argv=("nope",), log_path=str(node.log_dir / "c.log")
    )
    with pytest.raises(CreateContainerError) as caught:
        await node.runtime.create_container(sandbox.id, config)
    assert caught.value.reason == "CreateContainerError"
    assert 'exec: "nope": executable file not found in $PATH' in caught.value.message
    assert caught.value.message.startswith("container create failed: ")
    assert await node.runtime.list_containers() == []
    assert list(node.runtime.layout.containers_dir.iterdir()) == []


async def test_a_restarted_runtime_finds_everything_again(node: Node) -> None:
    """A new runtime on the same state dir lists the running container and can stop it."""
    sandbox = await node.sandbox()
    running = await node.run(sandbox.id, "sleep", "600", name="sleeper")
    done = await node.run(sandbox.id, "sh", "-c", "exit 7", name="done")
    await node.wait_exited(done)
    await node.runtime.close()

    again = node.reopen()
    [listed] = await again.list_sandboxes()
    assert (listed.id, listed.ip, listed.ready) == (sandbox.id, sandbox.ip, True)
    statuses = {s.id: s for s in await again.list_containers()}
    assert statuses[running].phase is ContainerPhase.RUNNING
    assert statuses[running].labels[LABEL_CONTAINER_NAME] == "sleeper"
    assert (statuses[done].phase, statuses[done].exit_code) == (ContainerPhase.EXITED, 7)
    result = await again.exec_sync(
        running, ("echo", "still here"), timeout_seconds=5, output_limit=100
    )
    assert result.output == b"still here\n"

    await again.stop_container(running, 0)
    assert (await again.container_status(running)).exit_code == 137
    node.runtime = again  # the fixture purges through the new runtime


async def test_exit_written_between_the_two_reads_is_not_lost(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conmon writes the exit file and exits just as the status is read: the code counts.

    Replayed on a container that already exited: its exit is forgotten and its file
    removed, then the liveness check itself writes the file back (conmon finishing at that
    moment) and reports both processes gone. The status must carry the written code, not
    the 255 of a container whose end nobody recorded."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sh", "-c", "exit 3")
    assert (await node.wait_exited(container)).exit_code == 3
    rt = node.runtime
    exit_file = rt.layout.container_dir(container) / "persist" / "exit"
    rt._exits.pop(container)
    exit_file.unlink()

    def conmon_finishing(pid: int | None, start: int | None) -> bool:
        exit_file.write_text("7")
        return False

    monkeypatch.setattr(oci_runtime, "is_alive", conmon_finishing)
    status = await rt.container_status(container)
    assert (status.phase, status.exit_code) == (ContainerPhase.EXITED, 7)


def bridge_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


async def test_a_container_that_outlives_sigkill_keeps_its_state_for_down(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process stuck in the kernel ignores even SIGKILL for a while: the teardown names
    it instead of failing, keeps the node's state and bridge, and a later purge (what
    ``kubeproc down`` runs) removes everything once the kill lands."""
    sandbox = await node.sandbox()
    stuck = await node.run(sandbox.id, "sleep", "600")
    rt = node.runtime
    real_kill = conmon.Runc.kill

    async def kill_lost(runc: conmon.Runc, container_id: str, signum: int) -> None:
        if signum != signal.SIGKILL:
            await real_kill(runc, container_id, signum)

    monkeypatch.setattr(conmon.Runc, "kill", kill_lost)
    monkeypatch.setattr(oci_runtime, "KILL_PATIENCE", 0.5)
    assert set(await rt.purge()) == {sandbox.id, stuck}
    assert (rt.layout.state_dir / "node.json").is_file()
    assert bridge_exists(node.bridge)
    assert (await rt.container_status(stuck)).phase is ContainerPhase.RUNNING

    monkeypatch.setattr(conmon.Runc, "kill", real_kill)
    again = node.reopen()
    assert await again.purge() == ()
    assert not rt.layout.state_dir.exists()
    assert not bridge_exists(node.bridge)
    node.runtime = again  # the fixture's sweep checks that nothing is left
