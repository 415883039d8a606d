"""The container runtime seam: what the kubelet asks of a runtime, and what it gets back.

Shaped after the CRI (sandboxes, containers, exec, status listing), so the kubelet's pod
workers decide what to do from runtime state alone and a runtime restart loses nothing:
every sandbox and container carries labels that name its pod, container and attempt, and
``list_*`` rediscovers them. Two runtimes implement it: ``oci`` (runc under conmon, CNI
networking, cgroups) and ``process`` (plain child processes on the host network). A fake
for unit tests lives beside them.

The kubelet resolves everything from the pod spec before calling in (env values,
volume host paths, the log path), so runtimes never read the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

# Labels every sandbox and container carries, so state can be rebuilt after a restart.
LABEL_POD_UID = "io.kubernetes.pod.uid"
LABEL_POD_NAME = "io.kubernetes.pod.name"
LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace"
LABEL_CONTAINER_NAME = "io.kubernetes.container.name"
LABEL_ATTEMPT = "io.kubernetes.container.restartCount"


class ContainerPhase(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


class TerminationReason(StrEnum):
    """The reasons a runtime reports for an exited container (CRI's words)."""

    COMPLETED = "Completed"
    ERROR = "Error"
    OOM_KILLED = "OOMKilled"
    START_ERROR = "StartError"


@dataclass(frozen=True)
class Mount:
    host_path: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class Resources:
    """cgroup limits. None means unlimited."""

    memory_limit_bytes: int | None = None
    cpu_limit_millis: int | None = None
    cpu_request_millis: int | None = None
    pids_limit: int | None = None


@dataclass(frozen=True)
class Security:
    run_as_user: int | None = None
    run_as_group: int | None = None
    supplemental_groups: tuple[int, ...] = ()
    read_only_root_filesystem: bool = False
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    privileged: bool = False


@dataclass(frozen=True)
class SandboxConfig:
    """One pod's sandbox: its network namespace (oci) and identity."""

    pod_uid: str
    pod_name: str
    namespace: str
    hostname: str
    log_dir: str
    """Directory holding the pod's container logs: ``<log_dir>/<container>/<attempt>.log``."""
    dns_servers: tuple[str, ...] = ()
    dns_searches: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxStatus:
    id: str
    pod_uid: str
    pod_name: str
    namespace: str
    ip: str
    """The pod IP: from the pod CIDR (oci), 127.0.0.1 (process)."""
    ready: bool
    created_at: dt.datetime
    netns_path: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerConfig:
    """One container instance, fully resolved by the kubelet."""

    name: str
    attempt: int
    argv: tuple[str, ...]
    """command + args; never empty (the kubelet refuses image-only containers first)."""
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str = ""
    mounts: tuple[Mount, ...] = ()
    resources: Resources = Resources()
    security: Security = Security()
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    log_path: str = ""
    stop_signal: int = 15
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    sandbox_id: str
    name: str
    attempt: int
    phase: ContainerPhase
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    exit_code: int | None = None
    reason: str = ""
    """For EXITED: a ``TerminationReason`` value (Completed, Error, OOMKilled, StartError)."""
    message: str = ""
    pid: int | None = None
    log_path: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: bytes
    """stdout, then stderr (as CRI's ``ExecSync`` returns them), capped by the caller's limit."""
    timed_out: bool = False


class ExecSession(Protocol):
    """An interactive exec (kubectl exec): streams in both directions, then an exit code."""

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    def stdout(self) -> AsyncIterator[bytes]: ...

    def stderr(self) -> AsyncIterator[bytes]: ...

    async def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> int: ...

    async def kill(self) -> None: ...


class ContainerRuntimeError(Exception):
    """Base of the runtime's error tree. ``reason`` is the kubelet's waiting reason."""

    reason = "RunContainerError"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class CreateContainerError(ContainerRuntimeError):
    reason = "CreateContainerError"


class StartContainerError(ContainerRuntimeError):
    reason = "RunContainerError"


class SandboxError(ContainerRuntimeError):
    reason = "FailedCreatePodSandBox"


class NotFoundError(ContainerRuntimeError):
    reason = "NotFound"


class Runtime(Protocol):
    """What the kubelet needs from a container runtime."""

    name: str
    """``oci`` or ``process``: shown in the Node's containerRuntimeVersion and events."""

    async def run_sandbox(self, config: SandboxConfig) -> SandboxStatus: ...

    async def stop_sandbox(self, sandbox_id: str) -> None:
        """Kill what still runs in it and tear down its network; idempotent."""

    async def remove_sandbox(self, sandbox_id: str) -> None:
        """Remove every trace (bundles, mounts, netns, cgroups); idempotent."""

    async def list_sandboxes(self) -> list[SandboxStatus]: ...

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """Stop signal, wait up to the grace period, SIGKILL; return once it has exited."""

    async def remove_container(self, container_id: str) -> None: ...

    async def list_containers(self) -> list[ContainerStatus]: ...

    async def container_status(self, container_id: str) -> ContainerStatus: ...

    async def exec_sync(
        self, container_id: str, argv: tuple[str, ...], *, timeout_seconds: float, output_limit: int
    ) -> ExecResult:
        """Run argv in the container; past timeout_seconds kill its whole process group.

        The timeout is part of the result (``timed_out``), not a cancellation: the probe
        semantics need the process group killed and reaped, not merely abandoned.
        """

    async def exec_session(
        self, container_id: str, argv: tuple[str, ...], *, tty: bool, stdin: bool
    ) -> ExecSession: ...

    async def close(self) -> None:
        """Release the runtime's own resources; containers keep running."""
