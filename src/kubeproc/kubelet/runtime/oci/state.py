"""What the ``oci`` runtime remembers on disk, and how a status is derived from it.

kubeproc may restart while its containers run on (conmon keeps them, and records their
exit), so nothing about a sandbox or container lives only in memory: each has a JSON
record under the state dir, written atomically at every change, carrying its labels. A
restarted runtime reads the records back (``load``) and derives every status from them
plus what the kernel and conmon say: whether the container's init process (identified by
pid *and* start time, so a reused pid is not mistaken for it) still runs, and conmon's
exit and OOM files. ``container_status`` is that derivation, pure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from kubeproc.kubelet.runtime.types import (
    ContainerPhase,
    ContainerStatus,
    SandboxStatus,
    TerminationReason,
)

log = logging.getLogger(__name__)

SANDBOX_FILE = "sandbox.json"
CONTAINER_FILE = "container.json"

LOST_EXIT_CODE = 255
LOST_MESSAGE = "conmon exited without recording the container's exit code"


@dataclass(frozen=True)
class SandboxRecord:
    id: str
    pod_uid: str
    pod_name: str
    namespace: str
    hostname: str
    log_dir: str
    netns: str
    created_at: float
    ip: str = ""
    ready: bool = False
    dns_servers: tuple[str, ...] = ()
    dns_searches: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    def status(self, netns_dir: Path, *, netns_exists: bool = True) -> SandboxStatus:
        """Ready while its network is set up and its namespace still exists (not after a reboot)."""
        ready = self.ready and netns_exists
        return SandboxStatus(
            id=self.id,
            pod_uid=self.pod_uid,
            pod_name=self.pod_name,
            namespace=self.namespace,
            ip=self.ip,
            ready=ready,
            created_at=_time(self.created_at),
            netns_path=str(netns_dir / self.netns) if ready else None,
            labels=dict(self.labels),
        )


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    sandbox_id: str
    name: str
    attempt: int
    created_at: float
    log_path: str
    cgroups_path: str
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: int = 15
    pid: int | None = None
    pid_start: int | None = None
    """The init process's start time in clock ticks: a pid is only ours if this matches."""
    conmon_pid: int | None = None
    conmon_start: int | None = None
    started_at: float | None = None


@dataclass(frozen=True)
class ExitInfo:
    code: int
    finished_at: float
    oom: bool


def container_status(
    record: ContainerRecord, exit_info: ExitInfo | None, *, alive: bool
) -> ContainerStatus:
    """The CRI status of a container from its record and what the machine says (pure).

    ``alive``: its init process still runs, or conmon (which writes the exit file when
    it ends) does. An exit file decides; without one a started container is running while
    alive, and exited with an unknown code once conmon is gone.
    """
    base = ContainerStatus(
        id=record.id,
        sandbox_id=record.sandbox_id,
        name=record.name,
        attempt=record.attempt,
        phase=ContainerPhase.UNKNOWN,
        created_at=_time(record.created_at),
        started_at=_time(record.started_at) if record.started_at is not None else None,
        log_path=record.log_path,
        labels=dict(record.labels),
    )
    if exit_info is not None:
        if exit_info.oom:
            reason = TerminationReason.OOM_KILLED
        elif exit_info.code == 0:
            reason = TerminationReason.COMPLETED
        else:
            reason = TerminationReason.ERROR
        return replace(
            base,
            phase=ContainerPhase.EXITED,
            finished_at=_time(exit_info.finished_at),
            exit_code=exit_info.code,
            reason=reason.value,
        )
    if alive:
        if record.started_at is None:
            return replace(base, phase=ContainerPhase.CREATED)
        return replace(base, phase=ContainerPhase.RUNNING, pid=record.pid)
    if record.pid is None:  # a create that never finished (kubeproc died in the middle)
        return replace(base, message="container create did not finish")
    return replace(
        base,
        phase=ContainerPhase.EXITED,
        finished_at=base.started_at or base.created_at,
        exit_code=LOST_EXIT_CODE,
        reason=TerminationReason.ERROR.value,
        message=LOST_MESSAGE,
    )


def process_start(pid: int) -> int | None:
    """Start time (ticks since boot) of a live, non-zombie process; None if there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2 :].split()
    if len(rest) < 20 or rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def is_alive(pid: int | None, start: int | None) -> bool:
    return pid is not None and start is not None and process_start(pid) == start


def _time(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace the file atomically (write, fsync, rename), so a crash leaves old or new."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


R = TypeVar("R", SandboxRecord, ContainerRecord)


def save(record: SandboxRecord | ContainerRecord, directory: Path) -> None:
    name = SANDBOX_FILE if isinstance(record, SandboxRecord) else CONTAINER_FILE
    write_json(directory / name, asdict(record))


def _from_json(cls: type[R], data: dict[str, Any]) -> R:
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known
    }
    return cls(**values)


def load(cls: type[R], parent: Path) -> dict[str, R]:
    """Every record of one kind under parent (``<parent>/<id>/<kind>.json``)."""
    name = SANDBOX_FILE if cls is SandboxRecord else CONTAINER_FILE
    found: dict[str, R] = {}
    if not parent.is_dir():
        return found
    for path in sorted(parent.glob(f"*/{name}")):
        try:
            record = _from_json(cls, json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("unreadable record skipped path=%s: %s", path, exc)
            continue
        found[record.id] = record
    return found


def read_exit(persist_dir: Path) -> ExitInfo | None:
    """conmon's exit file (and OOM marker) for a container, if it has exited."""
    exit_file = persist_dir / "exit"
    try:
        text = exit_file.read_text().strip()
        finished = exit_file.stat().st_mtime
    except OSError:
        return None
    code = LOST_EXIT_CODE
    with contextlib.suppress(ValueError):
        code = int(text)
    if code < 0:  # conmon's -1: it saw no exit status
        code = LOST_EXIT_CODE
    return ExitInfo(code=code, finished_at=finished, oom=(persist_dir / "oom").exists())
