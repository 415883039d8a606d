"""The kubelet's prober: one worker per (pod, container, probe type), results in caches.

``ProbeManager`` is the door the kubelet uses (``update_pod``, ``remove_pod``, ``hooks``);
``ProbeRunner`` is the seam to the handlers, with ``FakeProbeRunner`` beside it for tests.
"""

from kubeproc.kubelet.prober.events import ProbeEvent
from kubeproc.kubelet.prober.handlers import (
    FakeProbeRunner,
    HandlerResult,
    Outcome,
    ProbeRunner,
    ProbeTarget,
)
from kubeproc.kubelet.prober.manager import ProbeManager, WorkerKey
from kubeproc.kubelet.prober.results import (
    ProbeType,
    Result,
    ResultKey,
    ResultsCache,
    ResultUpdate,
)

__all__ = [
    "FakeProbeRunner",
    "HandlerResult",
    "Outcome",
    "ProbeEvent",
    "ProbeManager",
    "ProbeRunner",
    "ProbeTarget",
    "ProbeType",
    "Result",
    "ResultKey",
    "ResultUpdate",
    "ResultsCache",
    "WorkerKey",
]
