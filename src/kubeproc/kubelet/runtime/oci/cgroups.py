"""The cgroup hierarchies of this machine, as the ``oci`` runtime needs to see them.

runc creates and configures each container's cgroup from its ``cgroupsPath``; this module
only *reads* (which hierarchies exist, OOM kill counters, which cgroups a process is in,
for exec to join them) and *removes* (a pod's or node's whole subtree, in every
hierarchy, once nothing runs there). Both layouts are handled, found from
``/proc/self/mountinfo`` rather than assumed: cgroup v2 (one unified hierarchy at
``/sys/fs/cgroup``) and v1 or hybrid (one mount per controller, plus ``name=systemd`` and
possibly a ``unified`` cgroup2 mount beside them, where runc also makes a directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

V1_CONTROLLERS = frozenset(
    {
        "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory",
        "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma",
    }
)  # fmt: skip
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Hierarchy:
    mountpoint: Path
    controllers: frozenset[str]
    """v1: the controllers (``memory``, ``cpu,cpuacct`` split, ``name=systemd``); v2: empty."""
    unified: bool


@dataclass(frozen=True)
class Cgroups:
    hierarchies: tuple[Hierarchy, ...]

    @classmethod
    def parse(cls, mountinfo: str) -> Cgroups:
        """The cgroup mounts of a ``mountinfo`` text (pure; the first mount of each wins)."""
        found: dict[frozenset[str] | None, Hierarchy] = {}
        for line in mountinfo.splitlines():
            left, sep, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if not sep or len(fields) < 5 or len(tail) < 3 or fields[3] != "/":
                continue
            fstype, superopts = tail[0], tail[2]
            mountpoint = Path(_unescape(fields[4]))
            if fstype == "cgroup2":
                found.setdefault(None, Hierarchy(mountpoint, frozenset(), unified=True))
            elif fstype == "cgroup":
                controllers = frozenset(
                    opt
                    for opt in superopts.split(",")
                    if opt in V1_CONTROLLERS or opt.startswith("name=")
                )
                found.setdefault(controllers, Hierarchy(mountpoint, controllers, unified=False))
        return cls(tuple(found.values()))

    @classmethod
    def read(cls) -> Cgroups:
        return cls.parse(Path("/proc/self/mountinfo").read_text())

    @property
    def v2(self) -> bool:
        """Pure cgroup v2: the unified hierarchy is mounted at /sys/fs/cgroup itself."""
        return any(h.unified and h.mountpoint == CGROUP_ROOT for h in self.hierarchies)

    def _find(self, controller: str) -> Hierarchy | None:
        if self.v2:
            return next((h for h in self.hierarchies if h.unified), None)
        return next((h for h in self.hierarchies if controller in h.controllers), None)

    def dirs(self, path: str) -> list[Path]:
        """The directory of a cgroup path in every hierarchy (existing or not)."""
        return [h.mountpoint / path.lstrip("/") for h in self.hierarchies]

    def memsw_supported(self) -> bool:
        """v1 swap accounting (``memory.memsw.*``): runc may then limit memory+swap."""
        memory = self._find("memory")
        return memory is not None and (
            memory.unified or (memory.mountpoint / "memory.memsw.limit_in_bytes").exists()
        )

    def oom_kills(self, path: str) -> int:
        """How many processes the OOM killer has killed in this cgroup (0 if unknown)."""
        memory = self._find("memory")
        if memory is None:
            return 0
        base = memory.mountpoint / path.lstrip("/")
        name = "memory.events" if memory.unified else "memory.oom_control"
        try:
            text = (base / name).read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def procs_files(self, pid: int) -> list[Path]:
        """The ``cgroup.procs`` of every cgroup the process is in: what exec must join."""
        try:
            text = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            return []
        files: list[Path] = []
        for line in text.splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers:
                wanted = frozenset(controllers.split(","))
                match = next((h for h in self.hierarchies if h.controllers == wanted), None)
            else:
                match = next((h for h in self.hierarchies if h.unified), None)
            if match is not None:
                files.append(match.mountpoint / path.lstrip("/") / "cgroup.procs")
        return files

    async def remove_tree(self, path: str, *, patience: float = 5.0) -> None:
        """rmdir the cgroup and its descendants in every hierarchy, killing what is left.

        Processes still inside (say, an exec that outlived its container) are SIGKILLed; a
        cgroup stays busy for a moment after its last process exits, hence the retries.
        """
        if path.strip("/") == "":
            raise ValueError("refusing to remove a hierarchy's root cgroup")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        for top in self.dirs(path):
            for cgroup in _bottom_up(top):
                while not _try_rmdir(cgroup):
                    if loop.time() >= deadline:
                        log.warning("cgroup still busy, left in place cgroup=%s", cgroup)
                        break
                    await asyncio.sleep(0.01)


def _bottom_up(top: Path) -> Iterable[Path]:
    if not top.is_dir():
        return []
    found = [Path(root) for root, _, _ in os.walk(top)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _try_rmdir(cgroup: Path) -> bool:
    try:
        cgroup.rmdir()
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise
        _kill_members(cgroup)
        return False
    return True


def _kill_members(cgroup: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (cgroup / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
