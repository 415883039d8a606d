"""Process runtime lifecycle with real processes: exit codes, stop and grace, start errors."""

from __future__ import annotations

import asyncio
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from processkit import Pod, exists, process_gone, process_pod

from kubeproc.kubelet.logs import LogOptions, read_logs
from kubeproc.kubelet.runtime.process import ProcessRuntime
from kubeproc.kubelet.runtime.types import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    ContainerConfig,
    ContainerPhase,
    NotFoundError,
    StartContainerError,
)

TERM_HANDLED = "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done"
TERM_IGNORED = "trap '' TERM; echo ready; while :; do sleep 0.05; done"


@pytest.fixture
async def pod(tmp_path: Path) -> AsyncIterator[Pod]:
    async with process_pod(tmp_path) as p:
        yield p


async def wait_for_line(pod: Pod, text: str, name: str = "c") -> None:
    """Poll the container's log until a line appears (the container is set up)."""
    async with asyncio.timeout(10):
        while True:
            path = pod.log_path(name)
            if path.exists() and f" F {text}\n".encode() in path.read_bytes():
                return
            await asyncio.sleep(0.01)


async def logs(pod: Pod, name: str = "c") -> bytes:
    chunks = read_logs(pod.log_path(name), LogOptions())
    return b"".join([chunk async for chunk in chunks])


async def test_exit_zero_is_completed_and_output_is_in_the_cri_log(pod: Pod) -> None:
    """stdout and stderr land in the CRI log; exit 0 is Completed, with times and labels."""
    cid = await pod.run("sh", "-c", "echo out; echo err >&2; printf 'no newline'")
    status = await pod.wait_exited(cid)
    assert (status.exit_code, status.reason, status.pid) == (0, "Completed", None)
    assert status.started_at is not None and status.finished_at is not None
    assert status.finished_at >= status.started_at >= status.created_at
    assert status.labels[LABEL_CONTAINER_NAME] == "c"
    assert status.labels[LABEL_ATTEMPT] == "0"
    assert status.labels[LABEL_POD_NAME] == "web-0"
    raw = pod.log_path().read_bytes().split(b"\n")
    assert raw[0].endswith(b" stdout F out")
    assert b" stderr F err" in pod.log_path().read_bytes()
    assert sorted((await logs(pod)).split(b"\n")) == [b"", b"err", b"no newline", b"out"]


async def test_exit_code_and_signal_become_kubernetes_codes(pod: Pod) -> None:
    """A non-zero exit is Error with its code; death by signal is 128+signal."""
    failing = await pod.run("sh", "-c", "exit 3", name="fail")
    killed = await pod.run("sh", "-c", "kill -KILL $$", name="killed")
    assert (await pod.wait_exited(failing)).exit_code == 3
    assert (await pod.wait_exited(failing)).reason == "Error"
    status = await pod.wait_exited(killed)
    assert (status.exit_code, status.reason) == (137, "Error")


@pytest.mark.parametrize(
    ("script", "grace", "code", "min_seconds"),
    [
        (TERM_HANDLED, 5.0, 0, 0.0),
        ("echo ready; exec sleep 30", 5.0, 143, 0.0),
        (TERM_IGNORED, 0.5, 137, 0.5),
        (TERM_HANDLED, 0.0, 137, 0.0),
    ],
    ids=["term-handled", "term-default", "term-ignored-killed-after-grace", "no-grace"],
)
async def test_stop_signal_grace_then_sigkill(
    pod: Pod, script: str, grace: float, code: int, min_seconds: float
) -> None:
    """stop_container: SIGTERM to the group, SIGKILL after the grace; returns once exited."""
    cid = await pod.run("sh", "-c", script)
    await wait_for_line(pod, "ready")
    started = time.monotonic()
    await pod.runtime.stop_container(cid, grace)
    elapsed = time.monotonic() - started
    status = await pod.runtime.container_status(cid)
    assert status.phase is ContainerPhase.EXITED
    assert status.exit_code == code
    assert min_seconds <= elapsed < min_seconds + 3
    if code == 0:
        assert b"bye\n" in await logs(pod)


async def test_stop_signal_is_configurable(pod: Pod) -> None:
    """ContainerConfig.stop_signal is what the group gets first (SIGINT here: 130)."""
    cid = await pod.run("sh", "-c", "echo ready; exec sleep 30", stop_signal=2)
    await wait_for_line(pod, "ready")
    await pod.runtime.stop_container(cid, 5)
    assert (await pod.runtime.container_status(cid)).exit_code == 130


async def test_main_exit_ends_the_rest_of_the_container(pod: Pod, tmp_path: Path) -> None:
    """When the main process exits, its leftover children die with it (as in a PID ns)."""
    pidfile = tmp_path / "bg.pid"
    cid = await pod.run("sh", "-c", f"sleep 60 & echo $! > {pidfile}; echo ready")
    await pod.wait_exited(cid)
    assert process_gone(int(pidfile.read_text()))


