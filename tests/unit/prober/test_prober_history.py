"""Probe history: a bounded ring per probe, totals that count every attempt, lean memory."""

from __future__ import annotations

import sys
import tracemalloc

import pytest
from prober_harness import UID, container, harness, make_pod, probe, running

from kubeproc.kubelet.metricsregistry import prober_families
from kubeproc.kubelet.prober import HandlerResult, Outcome, ProbeType, Result
from kubeproc.kubelet.prober.history import (
    OUTPUT_BUDGET,
    AttemptResult,
    ProbeHistory,
    ProbeSeries,
    clip,
)
from kubeproc.util.prometheus import parse, render

OK = Outcome(HandlerResult.SUCCESS, "fine", 0)
BAD = Outcome(HandlerResult.FAILURE, "odd", 1)
ERR = Outcome(HandlerResult.ERROR, "no such port")


def series(capacity: int = 3) -> ProbeSeries:
    return ProbeSeries(
        uid="u", namespace="ns", pod="p", container="c",
        probe_type=ProbeType.READINESS, capacity=capacity,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("counted", "expected"),
    [
        (Result.SUCCESS, AttemptResult.SUCCESS),
        (Result.FAILURE, AttemptResult.FAILURE),
        (None, AttemptResult.UNKNOWN),
    ],
)
def test_an_attempt_counts_as_the_worker_counted_it(
    counted: Result | None, expected: AttemptResult
) -> None:
    """Success and failure as classified; an errored (discarded) attempt is unknown."""
    assert AttemptResult.of(counted) is expected


def test_ring_keeps_the_last_attempts_oldest_first_and_totals_keep_all() -> None:
    """Past capacity the oldest attempts go; totals and codes survive as recorded."""
    s = series(capacity=3)
    for i, (counted, outcome) in enumerate(
        [(Result.SUCCESS, OK), (Result.FAILURE, BAD), (None, ERR), (Result.SUCCESS, OK)]
    ):
        s.record(100.0 + i, 0.01 * (i + 1), counted, outcome)
    held = s.attempts()
    assert [a.start for a in held] == [101.0, 102.0, 103.0]
    assert [a.result for a in held] == [
        AttemptResult.FAILURE, AttemptResult.UNKNOWN, AttemptResult.SUCCESS,
    ]  # fmt: skip
    assert [a.code for a in held] == [1, None, 0]
    assert [a.output for a in held] == ["odd", "no such port", "fine"]
    assert s.totals == [2, 1, 1]
    assert s.durations.count == 3  # successes and unknowns, as the kubelet observes


def test_output_is_clipped_to_256_bytes_without_splitting_a_character() -> None:
    """The first 256 bytes in UTF-8 are kept; a cut multi-byte character is dropped."""
    assert clip("a" * 300) == "a" * 256
    assert clip("é" * 200) == "é" * 128
    assert clip("a" + "é" * 200).encode() == ("a" + "é" * 127).encode()


def test_repeated_outputs_are_stored_once() -> None:
    """A flapping probe's two texts are shared, not copied per attempt."""
    s = series(capacity=10)
    for i in range(6):
        s.record(
            float(i), 0.0, Result.FAILURE, Outcome(HandlerResult.FAILURE, "x" * 100 + str(i % 2))
        )
    held = s.attempts()
    assert held[0].output is held[2].output is held[4].output


def test_metrics_render_from_history_with_the_kubelets_labels() -> None:
    """prober_probe_total per result and the duration histogram read the same series."""
    history = ProbeHistory()
    s = history.series(
        uid="u", namespace="ns", pod="p", container="c", probe_type=ProbeType.READINESS
    )
    s.record(1.0, 0.02, Result.SUCCESS, OK)
    s.record(2.0, 0.03, Result.FAILURE, BAD)
    s.record(3.0, 0.04, Result.FAILURE, BAD)
    samples = parse(render(prober_families(history)))
    base = {"probe_type": "Readiness", "container": "c", "pod": "p", "namespace": "ns"}
    for result, want in (("successful", 1), ("failed", 2), ("unknown", 0)):
        labels = tuple(sorted({**base, "pod_uid": "u", "result": result}.items()))
        assert samples["prober_probe_total", labels] == want
    assert samples["prober_probe_duration_seconds_count", tuple(sorted(base.items()))] == 1
    history.remove_pod("u")
    assert "prober_probe_total{" not in render(prober_families(history))


