"""Memory cgroups of the process runtime: limits set, OOM reported, escapees stopped."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from processkit import Pod, poll_until, process_pod, process_running

from kubeproc.kubelet.runtime.types import Resources, StartContainerError

MiB = 1024 * 1024


@pytest.fixture
def parent_name() -> str:
    return f"kubeproc-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def limited(tmp_path: Path, parent_name: str) -> AsyncIterator[Pod]:
    """A runtime with its own cgroup parent (under this test's own cgroup), and a pod.

    Afterwards no cgroup of it is left: not the containers', not the parent.
    """
    async with process_pod(tmp_path, cgroup_parent=parent_name) as pod:
        if not pod.runtime.memory_limits_enforced:
            # As root the memory cgroup is writable on the machines the project runs on; a
            # runtime that cannot use it there is a bug, not a reason to skip.
            assert os.geteuid() != 0, "running as root, yet no writable memory cgroup"
            pytest.skip("no writable memory cgroup without root")
        parent = cgroup_dir(memory_cgroup(os.getpid())) / parent_name
        assert parent.is_dir()
        yield pod
    assert not parent.exists()


def cgroup_dir(path: str) -> Path:
    """Where a memory cgroup path is in the file system (v1 memory mount, or v2)."""
    for mount in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
        candidate = Path(mount) / path.lstrip("/")
        if candidate.is_dir():
            return candidate
    raise AssertionError(f"cgroup {path} not found")


def memory_cgroup(pid: int) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(",") or controllers == "":
            return path
    raise AssertionError("no memory cgroup")


async def test_over_the_limit_is_oom_killed(limited: Pod) -> None:
    """Allocating past the memory limit ends the container: OOMKilled, exit code 137."""
    hog = "x = b'x' * (400 << 20)"
    cid = await limited.run(
        sys.executable, "-c", hog, resources=Resources(memory_limit_bytes=64 * MiB)
    )
    status = await limited.wait_exited(cid, within=30)
    assert (status.exit_code, status.reason) == (137, "OOMKilled")


async def test_each_container_has_its_cgroup_with_its_limit(limited: Pod) -> None:
    """The container's processes are in its own cgroup with the limit; removal deletes it."""
    cid = await limited.run("sleep", "30", resources=Resources(memory_limit_bytes=64 * MiB))
    pid = (await limited.runtime.container_status(cid)).pid
    assert pid is not None
    path = memory_cgroup(pid)
    assert path.endswith(f"/{cid}")
    directory = cgroup_dir(path)
    limit_file = directory / "memory.limit_in_bytes"
    if not limit_file.exists():
        limit_file = directory / "memory.max"
    assert int(limit_file.read_text()) == 64 * MiB
    await limited.runtime.stop_container(cid, 1)
    assert (await limited.runtime.container_status(cid)).exit_code == 143
    await limited.runtime.remove_container(cid)
    assert not directory.exists()


async def test_stop_reaches_processes_that_left_the_group(limited: Pod, tmp_path: Path) -> None:
    """A process that started its own session is still in the cgroup, and is killed."""
    pidfile = tmp_path / "escapee"
    cid = await limited.run("sh", "-c", f"setsid sleep 60 & echo $! > {pidfile}; exec sleep 60")
    await poll_until(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
    escapee = int(pidfile.read_text())
    await limited.runtime.stop_container(cid, 1)
    assert not process_running(escapee)


async def test_a_failed_exec_after_setup_leaves_no_cgroup(
    limited: Pod, tmp_path: Path, parent_name: str
) -> None:
    """A script whose interpreter is missing fails at exec, after its cgroup was made: the
    start error says so, and removing the container removes the cgroup."""
    script = tmp_path / "script"
    script.write_text("#!/no/such/interpreter\n")
    script.chmod(0o755)
    with pytest.raises(StartContainerError, match="no such file or directory: unknown"):
        await limited.run(str(script), resources=Resources(memory_limit_bytes=64 * MiB))
    (status,) = await limited.runtime.list_containers()
    assert (status.reason, status.exit_code) == ("StartError", 128)
    parent = cgroup_dir(memory_cgroup(os.getpid())) / parent_name
    assert (parent / status.id).is_dir()
    await limited.runtime.remove_container(status.id)
    assert not (parent / status.id).exists()
