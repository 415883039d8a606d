"""Probe history: the last attempts of every probe, and the counts the metrics read.

Owns one ``ProbeSeries`` per (pod UID, container name, probe type): a ring of the last
``capacity`` attempts (start, duration, result, HTTP status or exit code, the first 256
bytes of output) plus running totals per result and a duration histogram. The worker
feeds it once per attempt from the very outcome it counts and turns into an event, so
the history, the Prometheus counters (``kubelet.metricsregistry``) and the events can be
compared attempt for attempt. The manager drops a pod's series when it removes the pod.

Shaped for memory, since every probed container on the node keeps one: the ring is five
parallel ``array``s and a list (about 25 bytes an attempt besides the output text), and
an output equal to one of the two before it is stored once (a flapping probe alternates
between two texts). The output texts of one series share a budget of
``OUTPUT_BUDGET`` bytes: past it, the oldest attempts lose their text (keeping their time,
result and code), so a probe whose every answer differs costs no more than one that
repeats itself (bench/probehistory.py). Totals are kept apart from the ring, so they count
every attempt while the ring only holds the last ones.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from kubeproc.kubelet.prober.handlers import Outcome
from kubeproc.kubelet.prober.results import ProbeType, Result
from kubeproc.util.prometheus import DEFAULT_BUCKETS, Histogram

DEFAULT_CAPACITY = 100
OUTPUT_BYTES = 256
OUTPUT_BUDGET = 8192
"""Bytes of output text one series keeps (measured as the strings' own size in memory)."""
NO_CODE = -(2**31)


class AttemptResult(IntEnum):
    """How an attempt counted: the worker's verdict, an error being ``UNKNOWN`` (§2.10)."""

    SUCCESS = 0
    FAILURE = 1
    UNKNOWN = 2

    @property
    def word(self) -> str:
        return ("success", "failure", "unknown")[self]

    @property
    def metric_label(self) -> str:
        """The ``result`` label of ``prober_probe_total``."""
        return ("successful", "failed", "unknown")[self]

    @classmethod
    def of(cls, counted: Result | None) -> AttemptResult:
        if counted is Result.SUCCESS:
            return cls.SUCCESS
        if counted is Result.FAILURE:
            return cls.FAILURE
        return cls.UNKNOWN


@dataclass(frozen=True)
class Attempt:
    """One attempt as served (the ring stores it unpacked)."""

    start: float
    """Wall-clock seconds since the epoch."""
    duration: float
    result: AttemptResult
    code: int | None
    output: str


def clip(text: str, limit: int = OUTPUT_BYTES) -> str:
    """The first ``limit`` bytes of ``text`` in UTF-8, never splitting a character."""
    raw = text.encode("utf-8", errors="replace")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


class ProbeSeries:
    """One probe's attempts: a bounded ring plus totals that never drop."""

    __slots__ = (
        "_codes",
        "_durations",
        "_next",
        "_output_bytes",
        "_outputs",
        "_results",
        "_sizes",
        "_starts",
        "_trimmed",
        "capacity",
        "container",
        "durations",
        "handler",
        "namespace",
        "pod",
        "probe_type",
        "totals",
        "uid",
    )

    def __init__(
        self,
        *,
        uid: str,
        namespace: str,
        pod: str,
        container: str,
        probe_type: ProbeType,
        handler: str = "",
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self.uid = uid
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.probe_type = probe_type
        self.handler = handler
        """``exec``, ``httpGet``, ``tcpSocket`` or ``grpc``: what ``code`` means."""
        self.capacity = capacity
        self._starts = array("d")
        self._durations = array("f")
        self._results = array("b")
        self._codes = array("i")
        self._outputs: list[str] = []
        self._sizes = array("H")  # each slot's share of the budget (0: blank or shared)
        self._output_bytes = 0
        self._trimmed = 0  # the oldest slots known to hold no text of their own
        self._next = 0
        self.totals = [0, 0, 0]
        """Attempts ever recorded, indexed by ``AttemptResult``."""
        self.durations = Histogram(DEFAULT_BUCKETS)
        """Durations of successful and unknown attempts, as the kubelet observes them."""

    def record(
        self, start: float, duration: float, counted: Result | None, outcome: Outcome
    ) -> None:
        result = AttemptResult.of(counted)
        self.totals[result] += 1
        if result is not AttemptResult.FAILURE:
            self.durations.observe(duration)
        text = clip(outcome.output)
        output = self._shared(text)
        size = 0 if output is not text or not output else min(sys.getsizeof(output), 65535)
        code = NO_CODE if outcome.code is None else outcome.code
        if len(self._starts) < self.capacity:
            self._starts.append(start)
            self._durations.append(duration)
            self._results.append(result)
            self._codes.append(code)
            self._outputs.append(output)
            self._sizes.append(size)
        else:
            i = self._next
            self._starts[i] = start
            self._durations[i] = duration
            self._results[i] = result
            self._codes[i] = code
            self._outputs[i] = output
            self._output_bytes -= self._sizes[i]
            self._sizes[i] = size
            self._trimmed = max(self._trimmed - 1, 0)  # the oldest slot became the newest
        self._output_bytes += size
        self._next = (self._next + 1) % self.capacity
        if self._output_bytes > OUTPUT_BUDGET:
            self._trim()

    def _trim(self) -> None:
        """Blank the oldest outputs until the series is within its budget (not the newest)."""
        n = len(self._starts)
        first = self._next % n if n == self.capacity else 0
        while self._output_bytes > OUTPUT_BUDGET and self._trimmed < n - 1:
            i = (first + self._trimmed) % n
            if self._sizes[i]:
                self._output_bytes -= self._sizes[i]
                self._sizes[i] = 0
                self._outputs[i] = ""
            self._trimmed += 1

    def _shared(self, output: str) -> str:
        """The stored copy of an output seen in one of the last two attempts, if any."""
        n = len(self._outputs)
        for back in (1, 2):
            if back <= n:
                prev = self._outputs[(self._next - back) % n]
                if prev == output:
                    return prev
        return output

    def __len__(self) -> int:
        return len(self._starts)

    def attempts(self) -> list[Attempt]:
        """The attempts the ring holds, oldest first."""
        n = len(self._starts)
        first = self._next % n if n == self.capacity else 0
        out: list[Attempt] = []
        for k in range(n):
            i = (first + k) % n
            code = self._codes[i]
            out.append(
                Attempt(
                    start=self._starts[i],
                    duration=float(self._durations[i]),
                    result=AttemptResult(self._results[i]),
                    code=None if code == NO_CODE else code,
                    output=self._outputs[i],
                )
            )
        return out


class ProbeHistory:
    """Every probe series on the node, by pod UID."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("a probe history holds at least one attempt")
        self.capacity = capacity
        self._pods: dict[str, dict[tuple[str, ProbeType], ProbeSeries]] = {}

    def series(
        self,
        *,
        uid: str,
        namespace: str,
        pod: str,
        container: str,
        probe_type: ProbeType,
        handler: str = "",
    ) -> ProbeSeries:
        """The series of one probe, made on first use (a restarted worker continues it)."""
        per_pod = self._pods.setdefault(uid, {})
        found = per_pod.get((container, probe_type))
        if found is None:
            found = per_pod[container, probe_type] = ProbeSeries(
                uid=uid,
                namespace=namespace,
                pod=pod,
                container=container,
                probe_type=probe_type,
                handler=handler,
                capacity=self.capacity,
            )
        return found

    def remove_pod(self, uid: str) -> None:
        self._pods.pop(uid, None)

    def all(self) -> Iterator[ProbeSeries]:
        for per_pod in self._pods.values():
            yield from per_pod.values()

    def for_pod(self, namespace: str, pod: str, uid: str = "") -> list[ProbeSeries]:
        """The series of the pod ``namespace/pod`` (of that UID, when given)."""
        return [
            s
            for s in self.all()
            if s.namespace == namespace and s.pod == pod and (not uid or s.uid == uid)
        ]
