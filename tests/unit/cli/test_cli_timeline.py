"""``kubeproc timeline``'s layout: facts from the API's answers, shapes at the right pixels."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubeproc.cli.timelinelayout import (
    LEFT,
    RIGHT,
    Axis,
    Color,
    Line,
    Rect,
    Restart,
    Segment,
    Text,
    default_height,
    facts,
    layout,
    restarts_of,
    tick_step,
)

T0 = dt.datetime(2026, 11, 21, 19, 0, 0, tzinfo=dt.UTC).timestamp()


def at(seconds: float, micro: bool = False) -> str:
    stamp = dt.datetime.fromtimestamp(T0 + seconds, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def pod(
    *, readiness: dict[str, Any] | None = None, last_finished: float | None = None
) -> dict[str, Any]:
    c: dict[str, Any] = {"name": "app", "livenessProbe": {"exec": {}, "failureThreshold": 2}}
    if readiness is not None:
        c["readinessProbe"] = readiness
    status: dict[str, Any] = {"name": "app", "state": {"running": {"startedAt": at(20)}}}
    if last_finished is not None:
        status["lastState"] = {"terminated": {"startedAt": at(0), "finishedAt": at(last_finished)}}
    return {
        "metadata": {"name": "web", "namespace": "team", "uid": "u1"},
        "spec": {"containers": [c]},
        "status": {"startTime": at(0), "containerStatuses": [status]},
    }


def history(**series: list[tuple[float, str]]) -> dict[str, Any]:
    probes = []
    for probe, attempts in series.items():
        probes.append(
            {
                "container": "app",
                "probe": probe,
                "totals": {"success": len(attempts)},
                "attempts": [{"start": at(t, micro=True), "result": r} for t, r in attempts],
            }
        )
    return {"probes": probes}


def killing(first: float, last: float | None = None, uid: str = "u1") -> dict[str, Any]:
    return {
        "reason": "Killing",
        "involvedObject": {"uid": uid, "fieldPath": "spec.containers{app}"},
        "firstTimestamp": at(first),
        "lastTimestamp": at(last if last is not None else first),
    }


@pytest.mark.parametrize(
    ("finished", "events", "expected"),
    [
        (None, [], []),
        (19.0, [], [19.0]),
        # The Killing that led to the finish is the same restart.
        (19.0, [killing(17)], [19.0]),
        (19.0, [killing(20)], [19.0]),  # written a moment after the finish
        (19.0, [killing(10)], [10.0, 19.0]),  # too long before: an earlier restart
        # An older Killing (count 2: first and last time) is two more restarts.
        (30.0, [killing(5, 12), killing(28)], [5.0, 12.0, 30.0]),
        # Another pod's events (same name, older UID) do not count.
        (None, [killing(5, uid="old")], []),
    ],
)
def test_restarts_come_from_finished_at_and_killing_events(
    finished: float | None, events: list[dict[str, Any]], expected: list[float]
) -> None:
    """lastState.terminated.finishedAt, plus Killing events not just before it."""
    got = restarts_of(pod(last_finished=finished), events)
    assert got == [Restart("app", T0 + t) for t in expected]


def test_ready_follows_the_readiness_thresholds_and_resets_at_a_restart() -> None:
    """Ready after successThreshold successes, unready after failureThreshold failures."""
    readiness = {"exec": {}, "successThreshold": 1, "failureThreshold": 2}
    doc = history(
        readiness=[(2, "success"), (4, "failure"), (6, "success"), (8, "failure"),
                   (10, "failure"), (12, "success"), (22, "success")],
    )  # fmt: skip
    f = facts(pod(readiness=readiness, last_finished=19), [], doc, now=T0 + 30)
    ready = next(s for s in f.states if s.state == "ready")
    assert [(s.start - T0, s.end - T0, s.on) for s in ready.segments] == [
        (0, 2, False), (2, 10, True), (10, 12, False), (12, 19, True), (19, 22, False),
        (22, 30, True),
    ]  # fmt: skip
    assert f.start == T0  # the rings hold every attempt: the window opens at the pod's start


def test_started_without_a_startup_probe_follows_the_container() -> None:
    """Off from the restart until the next run's startedAt; on while it runs."""
    f = facts(pod(last_finished=15), [], history(liveness=[(1, "success")]), now=T0 + 30)
    started = next(s for s in f.states if s.state == "started")
    assert started.segments == (
        Segment(T0, T0 + 15, True),
        Segment(T0 + 15, T0 + 20, False),
        Segment(T0 + 20, T0 + 30, True),
    )