async def test_command_not_found_is_a_start_error(pod: Pod) -> None:
    """No such command: StartError, exit code 128, containerd's message; start raises it."""
    config = ContainerConfig(name="c", attempt=0, argv=("nope-not-here",), log_path="")
    cid = await pod.runtime.create_container(pod.sandbox_id, config)
    with pytest.raises(StartContainerError) as raised:
        await pod.runtime.start_container(cid)
    message = (
        "failed to create containerd task: failed to create shim task: OCI runtime create "
        "failed: runc create failed: unable to start container process: exec: "
        '"nope-not-here": executable file not found in $PATH: unknown'
    )
    assert raised.value.message == message
    status = await pod.runtime.container_status(cid)
    assert (status.phase, status.exit_code, status.reason) == (
        ContainerPhase.EXITED,
        128,
        "StartError",
    )
    assert status.message == message
    assert status.started_at is None and status.finished_at is not None


async def test_missing_path_and_non_executable_file_are_start_errors(
    pod: Pod, tmp_path: Path
) -> None:
    """An absolute path that does not exist says stat; a file without x says permission."""
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(StartContainerError, match=r'exec: "/no/such": stat /no/such: no such'):
        await pod.run("/no/such", name="missing")
    with pytest.raises(StartContainerError, match=rf'exec: "{script}": permission denied: unk'):
        await pod.run(str(script), name="noexec")
    with pytest.raises(StartContainerError, match=rf'exec: "{tmp_path}": permission denied'):
        await pod.run(str(tmp_path), name="dir")


async def test_env_argv_and_working_dir(pod: Pod, tmp_path: Path) -> None:
    """argv as given, env from the config plus HOSTNAME and PATH, working_dir honoured."""
    script = 'echo "$0|$1|$GREETING|$HOSTNAME|$PWD"; test -n "$PATH" && echo path-ok'
    cid = await pod.run(
        "sh", "-c", script, "zero", "arg one", env=(("GREETING", "hi"),), working_dir=str(tmp_path)
    )
    await pod.wait_exited(cid)
    assert await logs(pod) == f"zero|arg one|hi|web-0|{tmp_path}\npath-ok\n".encode()


async def test_missing_working_dir_gets_a_scratch_dir(pod: Pod, tmp_path: Path) -> None:
    """A working_dir that does not exist is not created on the host: a scratch dir is used."""
    cid = await pod.run("pwd", working_dir="/definitely/not/here")
    await pod.wait_exited(cid)
    cwd = (await logs(pod)).decode().strip()
    assert cwd.startswith(str(tmp_path / "state")) and cwd.endswith("/workdir")
    assert not exists("/definitely")
    await pod.runtime.remove_container(cid)
    assert not exists(cwd)


async def test_sandbox_is_localhost_and_stop_kills_its_containers(pod: Pod) -> None:
    """The sandbox has IP 127.0.0.1; stop_sandbox kills what runs; remove forgets it all."""
    (sandbox,) = await pod.runtime.list_sandboxes()
    assert (sandbox.ip, sandbox.ready) == ("127.0.0.1", True)
    cid = await pod.run("sleep", "30")
    await pod.runtime.stop_sandbox(pod.sandbox_id)
    assert (await pod.runtime.container_status(cid)).exit_code == 137
    assert not (await pod.runtime.list_sandboxes())[0].ready
    await pod.runtime.stop_sandbox(pod.sandbox_id)  # idempotent
    await pod.runtime.remove_sandbox(pod.sandbox_id)
    assert await pod.runtime.list_sandboxes() == []
    assert await pod.runtime.list_containers() == []
    with pytest.raises(NotFoundError):
        await pod.runtime.container_status(cid)


async def test_state_survives_a_runtime_restart(pod: Pod, tmp_path: Path) -> None:
    """A new runtime on the same state dir lists the containers; a running one is killed."""
    done = await pod.run("sh", "-c", "exit 7", name="done")
    await pod.wait_exited(done)
    running = await pod.run("sh", "-c", "echo ready; exec sleep 60", name="running")
    await wait_for_line(pod, "ready", name="running")
    pid = (await pod.runtime.container_status(running)).pid
    assert pid is not None
    # A crash: the old runtime is abandoned, the new one finds the leftovers.
    reborn = ProcessRuntime(tmp_path / "state", cgroup_parent=None)
    try:
        statuses = {s.name: s for s in await reborn.list_containers()}
        assert statuses["done"].exit_code == 7
        assert statuses["done"].reason == "Error"
        assert (statuses["running"].phase, statuses["running"].exit_code) == (
            ContainerPhase.EXITED,
            137,
        )
        assert [s.id for s in await reborn.list_sandboxes()] == [pod.sandbox_id]
        status = await pod.wait_exited(running)  # the old runtime reaps its child
        assert status.exit_code == 137
        assert process_gone(pid)
    finally:
        await reborn.close()


async def test_close_stops_running_containers_and_records_it(pod: Pod, tmp_path: Path) -> None:
    """close: containers cannot outlive kubeproc here; their exit is recorded for later."""
    cid = await pod.run("sh", "-c", TERM_HANDLED)
    await wait_for_line(pod, "ready")
    await pod.runtime.close()
    reborn = ProcessRuntime(tmp_path / "state", cgroup_parent=None)
    status = await reborn.container_status(cid)
    assert (status.phase, status.exit_code, status.reason) == (
        ContainerPhase.EXITED,
        0,
        "Completed",
    )
    await reborn.close()
