"""CPU rates and memory working sets from cumulative samples: what ``kubectl top`` shows.

Pure: no I/O and no clock of its own. ``statsreader`` reads the counters, ``server_stats``
samples them on a timer and serves what this module computes. The figures are the ones
metrics-server reports:

* CPU is a rate, never a counter: the cumulative CPU time (ns) between two samples
  divided by the wall time between them (the ``window``), in nanocores. A sample is
  compared with the newest one at least ``window`` seconds older, so a figure always
  covers a full window (metrics-server compares two scrapes one resolution apart); a
  container whose counter went backwards (a new cgroup under the same key) has no figure
  until it has a window of its own.
* memory is the working set, as cAdvisor computes it: usage minus the inactive file
  cache (page cache the kernel can drop at once), never below zero. cgroup v1:
  ``memory.usage_in_bytes - total_inactive_file``; v2: ``memory.current -
  inactive_file``; the node: ``(MemTotal - MemFree) - Inactive(file)`` from
  ``/proc/meminfo``.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_WINDOW = 10.0
"""Seconds a CPU rate covers at least; metrics-server's resolution is 15 s, cAdvisor's 10."""

# /proc/stat fields that are busy time: user nice system idle iowait irq softirq steal.
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


@dataclass(frozen=True)
class Sample:
    """Counters read at one moment."""

    at: dt.datetime
    cpu_ns: int
    """Cumulative CPU time, nanoseconds."""
    memory_bytes: int
    """Working set at that moment, bytes."""


@dataclass(frozen=True)
class Usage:
    """What metrics.k8s.io reports for one container or node."""

    timestamp: dt.datetime
    """The end of the window (the newer sample)."""
    window: float
    """Seconds between the two samples."""
    cpu_nanocores: int
    memory_bytes: int


def usage_between(prev: Sample, last: Sample) -> Usage | None:
    """The rate from ``prev`` to ``last``; None if time or the counter went backwards."""
    window = (last.at - prev.at).total_seconds()
    if window <= 0 or last.cpu_ns < prev.cpu_ns:
        return None
    rate = (last.cpu_ns - prev.cpu_ns) / window
    return Usage(last.at, window, int(rate), last.memory_bytes)


class SampleHistory:
    """The recent samples of each key (a container id, or the node), bounded in time."""

    def __init__(self, window: float = DEFAULT_WINDOW, keep: float | None = None) -> None:
        self.window = window
        self._keep = keep if keep is not None else 2 * window
        self._samples: dict[str, deque[Sample]] = {}

    def record(self, key: str, sample: Sample) -> None:
        samples = self._samples.setdefault(key, deque())
        if samples and sample.cpu_ns < samples[-1].cpu_ns:
            samples.clear()  # a new counter: the old samples describe something else
        samples.append(sample)
        # Keep the newest sample older than the window: it is what the next rate needs.
        while len(samples) > 2 and (sample.at - samples[1].at).total_seconds() >= self._keep:
            samples.popleft()

    def usage(self, key: str) -> Usage | None:
        """The rate over the newest full window, or None while there is none yet."""
        samples = self._samples.get(key)
        if not samples:
            return None
        last = samples[-1]
        prev = next(
            (s for s in reversed(samples) if (last.at - s.at).total_seconds() >= self.window),
            None,
        )
        return None if prev is None else usage_between(prev, last)

    def retain(self, keys: Iterable[str]) -> None:
        """Forget every key not in ``keys`` (containers that are gone)."""
        alive = set(keys)
        for key in [k for k in self._samples if k not in alive]:
            del self._samples[key]

    def keys(self) -> list[str]:
        return list(self._samples)


def flat_keyed(text: str) -> dict[str, int]:
    """``memory.stat`` / ``cpu.stat``: one ``key value`` per line; bad lines skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value.strip())
        except ValueError:
            continue
    return out


def working_set(usage_bytes: int, inactive_file: int) -> int:
    """cAdvisor's working set: usage less the inactive file cache, never negative."""
    return max(0, usage_bytes - inactive_file)


def cgroup_v1_working_set(usage_in_bytes: int, memory_stat: str) -> int:
    return working_set(usage_in_bytes, flat_keyed(memory_stat).get("total_inactive_file", 0))


def cgroup_v2_working_set(memory_current: int, memory_stat: str) -> int:
    return working_set(memory_current, flat_keyed(memory_stat).get("inactive_file", 0))


def cgroup_v2_cpu_ns(cpu_stat: str) -> int:
    return flat_keyed(cpu_stat).get("usage_usec", 0) * 1000


def node_cpu_ns(proc_stat: str, user_hz: int) -> int:
    """Busy CPU time of the whole machine from the ``cpu`` line of ``/proc/stat``."""
    for line in proc_stat.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            ticks = [int(v) for v in fields[1:]]
            busy = sum(ticks[i] for i in _BUSY_FIELDS if i < len(ticks))
            return busy * 1_000_000_000 // user_hz
    raise ValueError("no cpu line in /proc/stat")


def node_working_set(meminfo: str) -> int:
    """``(MemTotal - MemFree) - Inactive(file)`` of ``/proc/meminfo``, in bytes."""
    kib: dict[str, int] = {}
    for line in meminfo.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            kib[key] = int(parts[0])
    used = kib.get("MemTotal", 0) - kib.get("MemFree", 0)
    return working_set(used, kib.get("Inactive(file)", 0)) * 1024


def process_cpu_ns(proc_pid_stat: str, user_hz: int) -> int:
    """utime + stime of ``/proc/<pid>/stat`` (fields 14 and 15), in nanoseconds."""
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = proc_pid_stat[proc_pid_stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // user_hz


def process_rss(proc_pid_status: str) -> int:
    """``VmRSS`` of ``/proc/<pid>/status`` in bytes (0 if absent, as for a zombie)."""
    for line in proc_pid_status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