def test_history_of_1000_probed_containers_stays_far_below_50_mb() -> None:
    """A full ring of 100 attempts for 1,000 containers, flapping texts: measured."""
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    history = ProbeHistory(capacity=100)
    for n in range(1000):
        s = history.series(
            uid=f"uid-{n:04d}-0000-0000-0000-000000000000", namespace="default",
            pod=f"pod-{n}", container="app", probe_type=ProbeType.READINESS,
        )  # fmt: skip
        for i in range(150):
            fail = i % 2 == 0
            out = Outcome(
                HandlerResult.FAILURE, f"HTTP probe failed with statuscode: 503 #{n}", 503
            )
            s.record(
                1.7e9 + i, 0.0123, Result.FAILURE if fail else Result.SUCCESS, out if fail else OK
            )
    used = sum(st.size_diff for st in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    print(f"\nprobe history: {used / 1000:.0f} bytes per container (100 attempts)")
    assert used < 5 * 1024 * 1024  # 50 MB is the budget; this is a tenth of it


async def test_worker_feeds_history_and_removing_the_pod_drops_it() -> None:
    """Each attempt lands in its probe's series with its code; RemovePod forgets the pod."""
    async with harness() as h:
        h.runner.script(ProbeType.READINESS, [BAD, OK])
        pod = make_pod(container("app", readinessProbe=probe(periodSeconds=1)))
        await h.update(pod, running("app", "c1", h.clock))
        await h.run_for(2)
        (s,) = h.manager.history.for_pod("default", "web")
        assert s.uid == UID and s.handler == "exec"
        assert [(a.result, a.code) for a in s.attempts()][:2] == [
            (AttemptResult.FAILURE, 1), (AttemptResult.SUCCESS, 0),
        ]  # fmt: skip
        assert sum(s.totals) == h.runner.count(ProbeType.READINESS)
        assert len([e for e in h.events if e.reason == "Unhealthy"]) == s.totals[1]
        h.manager.remove_pod(UID)
        assert h.manager.history.for_pod("default", "web") == []


def test_outputs_share_a_byte_budget_the_oldest_lose_their_text_first() -> None:
    """Every answer different: the newest texts stay whole, the oldest go blank, times stay."""
    s = series(capacity=100)
    for i in range(250):
        text = f"{i:03d}" + "x" * 253  # 256 bytes, a new string each time
        s.record(float(i), 0.001, Result.FAILURE, Outcome(HandlerResult.FAILURE, text, 1))
        kept = [a.output for a in s.attempts() if a.output]
        assert sum(sys.getsizeof(t) for t in kept) <= OUTPUT_BUDGET
    held = s.attempts()
    assert [a.start for a in held] == [float(i) for i in range(150, 250)]
    kept = [a for a in held if a.output]
    assert 20 <= len(kept) < 100
    assert kept == held[-len(kept) :]  # only the oldest were blanked
    assert kept[-1].output.startswith("249")
    assert s.totals[AttemptResult.FAILURE] == 250


def test_a_flapping_probe_keeps_every_text_it_repeats() -> None:
    """Two alternating texts are stored once each: nothing is blanked."""
    s = series(capacity=100)
    texts = ["a" * 200, "b" * 200]
    for i in range(300):
        text = "".join(texts[i % 2])  # equal text, a new string object each time
        s.record(float(i), 0.001, Result.FAILURE, Outcome(HandlerResult.FAILURE, text, 1))
    assert all(a.output in texts for a in s.attempts())
