"""The kubelet's Prometheus metrics: the prober's two families, rendered from the history.

Names, labels, help texts and buckets are the kubelet's (``prober_manager.go``):
``prober_probe_total{probe_type,result,container,pod,namespace,pod_uid}`` with ``result``
``successful|failed|unknown``, and ``prober_probe_duration_seconds{probe_type,container,
pod,namespace}`` over the Go client's default buckets. ``probe_type`` reads ``Liveness``,
``Readiness`` or ``Startup`` as upstream prints its probe type.

The values are not kept twice: they are read at scrape time from the ``ProbeSeries``
totals the worker feeds (``prober.history``), so a counter and the history it sits next to
cannot disagree. One difference from upstream, on purpose: an attempt that errored (§2.10)
is counted as ``unknown``, where the kubelet drops it from the counter entirely (its
``unknown`` series stays at zero in practice); kubeproc's history shows those attempts,
and the counter counts what the history shows. As upstream, the duration histogram
observes successful and unknown attempts only, and a pod's series go when the pod does
(upstream: when its worker stops). Every series of a probe is present from its first
scrape, at zero if need be, where upstream's appear on first increment: Prometheus's
advice, and ``rate()`` then sees the first failure.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubeproc.kubelet.prober.history import AttemptResult, ProbeHistory, ProbeSeries
from kubeproc.util.prometheus import DEFAULT_BUCKETS, Family, Histogram, Labels, Sample

PROBE_TOTAL = "prober_probe_total"
PROBE_DURATION = "prober_probe_duration_seconds"
PROBE_TOTAL_HELP = (
    "[BETA] Cumulative number of a liveness, readiness or startup probe for a container by result."
)
PROBE_DURATION_HELP = "[ALPHA] Duration in seconds for a probe response."


def probe_type_label(series: ProbeSeries) -> str:
    return series.probe_type.value.capitalize()


def prober_families(history: ProbeHistory) -> list[Family]:
    """``prober_probe_total`` and ``prober_probe_duration_seconds`` for every series."""
    return prober_families_of(history.all())


def prober_families_of(all_series: Iterable[ProbeSeries]) -> list[Family]:
    totals: list[Sample] = []
    durations: dict[Labels, Histogram] = {}
    for s in sorted(
        all_series, key=lambda s: (s.namespace, s.pod, s.uid, s.container, s.probe_type)
    ):
        kind = probe_type_label(s)
        for result in AttemptResult:
            labels: Labels = (
                ("probe_type", kind),
                ("result", result.metric_label),
                ("container", s.container),
                ("pod", s.pod),
                ("namespace", s.namespace),
                ("pod_uid", s.uid),
            )
            totals.append(Sample("", labels, s.totals[result]))
        key: Labels = (
            ("probe_type", kind),
            ("container", s.container),
            ("pod", s.pod),
            ("namespace", s.namespace),
        )
        merged = durations.get(key)
        if merged is None:
            merged = durations[key] = Histogram(DEFAULT_BUCKETS)
        # Two pods of one name (a deleted one and its successor) share upstream's series.
        merged.counts = [a + b for a, b in zip(merged.counts, s.durations.counts, strict=True)]
        merged.total += s.durations.total
        merged.count += s.durations.count
    duration_samples: list[Sample] = []
    for labels, hist in durations.items():
        duration_samples.extend(hist.samples(labels))
    return [
        Family(PROBE_TOTAL, PROBE_TOTAL_HELP, "counter", tuple(totals)),
        Family(PROBE_DURATION, PROBE_DURATION_HELP, "histogram", tuple(duration_samples)),
    ]
