"""A process-runtime container: its in-memory handle, and what is decided before it runs.

``ContainerHandle`` is what ``ProcessRuntime`` keeps per container besides the persisted
record (the config, the resolved environment and directory, the live child, its cgroup,
the commands exec'd into it). The functions here work out, from the config alone, the
labels, the environment (containerd's defaults under the pod's values), the identity to
run as, and the working directory; ``recover`` decides what a container found on disk
after a restart has become.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import pwd
import signal
from pathlib import Path

from kubeproc.kubelet.runtime.process_cgroup import MemoryCgroups
from kubeproc.kubelet.runtime.process_spawn import DEFAULT_PATH, Child, start_ticks
from kubeproc.kubelet.runtime.process_state import ContainerRecord
from kubeproc.kubelet.runtime.types import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerConfig,
    ContainerPhase,
    SandboxConfig,
    TerminationReason,
)

log = logging.getLogger(__name__)

LOST_MESSAGE = "kubeproc restarted; the process runtime does not keep containers running"

Identity = tuple[int | None, int | None, tuple[int, ...] | None]


@dataclasses.dataclass(eq=False)
class ContainerHandle:
    record: ContainerRecord
    config: ContainerConfig | None = None
    """None for a container recovered from disk: it can be reported, not started."""
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    cwd: str = ""
    child: Child | None = None
    cgroup: Path | None = None
    execs: set[Child] = dataclasses.field(default_factory=set)
    exited: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


def pod_labels(config: SandboxConfig) -> dict[str, str]:
    return {
        LABEL_POD_UID: config.pod_uid,
        LABEL_POD_NAME: config.pod_name,
        LABEL_POD_NAMESPACE: config.namespace,
    }


def container_labels(config: ContainerConfig, sandbox_labels: dict[str, str]) -> dict[str, str]:
    """The config's labels, the pod's, then the container's name and attempt."""
    return {
        **config.labels,
        **sandbox_labels,
        LABEL_CONTAINER_NAME: config.name,
        LABEL_ATTEMPT: str(config.attempt),
    }


def environment(config: ContainerConfig, hostname: str) -> dict[str, str]:
    """What containerd gives a container: a default PATH, HOSTNAME, then the pod's env."""
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname}
    env.update(dict(config.env))
    if "HOME" not in env:
        uid = config.security.run_as_user
        try:
            env["HOME"] = pwd.getpwuid(os.geteuid() if uid is None else uid).pw_dir
        except KeyError:
            env["HOME"] = "/"
    if config.tty:
        env.setdefault("TERM", "xterm")
    return env


def identity(config: ContainerConfig) -> Identity:
    """runAsUser/runAsGroup/supplementalGroups, applied only when kubeproc is root."""
    security = config.security
    if os.geteuid() != 0:
        return None, None, None
    groups = security.supplemental_groups or None
    return security.run_as_user, security.run_as_group, groups


def working_dir(config: ContainerConfig, scratch: Path) -> str:
    """``working_dir`` if it exists, else ``scratch`` (created, owned by the container's
    user): the process runtime does not create directories in the host's filesystem."""
    wanted = config.working_dir
    if wanted and Path(wanted).is_dir():
        return wanted
    scratch.mkdir(parents=True, exist_ok=True)
    user, group, _ = identity(config)
    if user is not None:
        os.chown(scratch, user, group if group is not None else -1)
    if wanted:
        log.info(
            "working dir does not exist, using a scratch dir working_dir=%s scratch=%s",
            wanted,
            scratch,
        )
    return str(scratch)


def exit_reason(code: int, *, oom_killed: bool) -> TerminationReason:
    if oom_killed:
        return TerminationReason.OOM_KILLED
    return TerminationReason.COMPLETED if code == 0 else TerminationReason.ERROR


def recover(
    record: ContainerRecord, cgroups: MemoryCgroups | None, now: dt.datetime
) -> ContainerRecord:
    """What a container found on disk at startup has become: a running one did not
    survive kubeproc; what is left of it (same pid and start time) is killed now."""
    if record.phase is ContainerPhase.EXITED:
        return record
    code = 255
    if record.pid is not None and record.pid_start is not None:
        if start_ticks(record.pid) == record.pid_start:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(record.pid, signal.SIGKILL)
            code = 137
        if record.cgroup and cgroups is not None:
            cgroups.kill_all(Path(record.cgroup))
    log.warning(
        "container lost with kubeproc's restart container=%s name=%s exit_code=%d",
        record.id[:12],
        record.name,
        code,
    )
    return dataclasses.replace(
        record,
        phase=ContainerPhase.EXITED,
        finished_at=record.finished_at or now,
        exit_code=code,
        reason=TerminationReason.ERROR.value,
        message=LOST_MESSAGE,
    )
