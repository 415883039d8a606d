"""The timeline picture of one pod, as shapes with pixel coordinates: no I/O, no drawing.

``facts`` reads what the API says about a pod (the pod, its events, its probe history as
``pods/probehistory`` serves it) into frozen records: each probe's attempts, each
container's ready and started state over time, and its restarts. ``layout`` turns those
into rectangles, lines and text on a ``width`` by ``height`` canvas: one lane per probe
(an attempt is a mark at its start time, coloured by result), a ``ready`` and a
``started`` lane per container, a vertical line at each restart, a time axis. The two
renderers (``timelinesvg``, ``timelinepng``) draw the same shapes, so what the tests
check on the model holds for both pictures.

State lanes are rebuilt the way the kubelet decides them: a readiness (startup) probe's
results go through its ``successThreshold``/``failureThreshold``, a restart resets both
to false, and a container without the probe is ready (started) while it runs. Restart
times are the containers' ``lastState.terminated.finishedAt`` and the pod's ``Killing``
events (first and last time of each), a Killing within ``MERGE_SECONDS`` before a
finish (or ``EVENT_LAG`` after it) being the same restart.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PROBE_ORDER = ("startup", "liveness", "readiness")
MERGE_SECONDS = 5.0
EVENT_LAG = 2.0
"""An event is stamped when written, which may be a moment after the kill it reports."""
LEFT, RIGHT, TOP, BOTTOM = 150, 24, 30, 40
LANE_HEIGHT = 26
MIN_LANE_HEIGHT = 6
MIN_WIDTH = LEFT + RIGHT + 50
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)


class Color(StrEnum):
    BACKGROUND = "#ffffff"
    SUCCESS = "#2ca02c"
    FAILURE = "#d62728"
    UNKNOWN = "#8c8c8c"
    ON = "#4c8fd6"
    OFF = "#e4e4e4"
    RESTART = "#c000c0"
    AXIS = "#333333"
    GRID = "#ececec"
    TEXT = "#222222"


RESULT_COLORS = {"success": Color.SUCCESS, "failure": Color.FAILURE}


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int
    fill: Color
    kind: str = ""
    title: str = ""


@dataclass(frozen=True)
class Line:
    x1: int
    y1: int
    x2: int
    y2: int
    stroke: Color
    kind: str = ""


@dataclass(frozen=True)
class Text:
    x: int
    y: int
    text: str
    anchor: str = "start"
    """SVG's ``text-anchor``: ``start``, ``middle`` or ``end``."""
    kind: str = ""


Shape = Rect | Line | Text


@dataclass(frozen=True)
class Mark:
    start: float
    result: str


@dataclass(frozen=True)
class ProbeLane:
    container: str
    probe: str
    attempts: tuple[Mark, ...]

    @property
    def name(self) -> str:
        return f"{self.container} {self.probe}"


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    on: bool


@dataclass(frozen=True)
class StateLane:
    container: str
    state: str
    """``ready`` or ``started``."""
    segments: tuple[Segment, ...]

    @property
    def name(self) -> str:
        return f"{self.container} {self.state}"


@dataclass(frozen=True)
class Restart:
    container: str
    at: float


@dataclass(frozen=True)
class Facts:
    namespace: str
    pod: str
    start: float
    end: float
    probes: tuple[ProbeLane, ...]
    states: tuple[StateLane, ...]
    restarts: tuple[Restart, ...]


@dataclass(frozen=True)
class Axis:
    start: float
    end: float
    left: int
    right: int

    def x(self, t: float) -> int:
        """The pixel column of time ``t`` (seconds since the epoch)."""
        span = max(self.end - self.start, 1e-9)
        return self.left + round((t - self.start) / span * (self.right - self.left))


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    title: str
    axis: Axis
    lanes: tuple[str, ...]
    shapes: tuple[Shape, ...]


