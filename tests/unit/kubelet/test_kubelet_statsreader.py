"""Reading a container's counters through its pid's cgroups, or its process when it has none.

A fake ``/proc`` and cgroup v1 tree in a temporary directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeproc.kubelet.runtime.oci.cgroups import Cgroups, Hierarchy
from kubeproc.kubelet.statsreader import USER_HZ, Counters, StatsReader

OWN = "4:memory:/kubeproc\n2:cpuacct:/\n1:cpu:/\n0::/\n"


@pytest.fixture
def machine(tmp_path: Path) -> tuple[Path, Cgroups]:
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text(OWN)
    (proc / "stat").write_text(f"cpu  {USER_HZ} 0 {USER_HZ} 500 0 0 0 0 0 0\n")
    (proc / "meminfo").write_text("MemTotal: 4096 kB\nMemFree: 1024 kB\nInactive(file): 1024 kB\n")
    cgroups = Cgroups(
        (
            Hierarchy(cgroup / "cpuacct", frozenset({"cpuacct"}), unified=False),
            Hierarchy(cgroup / "memory", frozenset({"memory"}), unified=False),
        )
    )
    return tmp_path, cgroups


def add_process(proc: Path, pid: int, membership: str, *, ticks: int = 0, rss_kib: int = 0) -> None:
    d = proc / str(pid)
    d.mkdir()
    (d / "cgroup").write_text(membership)
    (d / "stat").write_text(f"{pid} (python3) S 1 1 1 0 -1 0 0 0 0 0 {ticks} {ticks} 0 0 20 0 1 0")
    (d / "status").write_text(f"Name:\tpython3\nVmRSS:\t{rss_kib} kB\n")


def add_cgroup(root: Path, path: str, files: dict[str, str]) -> None:
    d = root / path
    d.mkdir(parents=True)
    for name, text in files.items():
        (d / name).write_text(text)


def test_a_container_in_its_own_cgroups(machine: tuple[Path, Cgroups]) -> None:
    """cpuacct.usage and usage_in_bytes - total_inactive_file of the pid's cgroups."""
    base, cgroups = machine
    add_process(base / "proc", 42, "4:memory:/kp/pod-1/c1\n2:cpuacct:/kp/pod-1/c1\n")
    add_cgroup(base / "cgroup" / "cpuacct", "kp/pod-1/c1", {"cpuacct.usage": "123456789\n"})
    add_cgroup(
        base / "cgroup" / "memory",
        "kp/pod-1/c1",
        {"memory.usage_in_bytes": "10000\n", "memory.stat": "total_inactive_file 4000\n"},
    )
    reader = StatsReader(cgroups, proc=base / "proc")
    assert reader.container(42) == Counters(123456789, 6000, "cgroup")


def test_without_a_cpu_cgroup_the_main_process_counts(machine: tuple[Path, Cgroups]) -> None:
    """The process runtime: memory from its cgroup, CPU from /proc/<pid>/stat."""
    base, cgroups = machine
    add_process(base / "proc", 7, "4:memory:/kubeproc/c2\n2:cpuacct:/\n", ticks=USER_HZ)
    add_cgroup(
        base / "cgroup" / "memory",
        "kubeproc/c2",
        {"memory.usage_in_bytes": "8192\n", "memory.stat": "total_inactive_file 0\n"},
    )
    reader = StatsReader(cgroups, proc=base / "proc")
    assert reader.container(7) == Counters(2_000_000_000, 8192, "process")


def test_no_cgroups_at_all(machine: tuple[Path, Cgroups]) -> None:
    """In kubeproc's own cgroups both counters come from the process (VmRSS)."""
    base, cgroups = machine
    add_process(base / "proc", 8, OWN, ticks=0, rss_kib=300)
    reader = StatsReader(cgroups, proc=base / "proc")
    assert reader.container(8) == Counters(0, 300 * 1024, "process")


def test_a_gone_process_has_no_counters(machine: tuple[Path, Cgroups]) -> None:
    """A pid that exited (no /proc entry, or its cgroup already removed) reads as None."""
    base, cgroups = machine
    add_process(base / "proc", 9, "4:memory:/kp/gone\n2:cpuacct:/kp/gone\n")
    reader = StatsReader(cgroups, proc=base / "proc")
    assert reader.container(9) is None
    assert reader.container(10) is None


def test_the_node(machine: tuple[Path, Cgroups]) -> None:
    """The node from /proc/stat busy ticks and /proc/meminfo."""
    base, cgroups = machine
    reader = StatsReader(cgroups, proc=base / "proc")
    assert reader.node() == Counters(2_000_000_000, 2048 * 1024, "node")
