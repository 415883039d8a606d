"""conmon and runc: how a container is created, started, signalled and deleted.

As CRI-O does it: ``conmon`` is started per container and double-forks away from
kubeproc (so it outlives a kubeproc restart); it runs ``runc create``, reports the
container's pid (or runc's error) on a sync pipe (``_OCI_SYNCPIPE``), then stays as the
container's parent: it owns its stdio, writes the CRI log (``k8s-file``), notices OOM
kills (the ``oom`` file, from the memory cgroup's events) and writes the exit code to
``<persist>/exit`` when the container ends. ``runc start`` then lets it run; ``runc
kill`` signals it. runc keeps its own state under a per-node ``--root``.

The log file is capped with conmon's ``--log-size-max`` at the kubelet's
``containerLogMaxSize``: conmon, not kubeproc, writes it, so without the cap a container
printing fast fills the disk. On reaching the cap conmon starts the file afresh (a new
inode, which a following reader notices), as with CRI-O's ``log_size_max``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

from kubeproc.kubelet.logs.writer import DEFAULT_MAX_BYTES
from kubeproc.kubelet.runtime.oci import proc
from kubeproc.kubelet.runtime.oci.state import process_start
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, CreateContainerError

log = logging.getLogger(__name__)

CREATE_TIMEOUT = 60.0
_LOGRUS_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Runc:
    binary: str
    root: Path

    async def _run(self, *args: str) -> proc.Completed:
        return await proc.run([self.binary, f"--root={self.root}", *args])

    async def start(self, container_id: str) -> None:
        done = await self._run("start", container_id)
        if not done.ok:
            raise ContainerRuntimeError(f"runc start failed: {runc_error(done.error_text())}")

    async def kill(self, container_id: str, signum: int) -> bool:
        """Signal the container's init; False if it is not running (any more)."""
        done = await self._run("kill", container_id, str(int(signum)))
        return done.ok

    async def delete(self, container_id: str) -> None:
        """Forget the container (and its cgroup); kills it first if it still runs."""
        if (self.root / container_id).exists():
            done = await self._run("delete", "--force", container_id)
            if not done.ok and (self.root / container_id).exists():
                log.warning("runc delete failed container=%s: %s", container_id, done.error_text())


@dataclass(frozen=True)
class Launched:
    pid: int
    pid_start: int | None
    conmon_pid: int | None
    conmon_start: int | None


@dataclass(frozen=True)
class ConmonSpec:
    container_id: str
    name: str
    bundle: Path
    persist_dir: Path
    log_path: str
    socket_dir: Path
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    log_max_bytes: int = DEFAULT_MAX_BYTES

    @property
    def pid_file(self) -> Path:
        return self.bundle / "pidfile"

    @property
    def conmon_pid_file(self) -> Path:
        return self.bundle / "conmon.pid"


def conmon_argv(conmon: str, runc: Runc, spec: ConmonSpec) -> list[str]:
    argv = [
        conmon,
        "--api-version=1",
        f"--cid={spec.container_id}",
        f"--cuuid={spec.container_id}",
        f"--name={spec.name}",
        f"--runtime={runc.binary}",
        f"--runtime-arg=--root={runc.root}",
        f"--bundle={spec.bundle}",
        f"--container-pidfile={spec.pid_file}",
        f"--conmon-pidfile={spec.conmon_pid_file}",
        f"--log-path=k8s-file:{spec.log_path}",
        f"--log-size-max={spec.log_max_bytes}",
        f"--persist-dir={spec.persist_dir}",
        f"--socket-dir-path={spec.socket_dir}",
        "--log-level=info",
    ]
    if spec.tty:
        argv.append("--terminal")
    if spec.stdin:
        argv.append("--stdin")
        if not spec.stdin_once:
            argv.append("--leave-stdin-open")
    return argv


async def launch(conmon: str, runc: Runc, spec: ConmonSpec) -> Launched:
    """Create the container under a new conmon; CreateContainerError with runc's words."""
    read_fd, write_fd = os.pipe()
    with (spec.bundle / "conmon.log").open("ab") as diag:
        try:
            child = proc.Child.spawn(
                conmon_argv(conmon, runc, spec),
                env={
                    "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                    "_OCI_SYNCPIPE": str(write_fd),
                },
                stdout=diag.fileno(),
                stderr=diag.fileno(),
                pass_fds=(write_fd,),
                cwd=str(spec.persist_dir),  # conmon also drops an `oom` file in its cwd
            )
        finally:
            os.close(write_fd)
    reader = proc.Reader(read_fd)
    try:
        async with asyncio.timeout(CREATE_TIMEOUT):
            reply = await _first_line(reader)
            await child.wait()
    except BaseException as exc:
        # Timed out or cancelled: stop conmon before it finishes a create nobody will own.
        child.signal_group(signal.SIGKILL)
        _kill_conmon(spec)
        if isinstance(exc, TimeoutError):
            raise CreateContainerError(
                "container create failed: timed out waiting for runc create"
            ) from None
        raise
    finally:
        reader.close()
    try:
        message = json.loads(reply)
    except ValueError:
        detail = (spec.bundle / "conmon.log").read_text(errors="replace").strip() or "conmon failed"
        raise CreateContainerError(f"container create failed: {detail}") from None
    pid = int(message.get("data", -1))
    if pid <= 0:
        raise CreateContainerError(
            f"container create failed: {runc_error(message.get('message', ''))}"
        )
    conmon_pid = _read_pid(spec.conmon_pid_file)
    return Launched(
        pid=pid,
        pid_start=process_start(pid),
        conmon_pid=conmon_pid,
        conmon_start=process_start(conmon_pid) if conmon_pid else None,
    )


async def _first_line(reader: proc.Reader) -> bytes:
    buffered = b""
    async with contextlib.aclosing(reader.chunks()) as chunks:
        async for chunk in chunks:
            buffered += chunk
            if b"\n" in buffered:
                break
    return buffered.split(b"\n", 1)[0]


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _kill_conmon(spec: ConmonSpec) -> None:
    pid = _read_pid(spec.conmon_pid_file)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def runc_error(text: str) -> str:
    """runc's logrus line (``time=... level=error msg="..."``) reduced to its message."""
    found = _LOGRUS_MSG.findall(text)
    if not found:
        return text.strip()
    return "; ".join(_unquote(m) for m in found).strip()


def _unquote(quoted: str) -> str:
    """logrus quotes a message as Go does; JSON string rules cover what runc prints."""
    try:
        text = json.loads(f'"{quoted}"')
    except ValueError:
        return quoted
    return text if isinstance(text, str) else quoted
