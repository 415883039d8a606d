"""Reads a container's and the node's CPU and memory counters from the machine.

The thin, I/O half of ``containerstats``. A running container is found by its process:
``/proc/<pid>/cgroup`` names its cgroup in each hierarchy (both runtimes put the pid
there; the ``oci`` one through runc, the ``process`` one when it has memory cgroups), so
the reader needs nothing from the runtime but the pid. Per controller:

* CPU: cgroup v1 ``cpuacct.usage`` (ns); v2 ``cpu.stat`` ``usage_usec``;
* memory: v1 ``memory.usage_in_bytes`` less ``total_inactive_file``; v2
  ``memory.current`` less ``inactive_file``.

When the container's cgroup for a controller is kubeproc's own (the ``process`` runtime
puts containers in memory cgroups only, and only when it may), its cgroup counts far more
than the container: the reader then falls back to the main process alone
(``/proc/<pid>/stat`` utime+stime, ``VmRSS``) and says so in ``source``. Counted that way,
children of the main process are missed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from kubeproc.kubelet import containerstats as cs
from kubeproc.kubelet.runtime.oci.cgroups import Cgroups, Hierarchy

log = logging.getLogger(__name__)

USER_HZ = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Counters:
    cpu_ns: int
    memory_bytes: int
    source: str
    """``cgroup``, or ``process`` when a counter came from the main process alone."""


class StatsReader:
    """Reads counters for a pid (a container) or for the node; returns None when gone."""

    def __init__(self, cgroups: Cgroups | None = None, proc: Path = Path("/proc")) -> None:
        self._cgroups = cgroups if cgroups is not None else Cgroups.read()
        self._proc = proc
        self._own = self._membership("self") or {}

    def node(self) -> Counters:
        stat = (self._proc / "stat").read_text()
        meminfo = (self._proc / "meminfo").read_text()
        return Counters(cs.node_cpu_ns(stat, USER_HZ), cs.node_working_set(meminfo), source="node")

    def container(self, pid: int) -> Counters | None:
        cgroups = self._membership(str(pid))
        if cgroups is None:
            return None
        try:
            cpu = self._cgroup_cpu(cgroups)
            memory = self._cgroup_memory(cgroups)
            source = "cgroup"
            if cpu is None:
                stat = (self._proc / str(pid) / "stat").read_text()
                cpu, source = cs.process_cpu_ns(stat, USER_HZ), "process"
            if memory is None:
                status = (self._proc / str(pid) / "status").read_text()
                memory, source = cs.process_rss(status), "process"
        except (OSError, ValueError, IndexError) as exc:
            log.debug("container counters unreadable pid=%d error=%s", pid, exc)
            return None
        return Counters(cpu, memory, source)

    def _membership(self, pid: str) -> dict[str, str] | None:
        """Controller (``cpuacct``, ``memory``; ``""`` for v2) to cgroup path."""
        try:
            text = (self._proc / pid / "cgroup").read_text()
        except OSError:
            return None
        found: dict[str, str] = {}
        for line in text.splitlines():
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            for controller in parts[1].split(",") if parts[1] else [""]:
                found[controller] = parts[2]
        return found

    def _own_cgroup(self, cgroups: dict[str, str], controller: str) -> Path | None:
        """The container's cgroup directory for ``controller``, unless it is kubeproc's."""
        hierarchy = self._hierarchy(controller)
        if hierarchy is None:
            return None
        key = "" if hierarchy.unified else controller
        path = cgroups.get(key)
        if path is None or path == self._own.get(key):
            return None
        return hierarchy.mountpoint / path.lstrip("/")

    def _hierarchy(self, controller: str) -> Hierarchy | None:
        if self._cgroups.v2:
            return next((h for h in self._cgroups.hierarchies if h.unified), None)
        return next((h for h in self._cgroups.hierarchies if controller in h.controllers), None)

    def _cgroup_cpu(self, cgroups: dict[str, str]) -> int | None:
        directory = self._own_cgroup(cgroups, "cpuacct")
        if directory is None:
            return None
        if self._cgroups.v2:
            return cs.cgroup_v2_cpu_ns((directory / "cpu.stat").read_text())
        return int((directory / "cpuacct.usage").read_text())

    def _cgroup_memory(self, cgroups: dict[str, str]) -> int | None:
        directory = self._own_cgroup(cgroups, "memory")
        if directory is None:
            return None
        stat = (directory / "memory.stat").read_text()
        if self._cgroups.v2:
            return cs.cgroup_v2_working_set(int((directory / "memory.current").read_text()), stat)
        usage = int((directory / "memory.usage_in_bytes").read_text())
        return cs.cgroup_v1_working_set(usage, stat)