def test_lanes_are_per_probe_then_ready_and_started() -> None:
    """Probes in startup, liveness, readiness order, then the container's two states."""
    f = facts(pod(readiness={"exec": {}}), [], history(), now=T0 + 10)
    picture = layout(f, 800, default_height(f))
    assert picture.lanes == ("app liveness", "app readiness", "app ready", "app started")
    labels = [s.text for s in picture.shapes if isinstance(s, Text) and s.kind == "lane-label"]
    assert labels == list(picture.lanes)


def test_attempts_and_restarts_sit_at_their_times_on_the_axis() -> None:
    """x = left + (t - start) / span * width; each attempt coloured by its result."""
    doc = history(liveness=[(10, "success"), (20, "failure"), (25, "unknown")])
    f = facts(pod(last_finished=30), [], doc, now=T0 + 100)
    picture = layout(f, 1000 + LEFT + RIGHT, 300)
    assert picture.axis == Axis(T0, T0 + 100, LEFT, LEFT + 1000)
    marks = [s for s in picture.shapes if isinstance(s, Rect) and s.kind.startswith("attempt")]
    assert [(m.x + 1, m.fill) for m in marks] == [
        (LEFT + 100, Color.SUCCESS), (LEFT + 200, Color.FAILURE), (LEFT + 250, Color.UNKNOWN),
    ]  # fmt: skip
    (marker,) = [s for s in picture.shapes if isinstance(s, Line) and s.kind == "restart"]
    assert (marker.x1, marker.x2, marker.stroke) == (LEFT + 300, LEFT + 300, Color.RESTART)
    assert picture.shapes[-2] == marker  # drawn over everything but its own label


@pytest.mark.parametrize(
    ("span", "pixels", "step"),
    [(40, 1000, 5), (40, 300, 15), (600, 1000, 60), (3600, 1000, 600), (10, 2000, 1)],
)
def test_ticks_are_round_steps_at_least_90_px_apart(span: float, pixels: int, step: int) -> None:
    """The smallest of 1, 2, 5, 10, 15, 30 s, 1, 2, 5... min that leaves 90 px a label."""
    assert tick_step(span, pixels) == step


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (100, 300, "--width 100 is too small: at least 224"),
        (800, 80, "--height 80 is too small for 3 lanes: at least 88"),
    ],
)
def test_a_canvas_too_small_is_refused(width: int, height: int, message: str) -> None:
    """The user is told the least size that holds the lanes."""
    f = facts(pod(), [], history(), now=T0 + 10)
    with pytest.raises(ValueError, match=message):
        layout(f, width, height)


def test_a_wrapped_ring_opens_the_window_at_its_oldest_attempt() -> None:
    """Attempts were dropped: the lanes before the oldest held one would be guesses."""
    doc = history(liveness=[(50, "success"), (60, "success")])
    doc["probes"][0]["totals"] = {"success": 500}
    f = facts(pod(), [], doc, now=T0 + 70)
    assert (f.start, f.end) == (T0 + 50, T0 + 70)


def test_a_pod_not_started_yet_has_empty_lanes_and_no_restarts() -> None:
    """No status, no history: the state lanes are off, the window is the pod's age."""
    bare = {"metadata": {"name": "p", "namespace": "d", "creationTimestamp": at(0)},
            "spec": {"containers": [{"name": "app"}]}}  # fmt: skip
    f = facts(bare, [], {"probes": []}, now=T0 + 5)
    assert (f.start, f.end, f.probes, f.restarts) == (T0, T0 + 5, (), ())
    assert [(s.name, s.segments) for s in f.states] == [
        ("app ready", (Segment(T0, T0 + 5, False),)),
        ("app started", (Segment(T0, T0 + 5, False),)),
    ]
    assert layout(f, 800, default_height(f)).lanes == ("app ready", "app started")


def test_without_a_readiness_probe_ready_follows_the_startup_probe() -> None:
    """Started once the startup probe passes (and stays so); ready with it."""
    spec = pod()
    spec["spec"]["containers"][0]["startupProbe"] = {"exec": {}, "failureThreshold": 30}
    doc = history(startup=[(1, "failure"), (3, "success")], liveness=[(5, "failure")])
    f = facts(spec, [], doc, now=T0 + 10)
    expected = (Segment(T0, T0 + 3, False), Segment(T0 + 3, T0 + 10, True))
    assert [(s.state, s.segments) for s in f.states] == [("ready", expected), ("started", expected)]
