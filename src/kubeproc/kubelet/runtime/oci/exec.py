"""Exec in a running container without ``runc exec``: the same process, about 3x cheaper.

``runc exec`` costs some 20 ms a call here (a Go binary starting, then its own re-exec
into the namespaces); exec probes pay that every period. This path enters the container
with small C tools instead, in one chain of execs, each step doing what runc would:

    sh -c 'echo $$ > <each cgroup.procs of the container's init>; exec "$@"'   cgroups
    nsenter --target <init> --mount --uts --ipc --net --pid                   namespaces
    setpriv --reuid --regid --groups --bounding-set --inh-caps=-all            user, caps
    env -i -C <cwd> <the container's environment> <argv>                       env, cwd

(nsenter forks once to enter the PID namespace.) User, groups, capabilities, environment
and working directory are read from the bundle's ``process`` section, the one runc ran
the container with, so an exec sees what ``runc exec`` would show. The helpers run with a
clean environment: the container's (``LD_PRELOAD`` included) only reaches the command.
A command that cannot be executed is found before spawning, by Go's ``LookPath`` rules
applied through ``/proc/<init>/root``, and reported with runc's words. What differs from
``runc exec``: nothing the spec sets (it has no seccomp or LSM profile and no rlimits,
so neither path applies any), but a tty is a pty of the host's devpts, not one made
inside the container.

The chain leads its own session: a timeout SIGKILLs the whole process group (which spans
the PID namespace), the leader is reaped from its pidfd, and output past the caller's
limit is read and dropped so the command never blocks on a full pipe; stdout comes
first in the result, then stderr, as CRI's ``ExecSync`` returns them. With a tty the
chain starts with ``setsid --ctty`` on a pty kubeproc allocates (stderr then arrives in
stdout); ``resize`` sets its window size.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import posixpath
import signal
import stat
import struct
import subprocess
import termios
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeproc.kubelet.runtime.oci import proc
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, ExecResult

DRAIN_AFTER_EXIT = 0.5
"""How long output may still arrive after the command exits (from processes it left)."""

EXEC_FAILED_PREFIX = "OCI runtime exec failed: exec failed: unable to start container process: "
HELPER_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
_JOIN = 'while [ "$1" != -- ]; do echo $$ >"$1" || exit 125; shift; done; shift; exec "$@"'


@dataclass(frozen=True)
class Tools:
    sh: str
    nsenter: str
    setpriv: str
    env: str
    setsid: str


@dataclass(frozen=True)
class ExecTarget:
    """A running container as exec needs it: its init and the process runc started."""

    pid: int
    cgroup_procs: tuple[str, ...]
    uid: int
    gid: int
    groups: tuple[int, ...]
    bounding: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str

    @classmethod
    def from_spec(cls, pid: int, cgroup_procs: list[Path], process: dict[str, Any]) -> ExecTarget:
        user = process.get("user", {})
        return cls(
            pid=pid,
            cgroup_procs=tuple(str(p) for p in cgroup_procs),
            uid=int(user.get("uid", 0)),
            gid=int(user.get("gid", 0)),
            groups=tuple(int(g) for g in user.get("additionalGids") or ()),
            bounding=tuple(process.get("capabilities", {}).get("bounding") or ()),
            env=tuple(process.get("env") or ()),
            cwd=process.get("cwd") or "/",
        )

    def path_env(self) -> str:
        for entry in self.env:
            if entry.startswith("PATH="):
                return entry[5:]
        return ""


def exec_argv(
    tools: Tools, target: ExecTarget, argv: tuple[str, ...], *, tty: bool = False
) -> list[str]:
    """The helper chain that runs argv in the container (pure)."""
    caps = ",".join(["-all", *(f"+{c.removeprefix('CAP_').lower()}" for c in target.bounding)])
    groups = (
        [f"--groups={','.join(str(g) for g in target.groups)}"]
        if target.groups
        else ["--clear-groups"]
    )
    chain = [
        *([tools.setsid, "--ctty"] if tty else []),
        *[tools.sh, "-c", _JOIN, "kubeproc-exec", *target.cgroup_procs, "--"],
        *[tools.nsenter, f"--target={target.pid}", "--mount", "--uts", "--ipc", "--net", "--pid"],
        *["--", tools.setpriv, f"--reuid={target.uid}", f"--regid={target.gid}", *groups],
        *[f"--bounding-set={caps}", "--inh-caps=-all", "--"],
        *[tools.env, "-i", f"--chdir={target.cwd}", *target.env],
    ]
    if tty and not any(e.startswith("TERM=") for e in target.env):
        chain.append("TERM=xterm")
    return [*chain, *argv]


def lookpath(root: str, name: str, path_env: str, cwd: str) -> str | None:
    """runc's (Go's ``exec.LookPath``) verdict on argv[0] in the container; None if fine."""

    def executable(path: str) -> bool | None:
        try:
            info = Path(root + path).stat()
        except OSError:
            return None
        return not stat.S_ISDIR(info.st_mode) and bool(info.st_mode & 0o111)

    if "/" in name:
        path = name if name.startswith("/") else posixpath.join(cwd, name)
        verdict = executable(path)
        if verdict is None:
            return f'exec: "{name}": stat {name}: no such file or directory'
        return None if verdict else f'exec: "{name}": permission denied'
    for directory in path_env.split(":"):
        base = directory or "."
        path = posixpath.join(base if base.startswith("/") else posixpath.join(cwd, base), name)
        if executable(path):
            return None
    return f'exec: "{name}": executable file not found in $PATH'


def _check(target: ExecTarget, argv: tuple[str, ...]) -> None:
    if not argv:
        raise ContainerRuntimeError("exec: no command given")
    detail = lookpath(f"/proc/{target.pid}/root", argv[0], target.path_env(), target.cwd)
    if detail is not None:
        raise ContainerRuntimeError(f"{EXEC_FAILED_PREFIX}{detail}: unknown")


async def exec_sync(
    tools: Tools,
    target: ExecTarget,
    argv: tuple[str, ...],
    *,
    timeout_seconds: float,
    output_limit: int,
) -> ExecResult:
    """Run argv to completion or to the deadline; see the module docstring."""
    _check(target, argv)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        child = proc.Child.spawn(
            exec_argv(tools, target, argv), env=HELPER_ENV, stdout=out_write, stderr=err_write
        )
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:
        os.close(out_write)
        os.close(err_write)
    readers = (proc.Reader(out_read), proc.Reader(err_read))
    timed_out = False
    try:
        async with asyncio.TaskGroup() as group:
            collected = [group.create_task(r.read_capped(output_limit)) for r in readers]
            try:
                async with asyncio.timeout_at(deadline):
                    returncode = await child.wait()
            except TimeoutError:
                timed_out = True
                child.signal_group(signal.SIGKILL)
                returncode = await child.wait()
            drain = (
                DRAIN_AFTER_EXIT
                if timed_out
                else max(0.0, min(DRAIN_AFTER_EXIT, deadline - loop.time()))
            )
            await asyncio.wait(collected, timeout=drain)
            for reader in readers:
                reader.close()  # output still held open by something the command left behind
    finally:
        child.signal_group(signal.SIGKILL)  # no-op once reaped; on cancellation, ends the group
        for reader in readers:
            reader.close()
    output = b"".join(task.result() for task in collected)[:output_limit]
    return ExecResult(exit_code=proc.exit_code(returncode), output=output, timed_out=timed_out)


class OciExecSession:
    """An interactive exec (``kubectl exec``): the ``ExecSession`` of the oci runtime."""

    def __init__(
        self,
        child: proc.Child,
        stdout: proc.Reader,
        stderr: proc.Reader | None,
        stdin: int | None,
        *,
        tty: bool,
    ) -> None:
        self._child = child
        self._stdout = stdout
        self._stderr = stderr
        self._stdin = stdin
        self._tty = tty
        self._pty = stdout.fd if tty else None

    @classmethod
    def start(
        cls, tools: Tools, target: ExecTarget, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> OciExecSession:
        _check(target, argv)
        chain = exec_argv(tools, target, argv, tty=tty)
        if tty:
            master, slave = os.openpty()
            try:
                # Not a group leader yet, so `setsid --ctty` makes a session without forking.
                child = proc.Child.spawn(
                    chain,
                    env=HELPER_ENV,
                    stdin=slave,
                    stdout=slave,
                    stderr=slave,
                    new_session=False,
                )
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
            stdin_fd = os.dup(master) if stdin else None
            if stdin_fd is not None:
                os.set_blocking(stdin_fd, False)
            return cls(child, proc.Reader(master), None, stdin_fd, tty=True)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if stdin else (subprocess.DEVNULL, None)
        try:
            child = proc.Child.spawn(chain, env=HELPER_ENV, stdin=in_r, stdout=out_w, stderr=err_w)
        except BaseException:
            for fd in (out_r, err_r, in_w):
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in (out_w, err_w, in_r if stdin else None):
                if fd is not None:
                    os.close(fd)
        if in_w is not None:
            os.set_blocking(in_w, False)
        return cls(child, proc.Reader(out_r), proc.Reader(err_r), in_w, tty=False)

    async def write_stdin(self, data: bytes) -> None:
        if self._stdin is None:
            raise ContainerRuntimeError("stdin of this exec session is not open")
        await proc.write_all(self._stdin, data)

    async def close_stdin(self) -> None:
        fd, self._stdin = self._stdin, None
        if fd is None:
            return
        if self._tty:
            with contextlib.suppress(OSError):
                await proc.write_all(fd, b"\x04")  # end of file, as typed at the terminal
        os.close(fd)

    def stdout(self) -> AsyncIterator[bytes]:
        return self._stdout.chunks()

    async def _no_output(self) -> AsyncIterator[bytes]:
        return
        yield  # pragma: no cover (makes this an async generator)

    def stderr(self) -> AsyncIterator[bytes]:
        return self._stderr.chunks() if self._stderr is not None else self._no_output()

    async def resize(self, width: int, height: int) -> None:
        if self._pty is not None and self._stdout.fd is not None:
            fcntl.ioctl(self._pty, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> int:
        returncode = await self._child.wait()
        if not self._tty:
            await self.close_stdin()
        return proc.exit_code(returncode)

    async def kill(self) -> None:
        self._child.signal_group(signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._child.pid, signal.SIGKILL)  # before `setsid` made it a group leader
        await self._child.wait()
        await self.close_stdin()
