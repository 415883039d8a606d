"""Memory cgroups for the process runtime: one per container, when the machine lets us.

Without namespaces a container is only a process group, and a process that starts its
own session escapes the group; a cgroup holds every process of the container, so
stopping it reaches them all, and its memory limit makes a container that outgrows it end
as Kubernetes says: ``OOMKilled``, exit code 137. cgroup v1 (``memory.limit_in_bytes``,
``memory.oom_control``'s ``oom_kill`` count) and v2 (``memory.max``, ``memory.events``)
are both handled; the machines this project is built on have the v1 memory controller.

``cgroup_parent`` names where the containers' cgroups go: an absolute name (``/kubeproc``)
is taken from the root of the memory hierarchy, a relative one from kubeproc's own cgroup
(so limits set on kubeproc's own cgroup still hold for its containers, and two nodes or
test runs never share a parent if their names differ). On v2 a relative parent only works
when kubeproc's own cgroup can delegate the memory controller, which it cannot while it
holds processes itself; ``open_memory_cgroups`` then says why and returns None, and the
runtime runs without limits.

A container's process joins its cgroup between fork and exec (``process_spawn``), so
nothing it forks can start outside; that costs a fork of kubeproc instead of a vfork, for
containers with a cgroup only. Commands exec'd into a container (probes, the hot path) are
spawned with vfork and moved right after the spawn returns: what they fork in those
microseconds stays outside the container's cgroup (their process group still reaches it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_CGROUP_FS = {"cgroup", "cgroup2"}


@dataclass(frozen=True)
class MemoryCgroups:
    parent: Path
    """The parent directory in the cgroup filesystem, created if missing."""
    version: int

    def create(self, name: str, memory_limit_bytes: int | None) -> Path:
        """Make the container's cgroup and set its memory limit (None: unlimited)."""
        path = self.parent / name
        path.mkdir(exist_ok=True)
        if memory_limit_bytes is not None:
            if self.version == 1:
                (path / "memory.limit_in_bytes").write_text(str(memory_limit_bytes))
                # Swap counts too, as runc sets it when the kubelet disables swap.
                with contextlib.suppress(OSError):
                    (path / "memory.memsw.limit_in_bytes").write_text(str(memory_limit_bytes))
            else:
                (path / "memory.max").write_text(str(memory_limit_bytes))
                with contextlib.suppress(OSError):
                    (path / "memory.swap.max").write_text("0")
        return path

    @staticmethod
    def add_process(path: Path, pid: int) -> None:
        (path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self, path: Path) -> int:
        """How many processes the kernel's OOM killer ended in this cgroup."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            text = (path / name).read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def kill_all(self, path: Path) -> None:
        """SIGKILL every process in the cgroup, those that left the process group too."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                (path / "cgroup.kill").write_text("1")
                return
        for _ in range(10):  # new forks can appear while we kill; a few rounds settle it
            pids = _pids(path)
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self, path: Path) -> None:
        """Remove the cgroup once its processes are gone; a busy or missing one is left."""
        self.kill_all(path)
        try:
            path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot remove cgroup path=%s error=%s", path, exc)


def _pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def open_memory_cgroups(parent_name: str) -> MemoryCgroups | None:
    """Find the memory controller and prepare the parent cgroup, or None (and why)."""
    found = _memory_mount()
    if found is None:
        log.warning("no memory cgroup controller mounted: memory limits are not enforced")
        return None
    mount_point, mount_root, version = found
    own = _own_cgroup(version)
    if parent_name.startswith("/"):
        relative = parent_name.strip("/")
    else:
        relative = f"{own.strip('/')}/{parent_name}".strip("/")
    base_in_hierarchy = mount_root.strip("/")
    if base_in_hierarchy and relative.startswith(base_in_hierarchy):
        relative = relative[len(base_in_hierarchy) :].strip("/")
    parent = mount_point / relative
    try:
        if version == 2:
            _delegate_memory(mount_point, relative)
        parent.mkdir(parents=True, exist_ok=True)
        probe = parent / f".probe-{os.getpid()}"
        probe.mkdir(exist_ok=True)
        probe.rmdir()
    except OSError as exc:
        log.warning(
            "memory cgroups not usable, limits are not enforced parent=%s error=%s", parent, exc
        )
        return None
    log.info("memory cgroups in use parent=%s version=%d", parent, version)
    return MemoryCgroups(parent, version)


def _memory_mount() -> tuple[Path, str, int] | None:
    """(mount point, root within the hierarchy, version) of the memory controller."""
    v2: tuple[Path, str, int] | None = None
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if "-" not in fields:
            continue
        sep = fields.index("-")
        fstype, options = fields[sep + 1], fields[sep + 3] if len(fields) > sep + 3 else ""
        if fstype not in _CGROUP_FS:
            continue
        root, point = fields[3], Path(fields[4])
        if fstype == "cgroup" and "memory" in options.split(","):
            return point, root, 1
        if fstype == "cgroup2" and v2 is None:
            try:
                controllers = (point / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            if "memory" in controllers:
                v2 = (point, root, 2)
    return v2


def _own_cgroup(version: int) -> str:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if version == 1 and "memory" in controllers.split(","):
            return path
        if version == 2 and controllers == "":
            return path
    return "/"


def _delegate_memory(mount_point: Path, relative: str) -> None:
    """v2: enable the memory controller from the root down to the parent's children."""
    current = mount_point
    for part in ["", *relative.split("/")] if relative else [""]:
        if part:
            current = current / part
            current.mkdir(exist_ok=True)
        control = current / "cgroup.subtree_control"
        if "memory" not in control.read_text().split():
            control.write_text("+memory")
