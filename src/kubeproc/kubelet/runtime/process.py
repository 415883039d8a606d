"""The ``process`` runtime: containers as plain child processes, for machines without runc.

A sandbox is only a record: every pod is on the host network with IP 127.0.0.1, and the
hostname is the host's (``HOSTNAME`` in the environment is the pod's, as containerd sets
it). A container is a program started in its own session, so it leads a process group:
the stop signal goes to the group, SIGKILL follows after the grace period, and when the
main process exits the rest of the group is killed, as a PID namespace ends with its
init. Exit codes are Kubernetes': 128+signal for a signal, reason ``Completed`` for 0,
``Error`` otherwise, ``OOMKilled`` when the container's memory cgroup saw the OOM killer.
A command that cannot be executed ends the container at once with ``StartError``, exit
code 128 and containerd's message (``process_spawn``), and ``start_container`` raises it.

What it cannot do, without namespaces (the ``oci`` runtime does all of these):

- volumes are not mounted: ``mounts`` are ignored, a program sees the host's filesystem;
- ``working_dir`` is used when it exists; otherwise (or when empty) the container runs in
  a scratch directory of its own under the state directory, removed with the container;
- limits: memory only, and only with ``cgroup_parent`` on a machine whose memory cgroup
  kubeproc may write to (``process_cgroup``); CPU and pids limits are not enforced;
- security: ``run_as_user``/``run_as_group``/supplemental groups apply when kubeproc runs as
  root, everything else in ``Security`` is ignored; ``stdin`` is /dev/null (no attach);
- a process that starts a new session escapes its group and, without a cgroup, a stop;
- containers do not outlive kubeproc: ``close`` stops them (stop signal, a short grace,
  SIGKILL) and records how they exited; after a crash, the next start kills what is left
  (recognised by pid and start time) and reports those containers as exited (137 when it
  killed them, 255 when they were already gone).

Output goes to ``ContainerConfig.log_path`` in the CRI format through ``logs.CriLogWriter``
(rotated by size); the container is recorded as exited only once its output is in the
file, so a reader following the log sees all of it. State is in memory, mirrored in one
JSON file per sandbox and container under ``state_dir`` (``process_state``), so
``list_sandboxes``/``list_containers`` survive a restart. Every name comes from the
parameters and random ids, so two runtimes with their own state dirs never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
import shutil
import signal
import subprocess
from pathlib import Path

from kubeproc.kubelet.logs import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_FILES,
    DEFAULT_MAX_LINE,
    CriLogWriter,
    Stream,
)
from kubeproc.kubelet.runtime.process_cgroup import MemoryCgroups, open_memory_cgroups
from kubeproc.kubelet.runtime.process_container import (
    ContainerHandle,
    container_labels,
    environment,
    exit_reason,
    identity,
    pod_labels,
    recover,
    working_dir,
)
from kubeproc.kubelet.runtime.process_exec import ExecContext, ProcessExecSession
from kubeproc.kubelet.runtime.process_exec import exec_sync as run_exec_sync
from kubeproc.kubelet.runtime.process_io import OutputPump
from kubeproc.kubelet.runtime.process_spawn import (
    Child,
    ExecError,
    SpawnSpec,
    exec_failure,
    reap_group,
    resolve_executable,
    spawn,
    start_ticks,
)
from kubeproc.kubelet.runtime.process_state import ContainerRecord, SandboxRecord, StateDir
from kubeproc.kubelet.runtime.types import (
    ContainerConfig,
    ContainerPhase,
    ContainerRuntimeError,
    ContainerStatus,
    CreateContainerError,
    ExecResult,
    ExecSession,
    NotFoundError,
    Runtime,
    SandboxConfig,
    SandboxStatus,
    StartContainerError,
    TerminationReason,
)
from kubeproc.util.clock import Clock, SystemClock

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 2.0
"""After the main process exits, how long its output may take to reach the log."""


class ProcessRuntime:
    """Runs containers as child processes of kubeproc; see the module docstring."""

    name = "process"

    def __init__(
        self,
        state_dir: Path,
        *,
        cgroup_parent: str | None,
        clock: Clock | None = None,
        log_max_bytes: int = DEFAULT_MAX_BYTES,
        log_max_files: int = DEFAULT_MAX_FILES,
        log_max_line: int = DEFAULT_MAX_LINE,
        close_grace_seconds: float = 5.0,
    ) -> None:
        self._state = StateDir(Path(state_dir))
        self._clock = clock or SystemClock()
        self._log_max_bytes = log_max_bytes
        self._log_max_files = log_max_files
        self._log_max_line = log_max_line
        self._close_grace = close_grace_seconds
        self._cgroups: MemoryCgroups | None = None
        if cgroup_parent is not None:
            self._cgroups = open_memory_cgroups(cgroup_parent)
        self._tasks: set[asyncio.Task[None]] = set()
        self._sandboxes = {r.id: r for r in self._state.load_sandboxes()}
        self._containers: dict[str, ContainerHandle] = {}
        for record in self._state.load_containers():
            recovered = recover(record, self._cgroups, self._clock.now())
            if recovered is not record:
                self._state.save_container(recovered)
            handle = ContainerHandle(recovered)
            handle.exited.set()
            self._containers[record.id] = handle

    @property
    def memory_limits_enforced(self) -> bool:
        """Whether containers get memory cgroups (``cgroup_parent`` given and usable)."""
        return self._cgroups is not None

    # Sandboxes: records only (host network, 127.0.0.1).

    async def run_sandbox(self, config: SandboxConfig) -> SandboxStatus:
        record = SandboxRecord(
            id=secrets.token_hex(32),
            pod_uid=config.pod_uid,
            pod_name=config.pod_name,
            namespace=config.namespace,
            hostname=config.hostname,
            log_dir=config.log_dir,
            created_at=self._clock.now(),
            labels={**config.labels, **pod_labels(config)},
        )
        self._state.save_sandbox(record)
        self._sandboxes[record.id] = record
        log.info(
            "sandbox created sandbox=%s pod=%s/%s",
            record.id[:12],
            config.namespace,
            config.pod_name,
        )
        return record.status()

    async def stop_sandbox(self, sandbox_id: str) -> None:
        record = self._sandboxes.get(sandbox_id)
        if record is None:
            return
        members = [
            c.record.id for c in self._containers.values() if c.record.sandbox_id == sandbox_id
        ]
        await asyncio.gather(*(self.stop_container(cid, 0) for cid in members))
        if record.ready:
            record = dataclasses.replace(record, ready=False)
            self._state.save_sandbox(record)
            self._sandboxes[sandbox_id] = record

    async def remove_sandbox(self, sandbox_id: str) -> None:
        await self.stop_sandbox(sandbox_id)
        for c in [c for c in self._containers.values() if c.record.sandbox_id == sandbox_id]:
            await self.remove_container(c.record.id)
        self._state.delete_sandbox(sandbox_id)
        self._sandboxes.pop(sandbox_id, None)

    async def list_sandboxes(self) -> list[SandboxStatus]:
        return [r.status() for r in self._sandboxes.values()]

    # Containers.

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        sandbox = self._sandboxes.get(sandbox_id)
        if sandbox is None:
            raise NotFoundError(f'sandbox "{sandbox_id}" not found')
        if not sandbox.ready:
            raise CreateContainerError(f'sandbox "{sandbox_id}" is not ready')
        if not config.argv:
            raise CreateContainerError("no command specified")
        labels = container_labels(config, sandbox.labels)
        record = ContainerRecord(
            id=secrets.token_hex(32),
            sandbox_id=sandbox_id,
            name=config.name,
            attempt=config.attempt,
            phase=ContainerPhase.CREATED,
            created_at=self._clock.now(),
            log_path=config.log_path,
            labels=labels,
        )
        self._state.save_container(record)
        self._containers[record.id] = ContainerHandle(record, config)
        if config.mounts:
            log.debug("process runtime does not mount volumes container=%s", record.id[:12])
        return record.id

    async def start_container(self, container_id: str) -> None:
        c = self._get(container_id)
        if c.record.phase is not ContainerPhase.CREATED or c.config is None:
            raise StartContainerError(f'container "{container_id}" is not in created state')
        config = c.config
        sandbox = self._sandboxes[c.record.sandbox_id]
        writer: CriLogWriter | None = None
        try:
            c.cwd = working_dir(config, self._state.container_dir(c.record.id) / "workdir")
            c.env = environment(config, sandbox.hostname)
            executable = resolve_executable(config.argv[0], c.env["PATH"], c.cwd)
            writer = self._log_writer(config.log_path)
            if self._cgroups is not None:
                c.cgroup = self._cgroups.create(c.record.id, config.resources.memory_limit_bytes)
                c.record = dataclasses.replace(c.record, cgroup=str(c.cgroup))
        except (ExecError, OSError) as exc:
            if writer is not None:
                writer.close()
            if isinstance(exc, ExecError):
                message = exc.start_message()
            else:
                message = f"failed to prepare container: {exc}"
            self._start_failed(c, message)
            raise StartContainerError(message) from exc
        self._spawn(c, executable, writer)

    def _spawn(self, c: ContainerHandle, executable: str, writer: CriLogWriter | None) -> None:
        config = c.config
        assert config is not None
        if config.tty:
            master, slave = os.openpty()
            stdio, readers = (slave, slave, slave), [(master, Stream.STDOUT)]
        else:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            stdio = (subprocess.DEVNULL, out_w, err_w)
            readers = [(out_r, Stream.STDOUT), (err_r, Stream.STDERR)]
        user, group, groups = identity(config)
        procs: int | None = None
        try:
            if c.cgroup is not None:
                procs = os.open(c.cgroup / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
            spec = SpawnSpec(
                config.argv,
                executable,
                c.env,
                c.cwd,
                *stdio,
                set_ctty=config.tty,
                cgroup_procs=procs,
                user=user,
                group=group,
                extra_groups=groups,
            )
            popen = spawn(spec)
        except (OSError, subprocess.SubprocessError) as exc:
            for fd, _ in readers:
                os.close(fd)
            if writer is not None:
                writer.close()
            if isinstance(exc, OSError):
                message = exec_failure(config.argv[0], exc).start_message()
            else:
                message = f"failed to start container process: {exc}"
            self._start_failed(c, message)
            raise StartContainerError(message) from exc
        finally:
            for fd in {stdio[1], stdio[2]} | ({procs} if procs is not None else set()):
                os.close(fd)
        child = Child(popen, kill_group_on_exit=True)
        pumps = [OutputPump(fd, stream, writer) for fd, stream in readers]
        c.child = child
        c.record = dataclasses.replace(
            c.record,
            phase=ContainerPhase.RUNNING,
            started_at=self._clock.now(),
            pid=child.pid,
            pid_start=start_ticks(child.pid),
        )
        self._state.save_container(c.record)
        log.info(
            "container started container=%s name=%s pid=%d",
            c.record.id[:12],
            c.record.name,
            child.pid,
        )
        task = asyncio.create_task(self._monitor(c, child, pumps, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _monitor(
        self, c: ContainerHandle, child: Child, pumps: list[OutputPump], writer: CriLogWriter | None
    ) -> None:
        """Wait for the exit, end what is left of the container, drain its output, record."""
        code: int | None = None
        try:
            code = await child.wait()
            await reap_group(child.pid)
            if c.cgroup is not None and self._cgroups is not None:
                self._cgroups.kill_all(c.cgroup)
            for command in list(c.execs):
                command.signal_group(signal.SIGKILL)  # exec'd commands end with the container
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_TIMEOUT):
                    await asyncio.gather(*(pump.done for pump in pumps))
        finally:
            for pump in pumps:
                pump.close()
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.close()
            if code is not None:
                self._record_exit(c, code)

    def _record_exit(self, c: ContainerHandle, code: int) -> None:
        oom_killed = (
            c.cgroup is not None
            and self._cgroups is not None
            and self._cgroups.oom_kills(c.cgroup) > 0
        )
        reason = exit_reason(code, oom_killed=oom_killed)
        c.record = dataclasses.replace(
            c.record,
            phase=ContainerPhase.EXITED,
            finished_at=self._clock.now(),
            exit_code=code,
            reason=reason.value,
        )
        self._state.save_container(c.record)
        c.exited.set()
        log.info(
            "container exited container=%s name=%s exit_code=%d reason=%s",
            c.record.id[:12],
            c.record.name,
            code,
            reason.value,
        )

    def _start_failed(self, c: ContainerHandle, message: str) -> None:
        c.record = dataclasses.replace(
            c.record,
            phase=ContainerPhase.EXITED,
            finished_at=self._clock.now(),
            exit_code=128,
            reason=TerminationReason.START_ERROR.value,
            message=message,
        )
        self._state.save_container(c.record)
        c.exited.set()
        log.info(
            "container failed to start container=%s name=%s message=%s",
            c.record.id[:12],
            c.record.name,
            message,
        )

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        c = self._get(container_id)
        child = c.child
        if c.record.phase is not ContainerPhase.RUNNING or child is None:
            return
        if grace_seconds > 0 and c.config is not None:
            child.signal_group(c.config.stop_signal)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_seconds):
                    await c.exited.wait()
        if not c.exited.is_set():
            child.signal_group(signal.SIGKILL)
            if c.cgroup is not None and self._cgroups is not None:
                self._cgroups.kill_all(c.cgroup)
            await c.exited.wait()

    async def remove_container(self, container_id: str) -> None:
        c = self._containers.get(container_id)
        if c is None:
            return
        await self.stop_container(container_id, 0)
        if self._cgroups is not None and c.record.cgroup:
            self._cgroups.remove(Path(c.record.cgroup))
        shutil.rmtree(self._state.container_dir(container_id), ignore_errors=True)
        self._containers.pop(container_id, None)

    async def list_containers(self) -> list[ContainerStatus]:
        return [c.record.status() for c in self._containers.values()]

    async def container_status(self, container_id: str) -> ContainerStatus:
        return self._get(container_id).record.status()

    # Exec.

    async def exec_sync(
        self, container_id: str, argv: tuple[str, ...], *, timeout_seconds: float, output_limit: int
    ) -> ExecResult:
        ctx = self._exec_context(container_id)
        return await run_exec_sync(
            ctx, argv, timeout_seconds=timeout_seconds, output_limit=output_limit
        )

    async def exec_session(
        self, container_id: str, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> ExecSession:
        return ProcessExecSession.start(
            self._exec_context(container_id), argv, tty=tty, stdin=stdin
        )

    def _exec_context(self, container_id: str) -> ExecContext:
        c = self._get(container_id)
        if c.record.phase is not ContainerPhase.RUNNING or c.config is None:
            state = f"CONTAINER_{c.record.phase.value.upper()}"
            raise ContainerRuntimeError(
                f"failed to exec in container: container is in {state} state"
            )
        user, group, groups = identity(c.config)

        def adopt(command: Child) -> None:
            if c.cgroup is not None:
                self._join_cgroup(c.cgroup, command.pid)
            c.execs.add(command)

        return ExecContext(
            env=c.env,
            cwd=c.cwd,
            adopt=adopt,
            release=c.execs.discard,
            user=user,
            group=group,
            extra_groups=groups,
        )

    async def close(self) -> None:
        """Stop every running container (they cannot outlive kubeproc here), then the tasks.

        The cgroup parent is removed too when no container cgroup is left in it.
        """
        running = [
            cid for cid, c in self._containers.items() if c.record.phase is ContainerPhase.RUNNING
        ]
        await asyncio.gather(*(self.stop_container(cid, self._close_grace) for cid in running))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._cgroups is not None:
            with contextlib.suppress(OSError):
                self._cgroups.parent.rmdir()  # only once no container cgroup is left

    # Helpers.

    def _get(self, container_id: str) -> ContainerHandle:
        c = self._containers.get(container_id)
        if c is None:
            raise NotFoundError(f'container "{container_id}" not found')
        return c

    def _log_writer(self, path: str) -> CriLogWriter | None:
        if not path:
            return None  # no log path: the output is read and dropped
        return CriLogWriter(
            path,
            max_bytes=self._log_max_bytes,
            max_files=self._log_max_files,
            max_line=self._log_max_line,
        )

    def _join_cgroup(self, cgroup: Path, pid: int) -> None:
        try:
            MemoryCgroups.add_process(cgroup, pid)
        except OSError as exc:
            log.warning(
                "cannot move process into its cgroup pid=%d cgroup=%s error=%s", pid, cgroup, exc
            )


def _conforms(runtime: ProcessRuntime, session: ProcessExecSession) -> tuple[Runtime, ExecSession]:
    """Never called: mypy checks here that the process runtime satisfies the protocols."""
    return runtime, session