def epoch(stamp: str) -> float:
    """An RFC 3339 time (``...Z``, with or without fractions) as seconds since the epoch."""
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _stamp(obj: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return epoch(value)
    return None


def restarts_of(pod: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> list[Restart]:
    """Each container's restarts: terminated.finishedAt, and Killing events not near one."""
    status = pod.get("status") or {}
    uid = (pod.get("metadata") or {}).get("uid", "")
    finished: list[Restart] = []
    for cs in status.get("containerStatuses") or []:
        term = (cs.get("lastState") or {}).get("terminated") or {}
        at = _stamp(term, "finishedAt")
        if at is not None:
            finished.append(Restart(cs["name"], at))
    killed: list[Restart] = []
    for ev in events:
        involved = ev.get("involvedObject") or {}
        if ev.get("reason") != "Killing" or (uid and involved.get("uid", uid) != uid):
            continue
        path = str(involved.get("fieldPath") or "")
        name = path.partition("{")[2].rstrip("}")
        times = {_stamp(ev, "firstTimestamp", "eventTime"), _stamp(ev, "lastTimestamp")}
        killed += [Restart(name, t) for t in times if t is not None]
    merged = list(finished)
    for k in killed:
        near = any(
            f.container == k.container and -EVENT_LAG <= f.at - k.at <= MERGE_SECONDS
            for f in finished
        )
        if not near and all(m != k for m in merged):
            merged.append(k)
    return sorted(merged, key=lambda r: (r.at, r.container))


def _segments(
    initial: bool, changes: Sequence[tuple[float, bool]], start: float, end: float
) -> tuple[Segment, ...]:
    out: list[Segment] = []
    t, on = start, initial
    for when, value in sorted(changes, key=lambda c: c[0]):
        at = min(max(when, start), end)
        if value != on:
            if at > t:
                out.append(Segment(t, at, on))
            t, on = at, value
    if end > t or not out:
        out.append(Segment(t, end, on))
    return tuple(out)


def _probed_state(
    probe: Mapping[str, Any], marks: Sequence[Mark], restarts: Sequence[float], *, sticky: bool
) -> list[tuple[float, bool]]:
    """Transitions of a probe-gated state: thresholds applied, a restart resets to false.

    ``sticky``: a startup probe, once passed, is not probed again until the restart.
    """
    need_ok = int(probe.get("successThreshold") or 1)
    need_bad = int(probe.get("failureThreshold") or 3)
    steps = [(t, "restart") for t in restarts] + [(m.start, m.result) for m in marks]
    changes: list[tuple[float, bool]] = []
    on, ok, bad = False, 0, 0
    for t, what in sorted(steps, key=lambda s: s[0]):
        if what == "restart":
            on, ok, bad = False, 0, 0
        elif what == "success":
            ok, bad = ok + 1, 0
            on = on or ok >= need_ok
        elif what == "failure" and not (sticky and on):
            ok, bad = 0, bad + 1
            on = on and bad < need_bad
        changes.append((t, on))
    return changes


def _container_states(
    *,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    marks: Mapping[str, tuple[Mark, ...]],
    restarts: Sequence[float],
    start: float,
    end: float,
) -> tuple[StateLane, StateLane]:
    name = spec["name"]
    running = _stamp((status.get("state") or {}).get("running") or {}, "startedAt")
    first = _stamp(((status.get("lastState") or {}).get("terminated") or {}), "startedAt")
    runs = sorted(t for t in (first, running) if t is not None)
    began = runs[0] if runs else None
    # Without a probe the state follows the container: on from each start, off at each stop.
    # A restart whose next start is not known (older than lastState) is drawn as a blink.
    bounds = [*sorted(restarts), end]
    plain = [(t, True) for t in runs]
    for t, following in itertools.pairwise(bounds):
        plain.append((t, False))
        if not any(t < r <= following for r in runs):
            plain.append((t, True))

    def lane(state: str, probe_kind: str) -> StateLane:
        probe = spec.get(f"{probe_kind}Probe")
        if probe:
            changes = _probed_state(
                probe, marks.get(probe_kind, ()), restarts, sticky=probe_kind == "startup"
            )
            return StateLane(name, state, _segments(False, changes, start, end))
        initial = began is not None and began <= start
        return StateLane(name, state, _segments(initial, plain, start, end))

    started = lane("started", "startup")
    if spec.get("startupProbe") and not spec.get("readinessProbe"):
        # Without a readiness probe a container is ready once started (the kubelet's rule).
        return StateLane(name, "ready", started.segments), started
    return lane("ready", "readiness"), started


def facts(
    pod: Mapping[str, Any],
    events: Iterable[Mapping[str, Any]],
    history: Mapping[str, Any],
    now: float,
) -> Facts:
    """What the picture shows, read from the API's answers; ``now`` ends the window."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    series = list(history.get("probes") or [])
    lanes: list[ProbeLane] = []
    for c in spec.get("containers") or []:
        for kind in PROBE_ORDER:
            found = [s for s in series if (s.get("container"), s.get("probe")) == (c["name"], kind)]
            if c.get(f"{kind}Probe") or found:
                attempts = [a for s in found for a in s.get("attempts") or []]
                marks = tuple(Mark(epoch(a["start"]), str(a.get("result", ""))) for a in attempts)
                lanes.append(
                    ProbeLane(c["name"], kind, tuple(sorted(marks, key=lambda m: m.start)))
                )
    # The window opens at the pod's start when the rings still hold every attempt, else at
    # the oldest attempt held: before it the lanes would be guesses.
    complete = all(
        sum((s.get("totals") or {}).values()) <= len(s.get("attempts") or []) for s in series
    )
    firsts = [lane.attempts[0].start for lane in lanes if lane.attempts]
    pod_start = _stamp(status, "startTime") or _stamp(meta, "creationTimestamp")
    candidates = firsts + (
        [pod_start] if pod_start is not None and (complete or not firsts) else []
    )
    start = min(candidates) if candidates else now
    end = max([now, *(m.start for lane in lanes for m in lane.attempts)])
    restarts = [r for r in restarts_of(pod, events) if start <= r.at <= end]
    statuses = {cs["name"]: cs for cs in status.get("containerStatuses") or []}
    states: list[StateLane] = []
    for c in spec.get("containers") or []:
        own = {lane.probe: lane.attempts for lane in lanes if lane.container == c["name"]}
        mine = [r.at for r in restarts if r.container == c["name"]]
        states += _container_states(
            spec=c,
            status=statuses.get(c["name"], {}),
            marks=own,
            restarts=mine,
            start=start,
            end=end,
        )
    return Facts(
        namespace=str(meta.get("namespace", "")),
        pod=str(meta.get("name", "")),
        start=start,
        end=max(end, start + 1.0),
        probes=tuple(lanes),
        states=tuple(states),
        restarts=tuple(restarts),
    )


def lane_names(f: Facts) -> tuple[str, ...]:
    """Per container in spec order: its probes, then ``ready`` and ``started``."""
    names: list[str] = []
    containers = [*(p.container for p in f.probes), *(s.container for s in f.states)]
    for container in dict.fromkeys(containers):
        names += [p.name for p in f.probes if p.container == container]
        names += [s.name for s in f.states if s.container == container]
    return tuple(names)


def default_height(f: Facts) -> int:
    return TOP + BOTTOM + LANE_HEIGHT * max(1, len(lane_names(f)))


def tick_step(span: float, pixels: int) -> int:
    """The smallest round step (seconds) leaving at least 90 px between labels."""
    most = max(1, pixels // 90)
    return next((s for s in TICK_STEPS if span / s <= most), TICK_STEPS[-1])


def _clock(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%H:%M:%S")


def layout(f: Facts, width: int, height: int) -> Picture:
    """The shapes of the picture, back to front; ValueError if the canvas cannot hold them."""
    names = lane_names(f)
    if width < MIN_WIDTH:
        raise ValueError(f"--width {width} is too small: at least {MIN_WIDTH}")
    lane_h = (height - TOP - BOTTOM) // max(1, len(names))
    if lane_h < MIN_LANE_HEIGHT:
        least = TOP + BOTTOM + MIN_LANE_HEIGHT * len(names)
        raise ValueError(f"--height {height} is too small for {len(names)} lanes: at least {least}")
    lane_h = min(lane_h, LANE_HEIGHT * 2)
    axis = Axis(f.start, f.end, LEFT, width - RIGHT)
    bottom = TOP + lane_h * len(names)
    shapes: list[Shape] = [Rect(0, 0, width, height, Color.BACKGROUND, "background")]
    shapes.append(Text(8, 13, f"{f.namespace}/{f.pod}", kind="title"))
    step = tick_step(f.end - f.start, axis.right - axis.left)
    tick = (int(f.start) // step + 1) * step
    while tick <= f.end:
        x = axis.x(tick)
        shapes.append(Line(x, TOP, x, bottom, Color.GRID, "grid"))
        shapes.append(Line(x, bottom, x, bottom + 4, Color.AXIS, "tick"))
        shapes.append(Text(x, bottom + 17, _clock(tick), "middle", "tick-label"))
        tick += step
    row = {name: TOP + i * lane_h for i, name in enumerate(names)}
    for name, y in row.items():
        shapes.append(Text(LEFT - 8, y + lane_h // 2 + 4, name, "end", "lane-label"))
    pad = max(1, lane_h // 5)
    for s in f.states:
        y = row[s.name]
        for seg in s.segments:
            x1, x2 = axis.x(seg.start), axis.x(seg.end)
            fill = Color.ON if seg.on else Color.OFF
            title = f"{s.name} {'true' if seg.on else 'false'} from {_clock(seg.start)}"
            shapes.append(
                Rect(
                    x1, y + pad, max(1, x2 - x1), lane_h - 2 * pad, fill, f"state {s.state}", title
                )
            )
    for p in f.probes:
        y = row[p.name]
        for m in p.attempts:
            x = axis.x(m.start)
            fill = RESULT_COLORS.get(m.result, Color.UNKNOWN)
            title = f"{p.name} {m.result} at {_clock(m.start)}"
            shapes.append(
                Rect(x - 1, y + pad, 3, lane_h - 2 * pad, fill, f"attempt {m.result}", title)
            )
    shapes.append(Line(axis.left, bottom, axis.right, bottom, Color.AXIS, "axis"))
    shapes.append(Text(axis.right, bottom + 34, "UTC", "end", "axis-label"))
    for r in f.restarts:
        x = axis.x(r.at)
        shapes.append(Line(x, TOP - 6, x, bottom - 1, Color.RESTART, "restart"))
        label = f"restart {r.container} {_clock(r.at)}"
        # About 7 px a character in either picture: a label past the edge goes on the left.
        if x + 3 + 7 * len(label) <= width:
            shapes.append(Text(x + 3, TOP - 4, label, kind="restart-label"))
        else:
            shapes.append(Text(x - 3, TOP - 4, label, "end", "restart-label"))
    return Picture(width, height, f"{f.namespace}/{f.pod}", axis, names, tuple(shapes))
