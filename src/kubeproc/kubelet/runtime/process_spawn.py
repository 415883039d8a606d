"""Spawning and reaping the process runtime's children, cheaply and exactly.

``spawn`` starts a program in a new session (so it leads its own process group, and the
whole group can be signalled) through ``subprocess.Popen``, which uses vfork here and
reports exec failures in the parent; ``Child`` learns of the exit from a pidfd registered
with the event loop (``loop.add_reader(os.pidfd_open(pid))``: no watcher thread, 4-5x
cheaper in the parent than asyncio's default child watcher, see perf-baselines §4.2 and
§5) and reaps it in that callback. Without pidfds (kernels before 5.3) a thread waits.

``resolve_executable`` checks the program the way runc does before it execs (Go's
``exec.LookPath`` with the container's ``PATH``), so a missing or non-executable command
fails with the words a Kubernetes user sees from containerd and runc.

A process group number stays reserved while a member (even a zombie) exists, so signals
go to a group only while its leader is unreaped; ``reap_group`` then collects the
group's orphans if kubeproc is their subreaper (``PR_SET_CHILD_SUBREAPER``), and costs
one syscall otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import signal
import stat
import subprocess
import termios
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""containerd's default PATH for a container whose environment sets none."""

START_FAILED_PREFIX = (
    "failed to create containerd task: failed to create shim task: OCI runtime create "
    "failed: runc create failed: unable to start container process: "
)
EXEC_FAILED_PREFIX = "OCI runtime exec failed: exec failed: unable to start container process: "


class ExecError(Exception):
    """The program cannot be executed; ``detail`` is runc's text (``exec: "x": ...``)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def start_message(self) -> str:
        """What the kubelet shows for a container that could not start (containerd)."""
        return f"{START_FAILED_PREFIX}{self.detail}: unknown"

    def exec_message(self) -> str:
        """What ``kubectl exec`` and exec probes see for a command that cannot run."""
        return f"{EXEC_FAILED_PREFIX}{self.detail}: unknown"


def resolve_executable(name: str, path_env: str, cwd: str) -> str:
    """The file to execute for argv[0], or ``ExecError`` with runc's words for why not."""
    if "/" in name:
        candidate = name if name.startswith("/") else str(Path(cwd, name))
        try:
            info = Path(candidate).stat()
        except OSError as exc:
            raise ExecError(f'exec: "{name}": stat {name}: {_go_strerror(exc)}') from exc
        if not _is_executable(candidate, info):
            raise ExecError(f'exec: "{name}": permission denied')
        return candidate
    for directory in path_env.split(":"):
        candidate = str(Path(cwd, directory or ".", name))
        try:
            info = Path(candidate).stat()
        except OSError:
            continue
        if _is_executable(candidate, info):
            return candidate
    raise ExecError(f'exec: "{name}": executable file not found in $PATH')


def _is_executable(candidate: str, info: os.stat_result) -> bool:
    return (
        not stat.S_ISDIR(info.st_mode)
        and info.st_mode & 0o111 != 0
        and os.access(candidate, os.X_OK)
    )


def _go_strerror(exc: OSError) -> str:
    """errno text as Go prints it: lower case ('no such file or directory')."""
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return text[:1].lower() + text[1:]


def exec_failure(name: str, exc: OSError) -> ExecError:
    """An exec that failed after resolution (a script without interpreter, a race)."""
    return ExecError(f'exec: "{name}": {_go_strerror(exc)}')


def exit_code(returncode: int) -> int:
    """Kubernetes' exit code: a signal N is reported as 128+N (137 SIGKILL, 143 SIGTERM)."""
    return 128 - returncode if returncode < 0 else returncode


@dataclass(frozen=True)
class SpawnSpec:
    """How to run one program: its argv, environment, directory and stdio fds."""

    argv: Sequence[str]
    executable: str
    env: dict[str, str]
    cwd: str
    stdin: int
    stdout: int
    stderr: int
    set_ctty: bool = False
    """Make stdin (a pty slave) the controlling terminal (tty sessions)."""
    cgroup_procs: int | None = None
    """An open ``cgroup.procs`` to join before the exec, so nothing escapes the cgroup."""
    user: int | None = None
    group: int | None = None
    extra_groups: Sequence[int] | None = None


def spawn(spec: SpawnSpec) -> subprocess.Popen[bytes]:
    """Start the program as the leader of a new session; OSError if exec fails."""
    return subprocess.Popen(
        list(spec.argv),
        executable=spec.executable,
        env=spec.env,
        cwd=spec.cwd,
        stdin=spec.stdin,
        stdout=spec.stdout,
        stderr=spec.stderr,
        start_new_session=True,
        close_fds=True,
        preexec_fn=_before_exec(spec),  # noqa: PLW1509 (tty and cgroups only; see _before_exec)
        user=spec.user,
        group=spec.group,
        extra_groups=spec.extra_groups,
    )


def _before_exec(spec: SpawnSpec) -> Callable[[], None] | None:
    """What the child does between fork and exec, if anything.

    Only two things need it: joining the container's cgroup (done later, from the parent,
    the program could fork before being moved, and that child would escape the cgroup and
    its limit) and taking a terminal as controlling tty. Both cost a fork of kubeproc
    instead of a vfork, so plain spawns (exec probes above all) never take this path. The
    child runs no Python beyond two system calls on fds opened by the parent, and no lock.
    """
    procs, ctty = spec.cgroup_procs, spec.set_ctty
    if procs is None and not ctty:
        return None

    def before_exec() -> None:
        if procs is not None:
            os.write(procs, b"0")  # "0": the writing process itself
        if ctty:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    return before_exec


def start_ticks(pid: int) -> int | None:
    """The process's start time (field 22 of /proc/<pid>/stat): tells a pid from its reuse."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


class Child:
    """A spawned process leading its own group; its exit is reaped from a pidfd callback."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        *,
        kill_group_on_exit: bool = False,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.popen = popen
        self.pid = popen.pid
        self._kill_group_on_exit = kill_group_on_exit
        self._on_exit = on_exit
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Future[int] = self._loop.create_future()
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            waiting = self._loop.run_in_executor(None, popen.wait)
            waiting.add_done_callback(lambda _: self._reap())
        else:
            self._loop.add_reader(self._pidfd, self._reap)

    @property
    def exited(self) -> bool:
        return self._done.done()

    async def wait(self) -> int:
        """The exit code, 128+signal for a signal (as Kubernetes reports it)."""
        return await asyncio.shield(self._done)

    def signal_group(self, signum: int) -> bool:
        """Signal the whole process group while its leader is unreaped; False if gone."""
        if self._done.done():
            return False
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def _reap(self) -> None:
        if self._done.done():
            return
        if self._kill_group_on_exit:
            # The leader is a zombie, so the group number is still ours: end the rest of
            # the group as a PID namespace ends when its init exits.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        returncode = self.popen.poll()
        if returncode is None:
            return  # spurious wake-up
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        code = exit_code(returncode)
        self._done.set_result(code)
        if self._on_exit is not None:
            self._on_exit(code)


async def reap_group(pgid: int, *, patience: float = 1.0) -> None:
    """Reap the group's members that are our children (orphans, if we are a subreaper)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        try:
            result = os.waitid(os.P_PGID, pgid, os.WEXITED | os.WNOHANG)  # noqa: ASYNC222 (WNOHANG: never blocks)
        except ChildProcessError:
            return
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise
        if result is not None:
            continue  # reaped one; look for more
        if loop.time() >= deadline:
            log.warning("process group still has live children pgid=%d", pgid)
            return
        await asyncio.sleep(0.005)
