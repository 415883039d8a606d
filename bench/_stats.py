"""Latency samples, their percentiles, and the Markdown the benches print."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least q% of samples at or below.

    With 20 samples p99 is the maximum; the report says how many samples each row has.
    """
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    """Seconds in, milliseconds out."""

    n: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(
            n=len(samples),
            p50_ms=percentile(samples, 50) * 1000,
            p99_ms=percentile(samples, 99) * 1000,
            max_ms=max(samples) * 1000,
            mean_ms=sum(samples) / len(samples) * 1000,
        )


@dataclass(frozen=True)
class Row:
    """One measure: kubeproc's samples beside the baseline's, same request shape and size."""

    measure: str
    kubeproc: Summary
    baseline: Summary
    body_bytes: int

    @property
    def ratio(self) -> float:
        return self.kubeproc.p50_ms / self.baseline.p50_ms


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} B"


def markdown(rows: Sequence[Row]) -> str:
    lines = [
        "| measure | n | body | p50 ms | p99 ms | baseline p50 ms | baseline p99 ms | ratio p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.measure} | {r.kubeproc.n} | {_size(r.body_bytes)} | {_ms(r.kubeproc.p50_ms)}"
        f" | {_ms(r.kubeproc.p99_ms)} | {_ms(r.baseline.p50_ms)} | {_ms(r.baseline.p99_ms)}"
        f" | {r.ratio:.1f}x |"
        for r in rows
    ]
    return "\n".join(lines)
