"""``OciRuntime``: pods as network namespaces, containers as runc containers under conmon.

The kubelet's ``Runtime`` seam, implemented with the pieces beside this module: ``network``
(netns + CNI), ``fsview`` and ``bundle`` (what a container is), ``conmon`` (create, start,
signal, delete), ``state`` (records on disk; statuses derived from them), ``exec``. This
module orders those steps, keeps the per-object locks, and undoes a half-done step.

Every operation is idempotent and every object is found again from the state dir after a
restart (``OciRuntime.create`` on the same dir): conmon keeps containers running and
records their exit while kubeproc is away.

Kubelet-visible choices (CRI-O's, since CRI-O drives runc under conmon the same way):
- a command that cannot be executed fails in ``runc create``, so ``create_container``
  raises ``CreateContainerError`` ("container create failed: runc create failed: unable to
  start container process: exec: "nope": executable file not found in $PATH");
- a stop sends the container's stop signal to its init, then SIGKILL after the grace
  period. An init that installed no handler *ignores* SIGTERM (the kernel's rule for a PID
  namespace's init), so it ends with 137 after the grace period, as on a real node;
- exit reasons: OOMKilled when conmon saw an OOM kill in the container's memory cgroup
  (or its ``oom_kill`` counter moved), else Completed for 0 and Error otherwise.

Exits are pushed (``container_events``): conmon ends right after it records its
container's exit, so a pidfd on each started container's conmon tells the PLEG to relist
at once. Without it a crash waited for the next 1 s relist, which on a short crash-loop
curve used up a whole 1 s back-off before the kubelet even saw the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from kubeproc.kubelet.runtime.oci import conmon, host, podfiles, prepare, proc
from kubeproc.kubelet.runtime.oci import exec as oci_exec
from kubeproc.kubelet.runtime.oci.cgroups import Cgroups
from kubeproc.kubelet.runtime.oci.host import available
from kubeproc.kubelet.runtime.oci.layout import Layout
from kubeproc.kubelet.runtime.oci.network import (
    NETNS_DIR,
    Network,
    find_cni_dir,
    overlapping_routes,
)
from kubeproc.kubelet.runtime.oci.state import (
    ContainerRecord,
    ExitInfo,
    SandboxRecord,
    container_status,
    is_alive,
    load,
    read_exit,
    save,
    write_json,
)
from kubeproc.kubelet.runtime.types import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerConfig,
    ContainerPhase,
    ContainerRuntimeError,
    ContainerStatus,
    CreateContainerError,
    ExecResult,
    ExecSession,
    NotFoundError,
    SandboxConfig,
    SandboxError,
    SandboxStatus,
    StartContainerError,
)

log = logging.getLogger(__name__)

KILL_PATIENCE = 10.0
"""How long a SIGKILLed container may take to be reported gone before that is an error."""


class OciRuntime:
    """The ``oci`` runtime; build it with ``OciRuntime.create``."""

    name = "oci"

    def __init__(self, layout: Layout, cgroups: Cgroups, cni_dir: str) -> None:
        self.layout = layout
        self._cgroups = cgroups
        self._network = Network(layout, cni_dir)
        self._runc = conmon.Runc(host.which("runc"), layout.runc_root)
        self._conmon = host.which("conmon")
        self._tools = oci_exec.Tools(
            sh=host.which("sh"),
            nsenter=host.which("nsenter"),
            setpriv=host.which("setpriv"),
            env=host.which("env"),
            setsid=host.which("setsid"),
        )
        self._sandboxes = load(SandboxRecord, layout.sandboxes_dir)
        self._containers = load(ContainerRecord, layout.containers_dir)
        self._exits: dict[str, ExitInfo] = {}
        self._exec_targets: dict[str, oci_exec.ExecTarget] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._creating: set[str] = set()
        """Sandboxes and containers being made: not listed until they are (as CRI-O does)."""
        self._kill_at: dict[str, float] = {}
        """The earliest SIGKILL deadline (loop time) any stop of a container asked for."""
        self._exit_seen = asyncio.Event()

    @classmethod
    def create(
        cls, state_dir: Path, *, pod_cidr: str, bridge: str, netns_prefix: str, cgroup_parent: str
    ) -> OciRuntime:
        """A runtime over ``state_dir``, finding again what an earlier one left running.

        Every name it creates comes from these parameters, so two nodes (or two tests)
        with different ones never collide. Refuses a pod CIDR that is routed elsewhere,
        and a state dir that belongs to a node with other parameters.
        """
        reason = available()
        if reason is not None:
            raise ContainerRuntimeError(reason)
        layout = Layout.build(
            state_dir,
            pod_cidr=pod_cidr,
            bridge=bridge,
            netns_prefix=netns_prefix,
            cgroup_parent=cgroup_parent,
        )
        for directory in (
            layout.runc_root,
            layout.socket_dir,
            layout.sandboxes_dir,
            layout.containers_dir,
        ):
            directory.mkdir(parents=True, exist_ok=True)
        if layout.node_file.exists():
            recorded = json.loads(layout.node_file.read_text())
            if recorded != layout.params():
                raise ContainerRuntimeError(
                    f"{state_dir} belongs to a node with {recorded}, not {layout.params()}"
                )
        else:
            write_json(layout.node_file, layout.params())
        routes = subprocess.run(["ip", "-j", "route"], capture_output=True, check=False).stdout
        clashes = overlapping_routes(json.loads(routes or b"[]"), layout)
        if clashes:
            raise ContainerRuntimeError(
                f"pod CIDR {pod_cidr} overlaps routes already in use: {clashes}"
            )
        cni_dir = find_cni_dir()
        assert cni_dir is not None  # available() checked
        runtime = cls(layout, Cgroups.read(), cni_dir)
        log.info(
            "oci runtime ready state_dir=%s bridge=%s pod_cidr=%s sandboxes=%d containers=%d",
            state_dir,
            bridge,
            pod_cidr,
            len(runtime._sandboxes),
            len(runtime._containers),
        )
        return runtime

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # Sandboxes.

    async def run_sandbox(self, config: SandboxConfig) -> SandboxStatus:
        sandbox_id = uuid.uuid4().hex
        directory = self.layout.sandbox_dir(sandbox_id)
        directory.mkdir(parents=True)
        labels = {
            **config.labels,
            LABEL_POD_UID: config.pod_uid,
            LABEL_POD_NAME: config.pod_name,
            LABEL_POD_NAMESPACE: config.namespace,
        }
        record = SandboxRecord(
            id=sandbox_id,
            pod_uid=config.pod_uid,
            pod_name=config.pod_name,
            namespace=config.namespace,
            hostname=config.hostname or config.pod_name,
            log_dir=config.log_dir,
            netns=self.layout.netns_name(sandbox_id, config.pod_uid),
            created_at=time.time(),
            dns_servers=tuple(config.dns_servers),
            dns_searches=tuple(config.dns_searches),
            dns_options=tuple(config.dns_options),
            labels=labels,
        )
        async with self._lock(sandbox_id):
            save(record, directory)  # first: a crash from here on leaves a record to clean up
            self._sandboxes[sandbox_id] = record
            self._creating.add(sandbox_id)
            try:
                ip = await self._network.setup(sandbox_id, record.netns)
                record = dataclasses.replace(record, ip=ip, ready=True)
                podfiles.write(directory, record)
            except BaseException as exc:
                await self._network.teardown(sandbox_id, record.netns)
                self._sandboxes.pop(sandbox_id, None)
                shutil.rmtree(directory, ignore_errors=True)
                if isinstance(exc, ContainerRuntimeError | OSError):
                    raise SandboxError(str(exc)) from exc
                raise
            finally:
                self._creating.discard(sandbox_id)
            save(record, directory)
            self._sandboxes[sandbox_id] = record
        log.info(
            "sandbox ready sandbox=%s pod=%s/%s ip=%s netns=%s",
            sandbox_id,
            config.namespace,
            config.pod_name,
            ip,
            record.netns,
        )
        return record.status(NETNS_DIR)

    async def stop_sandbox(self, sandbox_id: str) -> None:
        record = self._sandboxes.get(sandbox_id)
        if record is None:
            return
        for container_id in self._containers_of(sandbox_id):
            await self.stop_container(container_id, 0)
        async with self._lock(sandbox_id):
            await self._network.teardown(sandbox_id, record.netns)
            if record.ready:
                record = dataclasses.replace(record, ready=False)
                save(record, self.layout.sandbox_dir(sandbox_id))
                self._sandboxes[sandbox_id] = record
                log.info(
                    "sandbox stopped sandbox=%s pod=%s/%s",
                    sandbox_id,
                    record.namespace,
                    record.pod_name,
                )

    async def remove_sandbox(self, sandbox_id: str) -> None:
        if sandbox_id not in self._sandboxes:
            return
        await self.stop_sandbox(sandbox_id)
        for container_id in self._containers_of(sandbox_id):
            await self.remove_container(container_id)
        async with self._lock(sandbox_id):
            await self._cgroups.remove_tree(self.layout.pod_cgroup(sandbox_id))
            shutil.rmtree(self.layout.sandbox_dir(sandbox_id), ignore_errors=True)
            record = self._sandboxes.pop(sandbox_id, None)
        self._locks.pop(sandbox_id, None)
        if record is not None:
            log.info(
                "sandbox removed sandbox=%s pod=%s/%s",
                sandbox_id,
                record.namespace,
                record.pod_name,
            )

    async def list_sandboxes(self) -> list[SandboxStatus]:
        return [
            r.status(NETNS_DIR, netns_exists=(NETNS_DIR / r.netns).exists())
            for r in list(self._sandboxes.values())
            if r.id not in self._creating
        ]

    def _containers_of(self, sandbox_id: str) -> list[str]:
        return [c.id for c in self._containers.values() if c.sandbox_id == sandbox_id]

    # Containers.

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        sandbox = self._sandboxes.get(sandbox_id)
        if sandbox is None:
            raise NotFoundError(f"pod sandbox {sandbox_id} not found")
        if not sandbox.ready:
            raise CreateContainerError(f"pod sandbox {sandbox_id} is not ready")
        container_id = uuid.uuid4().hex
        directory = self.layout.container_dir(container_id)
        log_path = config.log_path or str(
            Path(sandbox.log_dir, config.name, f"{config.attempt}.log")
        )
        labels = {
            **config.labels,
            LABEL_POD_UID: sandbox.pod_uid,
            LABEL_POD_NAME: sandbox.pod_name,
            LABEL_POD_NAMESPACE: sandbox.namespace,
            LABEL_CONTAINER_NAME: config.name,
            LABEL_ATTEMPT: str(config.attempt),
        }
        record = ContainerRecord(
            id=container_id,
            sandbox_id=sandbox_id,
            name=config.name,
            attempt=config.attempt,
            created_at=time.time(),
            log_path=log_path,
            cgroups_path=self.layout.container_cgroup(sandbox_id, container_id),
            labels=labels,
            stop_signal=config.stop_signal,
        )
        async with self._lock(container_id):
            directory.mkdir(parents=True)
            save(record, directory)  # first: a crash from here on leaves a record to clean up
            self._containers[container_id] = record
            self._creating.add(container_id)
            try:
                spec = prepare.write_bundle(
                    self.layout,
                    self._cgroups,
                    sandbox=sandbox,
                    config=config,
                    record=record,
                    directory=directory,
                )
                launched = await conmon.launch(
                    self._conmon,
                    self._runc,
                    conmon.ConmonSpec(
                        container_id=container_id,
                        name=f"{sandbox.namespace}_{sandbox.pod_name}_{config.name}_{config.attempt}",
                        bundle=directory,
                        persist_dir=directory / "persist",
                        log_path=log_path,
                        socket_dir=self.layout.socket_dir,
                        tty=config.tty,
                        stdin=config.stdin,
                        stdin_once=config.stdin_once,
                    ),
                )
            except BaseException as exc:
                await self._discard(record)
                if isinstance(exc, OSError):
                    raise CreateContainerError(f"container create failed: {exc}") from exc
                raise
            finally:
                self._creating.discard(container_id)
            record = dataclasses.replace(
                record,
                pid=launched.pid,
                pid_start=launched.pid_start,
                conmon_pid=launched.conmon_pid,
                conmon_start=launched.conmon_start,
            )
            save(record, directory)
            self._containers[container_id] = record
            self._exec_targets[container_id] = oci_exec.ExecTarget.from_spec(
                launched.pid, self._cgroups.procs_files(launched.pid), spec["process"]
            )
        log.info(
            "container created container=%s pod=%s/%s name=%s attempt=%d",
            container_id,
            sandbox.namespace,
            sandbox.pod_name,
            config.name,
            config.attempt,
        )
        return container_id

    async def _discard(self, record: ContainerRecord) -> None:
        """Undo a container create: runc state, cgroup, files."""
        await self._runc.delete(record.id)
        await self._cgroups.remove_tree(record.cgroups_path)
        shutil.rmtree(self.layout.container_dir(record.id), ignore_errors=True)
        shutil.rmtree(self.layout.skeleton_root / record.id, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.layout.socket_dir / record.id).unlink()
        self._containers.pop(record.id, None)
        self._exits.pop(record.id, None)
        self._exec_targets.pop(record.id, None)

    async def start_container(self, container_id: str) -> None:
        async with self._lock(container_id):
            record = self._record(container_id)
            status = self._status(record)
            if status.phase is not ContainerPhase.CREATED:
                raise StartContainerError(
                    f"container {container_id} is {status.phase}, not created"
                )
            started_at = time.time()  # before: a command that exits at once ends after it
            try:
                await self._runc.start(container_id)
            except ContainerRuntimeError as exc:
                raise StartContainerError(exc.message) from exc
            record = dataclasses.replace(record, started_at=started_at)
            save(record, self.layout.container_dir(container_id))
            self._containers[container_id] = record
            self._watch_exit(record)
        log.info("container started container=%s name=%s", container_id, record.name)

    async def container_events(self) -> AsyncIterator[object]:
        """One token each time a started container's conmon exits (its container ended)."""
        while True:
            await self._exit_seen.wait()
            self._exit_seen.clear()
            yield None

    def _watch_exit(self, record: ContainerRecord) -> None:
        if record.conmon_pid is None or not is_alive(record.conmon_pid, record.conmon_start):
            return
        try:
            pidfd = os.pidfd_open(record.conmon_pid)
        except OSError:
            return  # the next relist notices the exit anyway
        loop = asyncio.get_running_loop()

        def exited() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            self._exit_seen.set()

        loop.add_reader(pidfd, exited)

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """Stop signal, then SIGKILL at the earliest deadline any stop of it has asked for.

        A stop may be cut short (the kubelet cancelled on ``kubeproc down``) and asked for
        again with a longer grace period; the first deadline still holds and the stop
        signal is not sent twice.
        """
        self._record(container_id)  # NotFoundError for an unknown id
        loop = asyncio.get_running_loop()
        asked = loop.time() + max(grace_seconds, 0.0)
        first = container_id not in self._kill_at
        self._kill_at[container_id] = min(self._kill_at.get(container_id, asked), asked)
        async with self._lock(f"stop:{container_id}"):
            record = self._record(container_id)
            if self._status(record).phase is ContainerPhase.EXITED or record.pid is None:
                self._kill_at.pop(container_id, None)
                return  # exited, or its create never got as far as a process
            grace = self._kill_at[container_id] - loop.time()
            if grace > 0:
                if first:
                    await self._runc.kill(container_id, record.stop_signal)
                if await self._wait_exit(record, grace):
                    self._kill_at.pop(container_id, None)
                    log.info(
                        "container stopped container=%s signal=%d", container_id, record.stop_signal
                    )
                    return
            await self._runc.kill(container_id, signal.SIGKILL)
            if not await self._wait_exit(record, KILL_PATIENCE):
                raise ContainerRuntimeError(f"container {container_id} did not exit after SIGKILL")
            self._kill_at.pop(container_id, None)
            log.info("container killed container=%s grace=%.1fs", container_id, grace_seconds)

    async def _wait_exit(self, record: ContainerRecord, patience: float) -> bool:
        """Wait until the container is reported exited (conmon wrote its exit file)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        pidfd = None
        if is_alive(record.conmon_pid, record.conmon_start):
            assert record.conmon_pid is not None
            with contextlib.suppress(OSError):
                pidfd = os.pidfd_open(record.conmon_pid)
        try:
            while self._status(record).phase is not ContainerPhase.EXITED:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                if pidfd is not None:  # conmon ends right after writing the exit file
                    await proc.wait_readable(pidfd, min(remaining, 0.05))
                else:
                    await asyncio.sleep(min(remaining, 0.02))
            return True
        finally:
            if pidfd is not None:
                os.close(pidfd)

    async def remove_container(self, container_id: str) -> None:
        self._kill_at.pop(container_id, None)
        record = self._containers.get(container_id)
        if record is None:
            return
        if self._status(record).phase is not ContainerPhase.EXITED:
            await self.stop_container(container_id, 0)
        async with self._lock(container_id):
            if is_alive(record.conmon_pid, record.conmon_start):
                assert record.conmon_pid is not None
                with contextlib.suppress(ProcessLookupError):
                    os.kill(record.conmon_pid, signal.SIGKILL)
            await self._discard(record)
        self._locks.pop(container_id, None)
        self._locks.pop(f"stop:{container_id}", None)
        log.info("container removed container=%s name=%s", container_id, record.name)

    async def list_containers(self) -> list[ContainerStatus]:
        return [
            self._status(r) for r in list(self._containers.values()) if r.id not in self._creating
        ]

    async def container_status(self, container_id: str) -> ContainerStatus:
        return self._status(self._record(container_id))

    def _record(self, container_id: str) -> ContainerRecord:
        record = self._containers.get(container_id)
        if record is None:
            raise NotFoundError(f"container {container_id} not found")
        return record

    def _status(self, record: ContainerRecord) -> ContainerStatus:
        # Liveness first, then the exit file: conmon writes the file before it exits, so
        # once both processes are seen gone a missing file means it was never written. In
        # the other order a container whose conmon wrote the file and exited between the
        # two reads looked lost (exit 255) instead of exited with its code (one CI run:
        # an OOM kill reported as 255 Error).
        alive = is_alive(record.pid, record.pid_start) or is_alive(
            record.conmon_pid, record.conmon_start
        )
        exit_info = self._exits.get(record.id)
        if exit_info is None:
            exit_info = read_exit(self.layout.container_dir(record.id) / "persist")
            if exit_info is not None:
                if not exit_info.oom and self._cgroups.oom_kills(record.cgroups_path) > 0:
                    exit_info = dataclasses.replace(exit_info, oom=True)
                self._exits[record.id] = exit_info
                log.info(
                    "container exited container=%s name=%s exit_code=%d oom=%s",
                    record.id,
                    record.name,
                    exit_info.code,
                    exit_info.oom,
                )
        return container_status(record, exit_info, alive=alive)

    # Exec.

    def _exec_target(self, container_id: str) -> oci_exec.ExecTarget:
        record = self._record(container_id)
        if self._status(record).phase is not ContainerPhase.RUNNING or record.pid is None:
            raise ContainerRuntimeError(f"container {container_id} is not running")
        target = self._exec_targets.get(container_id)
        if target is None:
            spec = json.loads((self.layout.container_dir(container_id) / "config.json").read_text())
            target = oci_exec.ExecTarget.from_spec(
                record.pid, self._cgroups.procs_files(record.pid), spec["process"]
            )
            self._exec_targets[container_id] = target
        return target

    async def exec_sync(
        self, container_id: str, argv: tuple[str, ...], *, timeout_seconds: float, output_limit: int
    ) -> ExecResult:
        target = self._exec_target(container_id)
        return await oci_exec.exec_sync(
            self._tools, target, argv, timeout_seconds=timeout_seconds, output_limit=output_limit
        )

    async def exec_session(
        self, container_id: str, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> ExecSession:
        target = self._exec_target(container_id)
        return oci_exec.OciExecSession.start(self._tools, target, argv, tty=tty, stdin=stdin)

    async def close(self) -> None:
        """Nothing to release: conmon owns the containers, and no task runs in the background."""

    async def purge(self) -> tuple[str, ...]:
        """Remove every sandbox and container, then the bridge, the cgroup parent, the state dir.

        For a node's final teardown (and tests): afterwards nothing of this node is left.
        A container that does not exit even after SIGKILL (a process stuck in the kernel)
        is named in the result instead of ending the teardown, and then the bridge, the
        cgroups and the state stay too, so that ``kubeproc down`` can finish the job later.
        """
        stuck: list[str] = []
        for sandbox_id in list(self._sandboxes):
            try:
                await self.remove_sandbox(sandbox_id)
            except ContainerRuntimeError as err:
                log.warning("sandbox not removed sandbox=%s error=%s", sandbox_id, err)
                stuck.append(sandbox_id)
        for container_id in list(self._containers):
            try:
                await self.remove_container(container_id)
            except ContainerRuntimeError as err:
                log.warning("container not removed container=%s error=%s", container_id, err)
                stuck.append(container_id)
        if stuck:
            log.error(
                "oci node not purged: %d left; its state stays for `kubeproc down` state_dir=%s",
                len(stuck),
                self.layout.state_dir,
            )
            return tuple(stuck)
        await self._network.remove_bridge()
        await self._cgroups.remove_tree(self.layout.cgroup_parent)
        shutil.rmtree(self.layout.skeleton_root, ignore_errors=True)
        shutil.rmtree(self.layout.state_dir, ignore_errors=True)
        log.info(
            "oci node purged state_dir=%s bridge=%s", self.layout.state_dir, self.layout.bridge
        )
        return ()
