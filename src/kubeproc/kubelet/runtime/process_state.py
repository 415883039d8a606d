"""The process runtime's records, and the small JSON files that keep them across restarts.

One file per sandbox (``<state_dir>/sandboxes/<id>.json``) and per container
(``<state_dir>/containers/<id>/state.json``, beside the container's scratch directory),
rewritten whole (write a temporary file, rename it over) at each state transition, never
fsync'ed: losing the last transition in a power cut only costs a restart. They hold what
``list_sandboxes``/``list_containers`` report, labels included, so the kubelet rebuilds
its view after kubeproc restarts. The command line and the environment are not written:
a container cannot be restarted from its record, only reported (values of Secrets stay
out of the state directory).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubeproc.kubelet.runtime.types import ContainerPhase, ContainerStatus, SandboxStatus

log = logging.getLogger(__name__)

POD_IP = "127.0.0.1"


@dataclass(frozen=True)
class SandboxRecord:
    id: str
    pod_uid: str
    pod_name: str
    namespace: str
    hostname: str
    log_dir: str
    created_at: dt.datetime
    ready: bool = True
    labels: dict[str, str] = field(default_factory=dict)

    def status(self) -> SandboxStatus:
        return SandboxStatus(
            id=self.id,
            pod_uid=self.pod_uid,
            pod_name=self.pod_name,
            namespace=self.namespace,
            ip=POD_IP,
            ready=self.ready,
            created_at=self.created_at,
            labels=dict(self.labels),
        )


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    sandbox_id: str
    name: str
    attempt: int
    phase: ContainerPhase
    created_at: dt.datetime
    log_path: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    pid: int | None = None
    pid_start: int | None = None
    """The pid's start time in clock ticks, to recognise it (and not its reuse) later."""
    cgroup: str | None = None

    def status(self) -> ContainerStatus:
        return ContainerStatus(
            id=self.id,
            sandbox_id=self.sandbox_id,
            name=self.name,
            attempt=self.attempt,
            phase=self.phase,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            exit_code=self.exit_code,
            reason=self.reason,
            message=self.message,
            pid=self.pid if self.phase is ContainerPhase.RUNNING else None,
            log_path=self.log_path,
            labels=dict(self.labels),
        )


_TIMES = ("created_at", "started_at", "finished_at")


def _encode(record: SandboxRecord | ContainerRecord) -> str:
    data: dict[str, Any] = asdict(record)
    for key in _TIMES:
        if isinstance(data.get(key), dt.datetime):
            data[key] = data[key].isoformat()
    return json.dumps(data, sort_keys=True)


def _decode_times(data: dict[str, Any]) -> dict[str, Any]:
    for key in _TIMES:
        if isinstance(data.get(key), str):
            data[key] = dt.datetime.fromisoformat(data[key])
    return data


class StateDir:
    """Reads and writes the records under one runtime's state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sandboxes = root / "sandboxes"
        self.containers = root / "containers"
        self.sandboxes.mkdir(parents=True, exist_ok=True)
        self.containers.mkdir(parents=True, exist_ok=True)

    def container_dir(self, container_id: str) -> Path:
        return self.containers / container_id

    def save_sandbox(self, record: SandboxRecord) -> None:
        _write(self.sandboxes / f"{record.id}.json", _encode(record))

    def save_container(self, record: ContainerRecord) -> None:
        directory = self.container_dir(record.id)
        directory.mkdir(exist_ok=True)
        _write(directory / "state.json", _encode(record))

    def delete_sandbox(self, sandbox_id: str) -> None:
        (self.sandboxes / f"{sandbox_id}.json").unlink(missing_ok=True)

    def load_sandboxes(self) -> list[SandboxRecord]:
        records = []
        for path in sorted(self.sandboxes.glob("*.json")):
            data = _read(path)
            if data is not None:
                records.append(SandboxRecord(**_decode_times(data)))
        return records

    def load_containers(self) -> list[ContainerRecord]:
        records = []
        for path in sorted(self.containers.glob("*/state.json")):
            data = _read(path)
            if data is not None:
                data["phase"] = ContainerPhase(data["phase"])
                records.append(ContainerRecord(**_decode_times(data)))
        return records


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    temporary.replace(path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable runtime state path=%s error=%s", path, exc)
        with contextlib.suppress(OSError):
            path.rename(path.with_name(f"{path.name}.corrupt"))
        return None
    if not isinstance(data, dict):
        return None
    return data
