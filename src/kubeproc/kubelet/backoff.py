"""CrashLoopBackOff: the per-container restart back-off and its Go-style duration text.

A port of client-go's ``flowcontrol.Backoff`` as the kubelet configures it: keyed by pod,
container name and container spec hash (a changed spec starts fresh), 10 s doubling to
300 s, no jitter, and an entry expires (the curve starts over) once a container exits more
than 600 s after the last step. ``doBackOff`` compares against the finish time of the
latest exited instance; the first exit finds no entry and restarts at once (issue
#133472), so the delays between an exit and the next start run 0, 10, 20, 40 … 300 s.

Reads (``in_backoff``, ``remaining``) are pure so ``compute_pod_actions`` can consult the
table; the single write, ``next``, happens when a container is actually started.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kubeproc.util.clock import Clock


def backoff_key(pod_uid: str, container: str, spec_hash: str) -> str:
    """``getStableKey``: a changed container spec gets a fresh back-off."""
    return f"{pod_uid}_{container}_{spec_hash}"


@dataclass
class _Entry:
    backoff: float
    last_update: dt.datetime


class Backoff:
    """Per-key exponential back-off on the injected clock's wall time."""

    def __init__(
        self,
        clock: Clock,
        *,
        initial: float = 10.0,
        maximum: float = 300.0,
        reset_after: float = 600.0,
    ) -> None:
        self.clock = clock
        self.initial = min(initial, maximum)
        self.maximum = maximum
        self.reset_after = reset_after
        self._entries: dict[str, _Entry] = {}

    def _expired(self, entry: _Entry, event_time: dt.datetime) -> bool:
        return (event_time - entry.last_update).total_seconds() > self.reset_after

    def get(self, key: str) -> float:
        """The current delay of ``key`` (0 when it has none)."""
        entry = self._entries.get(key)
        return entry.backoff if entry is not None else 0.0

    def in_backoff(self, key: str, event_time: dt.datetime, now: dt.datetime) -> bool:
        """``IsInBackOffSince``: ``now`` is within the delay counted from ``event_time``."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return False
        return (now - event_time).total_seconds() < entry.backoff

    def remaining(self, key: str, event_time: dt.datetime, now: dt.datetime) -> float:
        """Seconds until ``in_backoff`` turns false (0 when it already is)."""
        if not self.in_backoff(key, event_time, now):
            return 0.0
        return max(self._entries[key].backoff - (now - event_time).total_seconds(), 0.0)

    def next(self, key: str, event_time: dt.datetime) -> None:
        """Advance ``key``: start at the initial delay, or double up to the cap."""
        entry = self._entries.get(key)
        now = self.clock.now()
        if entry is None or self._expired(entry, event_time):
            self._entries[key] = _Entry(self.initial, now)
            return
        entry.backoff = min(entry.backoff * 2, self.maximum)
        entry.last_update = now

    def gc(self) -> None:
        """Drop entries idle for longer than twice the cap (client-go's ``GC``)."""
        now = self.clock.now()
        for key, entry in list(self._entries.items()):
            if (now - entry.last_update).total_seconds() > 2 * self.maximum:
                del self._entries[key]

    def forget_pod(self, pod_uid: str) -> None:
        for key in [k for k in self._entries if k.startswith(pod_uid + "_")]:
            del self._entries[key]


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``: ``10s``, ``1m20s``, ``5m0s``, ``1h0m0s``, ``500ms``."""
    if seconds == 0:
        return "0s"
    negative = seconds < 0
    total = abs(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = f"{secs:.9f}".rstrip("0").rstrip(".")
    if hours:
        text = f"{int(hours)}h{int(minutes)}m{secs_text}s"
    elif minutes:
        text = f"{int(minutes)}m{secs_text}s"
    elif total < 1:
        text = _sub_second(total)
    else:
        text = f"{secs_text}s"
    return "-" + text if negative else text


def _sub_second(total: float) -> str:
    for unit, scale in (("ms", 1e3), ("µs", 1e6), ("ns", 1e9)):
        value = total * scale
        if value >= 1 or unit == "ns":
            return f"{value:.6f}".rstrip("0").rstrip(".") + unit
    return "0s"  # pragma: no cover - the loop always returns
