"""Helpers for the process runtime's tests: a pod on a fresh runtime, and process checks.

``process_pod`` gives each test its own ``ProcessRuntime`` (state under the test's
``tmp_path``) and one sandbox; at the end ``close`` stops whatever still runs, a sweep
SIGKILLs the process group of any container still reported running, and every container
is removed (so its cgroup goes). Meanwhile the test process is the subreaper of what the
test starts, so orphans are reaped here rather than left to pid 1 (which, in some
sandboxes, never reaps them), and "no zombies left" can be checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubeproc.kubelet.runtime.process import ProcessRuntime
from kubeproc.kubelet.runtime.types import (
    ContainerConfig,
    ContainerPhase,
    ContainerStatus,
    SandboxConfig,
)

PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Pod:
    runtime: ProcessRuntime
    sandbox_id: str
    log_dir: Path

    async def run(self, *argv: str, name: str = "c", **fields: object) -> str:
        """Create and start a container; returns its id."""
        config = ContainerConfig(
            name=name,
            attempt=0,
            argv=argv,
            log_path=str(self.log_dir / name / "0.log"),
            **fields,  # type: ignore[arg-type]
        )
        container_id = await self.runtime.create_container(self.sandbox_id, config)
        await self.runtime.start_container(container_id)
        return container_id

    async def wait_exited(self, container_id: str, within: float = 10) -> ContainerStatus:
        """Poll the status until the container has exited, within a deadline."""
        async with asyncio.timeout(within):
            while True:
                status = await self.runtime.container_status(container_id)
                if status.phase is ContainerPhase.EXITED:
                    return status
                await asyncio.sleep(0.01)

    def log_path(self, name: str = "c") -> Path:
        return self.log_dir / name / "0.log"


def process_gone(pid: int) -> bool:
    """True once the pid is neither running nor a zombie (it was reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "X"


async def poll_until(check: Callable[[], bool], within: float = 5) -> None:
    """Poll a condition every 10 ms until it holds, within a deadline."""
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)


def process_running(pid: int) -> bool:
    """Alive and not a zombie (a sandbox's pid 1 may leave orphans as zombies)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def exists(path: Path | str) -> bool:
    return Path(path).exists()


@contextlib.contextmanager
def subreaper() -> Iterator[None]:
    """Be the subreaper of orphaned descendants; reap the zombies left at the end."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("cannot become a child subreaper")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        with contextlib.suppress(ChildProcessError):
            while os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG) is not None:
                pass


@contextlib.asynccontextmanager
async def process_pod(
    tmp_path: Path, *, cgroup_parent: str | None = None, **options: int
) -> AsyncIterator[Pod]:
    """A fresh runtime with one sandbox; everything it started is gone afterwards."""
    with subreaper():
        runtime = ProcessRuntime(
            tmp_path / "state",
            cgroup_parent=cgroup_parent,
            close_grace_seconds=1,
            **options,  # type: ignore[arg-type]
        )
        try:
            sandbox = await runtime.run_sandbox(
                SandboxConfig(
                    pod_uid=str(uuid.uuid4()),
                    pod_name="web-0",
                    namespace="default",
                    hostname="web-0",
                    log_dir=str(tmp_path / "logs"),
                )
            )
            yield Pod(runtime, sandbox.id, tmp_path / "logs")
        finally:
            await _sweep(runtime)


async def _sweep(runtime: ProcessRuntime) -> None:
    await runtime.close()
    for status in await runtime.list_containers():
        if status.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(status.pid, signal.SIGKILL)
    for status in await runtime.list_containers():
        await runtime.remove_container(status.id)
    await runtime.close()  # with every container cgroup gone, the cgroup parent goes too
