"""CPU rates over a full window and working sets, from cumulative samples (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from kubeproc.kubelet import containerstats as cs
from kubeproc.kubelet.containerstats import Sample, SampleHistory, Usage

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("prev", "last", "expected"),
    [
        # One full core for 10 s: 1e9 nanocores.
        (Sample(at(0), 0, 5), Sample(at(10), 10_000_000_000, 7), Usage(at(10), 10.0, 10**9, 7)),
        # Half a core over 4 s.
        (Sample(at(0), 1_000, 1), Sample(at(4), 2_000_001_000, 1), Usage(at(4), 4.0, 5 * 10**8, 1)),
        # Idle: the counter did not move.
        (Sample(at(0), 42, 1), Sample(at(10), 42, 1), Usage(at(10), 10.0, 0, 1)),
        # The counter went backwards (a new cgroup): no rate.
        (Sample(at(0), 50, 1), Sample(at(10), 10, 1), None),
        # No time passed: no rate.
        (Sample(at(3), 0, 1), Sample(at(3), 10, 1), None),
    ],
)
def test_usage_between(prev: Sample, last: Sample, expected: Usage | None) -> None:
    """The CPU rate is the counter's growth over the wall time between the samples."""
    assert cs.usage_between(prev, last) == expected


def record_every(history: SampleHistory, key: str, times: list[float], rate: float) -> None:
    for t in times:
        history.record(key, Sample(at(t), int(t * rate), 100))


def test_no_rate_before_a_full_window() -> None:
    """A key has no figure until two samples lie at least a window apart."""
    history = SampleHistory(window=10.0)
    record_every(history, "c", [0, 2.5, 5, 7.5], rate=1e9)
    assert history.usage("c") is None
    history.record("c", Sample(at(10), 10 * 10**9, 100))
    assert history.usage("c") == Usage(at(10), 10.0, 10**9, 100)


def test_the_rate_covers_the_newest_full_window() -> None:
    """The newer sample is compared with the newest one at least a window older."""
    history = SampleHistory(window=10.0)
    for t, cpu in [(0, 0), (5, 0), (10, 5 * 10**9), (15, 10 * 10**9)]:
        history.record("c", Sample(at(t), cpu, 1))
    usage = history.usage("c")
    assert usage is not None
    assert (usage.timestamp, usage.window, usage.cpu_nanocores) == (at(15), 10.0, 10**9)


def test_a_counter_reset_starts_a_new_window() -> None:
    """A smaller counter than the last means a new container: older samples are dropped."""
    history = SampleHistory(window=10.0)
    record_every(history, "c", [0, 5, 10], rate=1e9)
    history.record("c", Sample(at(12), 1_000, 1))
    assert history.usage("c") is None
    history.record("c", Sample(at(22), 1_000 + 10**9, 1))
    usage = history.usage("c")
    assert usage is not None and usage.cpu_nanocores == 10**8


def test_history_is_bounded_and_forgets_gone_keys() -> None:
    """Old samples are pruned; retain drops keys no longer running."""
    history = SampleHistory(window=10.0)
    record_every(history, "c", [i * 2.5 for i in range(200)], rate=1e9)
    record_every(history, "gone", [0, 10], rate=1e9)
    assert history.usage("c") is not None
    assert len(history._samples["c"]) <= 10
    history.retain(["c"])
    assert history.keys() == ["c"]
    assert history.usage("gone") is None


V1_STAT = "cache 1000\nrss 5000\ntotal_inactive_file 3000\ntotal_active_file 100\n"
V2_STAT = "anon 5000\nfile 4000\ninactive_file 2500\nactive_file 1500\n"


@pytest.mark.parametrize(
    ("compute", "expected"),
    [
        (lambda: cs.cgroup_v1_working_set(10_000, V1_STAT), 7_000),
        (lambda: cs.cgroup_v2_working_set(9_000, V2_STAT), 6_500),
        # More inactive file cache than usage (a race between the two reads): zero.
        (lambda: cs.cgroup_v1_working_set(2_000, V1_STAT), 0),
        # No inactive_file line: the whole usage.
        (lambda: cs.cgroup_v2_working_set(9_000, "anon 9000\n"), 9_000),
        (
            lambda: cs.cgroup_v2_cpu_ns("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"),
            1_500_000,
        ),
    ],
)
def test_cgroup_counters(compute: object, expected: int) -> None:
    """Working set = usage - inactive file (v1 total_inactive_file, v2 inactive_file)."""
    assert callable(compute)
    assert compute() == expected


def test_node_counters_from_proc() -> None:
    """The node's busy ticks from /proc/stat and working set from /proc/meminfo."""
    stat = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\nintr 1\n"
    # user nice system irq softirq steal = 100+5+50+3+2+1 = 161 ticks at 100 Hz.
    assert cs.node_cpu_ns(stat, user_hz=100) == 1_610_000_000
    meminfo = "MemTotal: 1000 kB\nMemFree: 300 kB\nMemAvailable: 600 kB\nInactive(file): 200 kB\n"
    assert cs.node_working_set(meminfo) == 500 * 1024
    with pytest.raises(ValueError, match="no cpu line"):
        cs.node_cpu_ns("intr 1\n", user_hz=100)


def test_process_counters_from_proc() -> None:
    """The fallback for a container without its own cgroup: utime+stime and VmRSS."""
    # Field 2 may hold spaces and parentheses.
    stat = "123 (py (x) y) S 1 123 123 0 -1 4194304 10 0 0 0 250 50 0 0 20 0 1 0 100 0 0"
    assert cs.process_cpu_ns(stat, user_hz=100) == 3_000_000_000
    assert cs.process_rss("Name:\tpy\nVmRSS:\t    2048 kB\n") == 2048 * 1024
    assert cs.process_rss("Name:\tzombie\n") == 0
