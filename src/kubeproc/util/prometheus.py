"""Prometheus text exposition (format 0.0.4) and the two metric kinds kubeproc keeps.

Owns how a sample reads on the wire: ``# HELP``/``# TYPE`` once per family, labels
escaped as the Go client escapes them, numbers formatted as Go's ``FormatFloat(v, 'g',
-1, 64)`` (``1e+06``, ``+Inf``), and a histogram's cumulative ``_bucket`` lines with
``le`` before ``_sum`` and ``_count``. Pure and I/O free: the API server keeps its request
metrics in a ``CounterVec``/``HistogramVec``, the kubelet renders its prober series from
the probe history, and both hand ``Family`` records to ``render``. Help texts carry
component-base's stability prefix (``[ALPHA] ``) because that is what a scrape of a real
kubelet or kube-apiserver shows.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""The Go client's ``DefBuckets``, which a histogram without its own buckets gets."""

Labels = tuple[tuple[str, str], ...]


def format_value(value: float) -> str:
    """A number as the Go client writes it: shortest round-trip, ``%e`` past 1e+06."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    exp = point - 1
    neg = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{neg}{text}{'0' * (point - len(text))}"
    return f"{neg}{text[:point]}.{text[point:]}"


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


@dataclass(frozen=True)
class Sample:
    suffix: str
    """Appended to the family name: ``""``, ``_bucket``, ``_sum`` or ``_count``."""
    labels: Labels
    value: float


@dataclass(frozen=True)
class Family:
    name: str
    help: str
    type: str
    """``counter``, ``gauge`` or ``histogram``."""
    samples: tuple[Sample, ...] = ()


def histogram_samples(
    labels: Labels, buckets: Sequence[float], counts: Sequence[int], total: float
) -> list[Sample]:
    """A histogram's lines from per-bucket (non-cumulative) counts; the last is ``+Inf``."""
    out: list[Sample] = []
    running = 0
    for bound, count in zip((*buckets, math.inf), counts, strict=True):
        running += count
        out.append(Sample("_bucket", (*labels, ("le", format_value(bound))), running))
    out.append(Sample("_sum", labels, total))
    out.append(Sample("_count", labels, running))
    return out


def render(families: Iterable[Family]) -> str:
    """The text exposition of ``families``; a family without samples still says its type."""
    lines: list[str] = []
    for fam in families:
        lines.append(f"# HELP {fam.name} {escape_help(fam.help)}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        for s in fam.samples:
            body = ",".join(f'{k}="{escape_label(v)}"' for k, v in s.labels)
            label_text = f"{{{body}}}" if body else ""
            lines.append(f"{fam.name}{s.suffix}{label_text} {format_value(s.value)}")
    return "\n".join(lines) + "\n" if lines else ""


# -- mutable metrics --------------------------------------------------------------------


@dataclass
class CounterVec:
    name: str
    help: str
    label_names: tuple[str, ...]
    values: dict[tuple[str, ...], float] = field(default_factory=dict)

    def inc(self, *label_values: str, amount: float = 1.0) -> None:
        self.values[label_values] = self.values.get(label_values, 0.0) + amount

    def family(self) -> Family:
        samples = tuple(
            Sample("", tuple(zip(self.label_names, key, strict=True)), value)
            for key, value in sorted(self.values.items())
        )
        return Family(self.name, self.help, "counter", samples)


class Histogram:
    """One series' buckets; ``counts[i]`` holds observations in ``(b[i-1], b[i]]``."""

    __slots__ = ("buckets", "count", "counts", "total")

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def samples(self, labels: Labels) -> list[Sample]:
        return histogram_samples(labels, self.buckets, self.counts, self.total)


@dataclass
class HistogramVec:
    name: str
    help: str
    label_names: tuple[str, ...]
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    series: dict[tuple[str, ...], Histogram] = field(default_factory=dict)

    def observe(self, value: float, *label_values: str) -> None:
        hist = self.series.get(label_values)
        if hist is None:
            hist = self.series[label_values] = Histogram(self.buckets)
        hist.observe(value)

    def family(self) -> Family:
        samples: list[Sample] = []
        for key, hist in sorted(self.series.items()):
            samples.extend(hist.samples(tuple(zip(self.label_names, key, strict=True))))
        return Family(self.name, self.help, "histogram", tuple(samples))


def parse(text: str) -> dict[tuple[str, Labels], float]:
    """Samples of an exposition keyed by (name, sorted labels): for tests and checks.

    Handles what ``render`` writes (no timestamps, no escaped quotes inside values
    other than ``\\"``).
    """
    out: dict[tuple[str, Labels], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, rest = head.partition("{")
        labels: list[tuple[str, str]] = []
        rest = rest.removesuffix("}")
        while rest:
            key, _, rest = rest.partition('="')
            chars: list[str] = []
            i = 0
            while rest[i] != '"':
                if rest[i] == "\\":
                    i += 1
                    chars.append({"n": "\n"}.get(rest[i], rest[i]))
                else:
                    chars.append(rest[i])
                i += 1
            labels.append((key, "".join(chars)))
            rest = rest[i + 1 :].removeprefix(",")
        out[name, tuple(sorted(labels))] = float(value)
    return out
