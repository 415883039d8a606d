"""The ``ProbeRunner`` seam: how a worker runs one probe handler, and a fake for tests.

The worker owns timing and thresholds; the runner owns the wire (exec via the runtime,
HTTP, TCP, gRPC — the next issue). Keeping the seam this small lets every worker rule be
tested on a fake clock with scripted outcomes. The runner enforces ``timeoutSeconds``
itself and reports a timeout as ``FAILURE``; ``ERROR`` is for attempts that could not be
judged at all (§2.10) and is retried, then discarded, by the worker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from kubeproc.kubelet.prober.results import ProbeType


class HandlerResult(StrEnum):
    SUCCESS = "Success"
    WARNING = "Warning"
    """HTTP final 3xx: counts as success, with a ``ProbeWarning`` event."""
    FAILURE = "Failure"
    UNKNOWN = "Unknown"
    """A handler verdict of unknown without an error: counts as failure."""
    ERROR = "Error"
    """The probe could not be run (bad named port, exec runtime error): discarded."""


@dataclass(frozen=True)
class Outcome:
    result: HandlerResult
    output: str = ""
    code: int | None = field(default=None, compare=False)
    """The HTTP status or exit code behind the verdict, where there is one (probe history);
    left out of equality, which stays the verdict and its text."""


@dataclass(frozen=True)
class ProbeTarget:
    """What a handler aims at: the pod's IP, the container instance and its spec.

    The spec resolves named ports and the literal ``env`` that ``$(VAR)`` in an exec
    command may use, both at probe time as upstream does.
    """

    pod_ip: str
    container_id: str
    container: Mapping[str, Any] = field(default_factory=dict)
    pod_name: str = ""


class ProbeRunner(Protocol):
    async def run(
        self, kind: ProbeType, probe_spec: Mapping[str, Any], target: ProbeTarget
    ) -> Outcome:
        """Run the probe's handler once, within its ``timeoutSeconds``."""


@dataclass(frozen=True)
class RunnerCall:
    kind: ProbeType
    container_id: str
    pod_ip: str


class FakeProbeRunner:
    """Scripted outcomes per (probe type, container ID); records every call.

    A script is consumed one outcome per call; once empty the ``default`` (or the last
    scripted outcome when ``sticky``) answers.
    """

    def __init__(self, default: Outcome | None = None) -> None:
        self.default = default or Outcome(HandlerResult.SUCCESS)
        self.calls: list[RunnerCall] = []
        self._scripts: dict[tuple[ProbeType, str | None], deque[Outcome]] = {}
        self._fixed: dict[tuple[ProbeType, str | None], Outcome] = {}

    def always(self, kind: ProbeType, outcome: Outcome, container_id: str | None = None) -> None:
        """Answer ``outcome`` for this probe type (and container, if given) from now on."""
        self._scripts.pop((kind, container_id), None)
        self._fixed[kind, container_id] = outcome

    def script(
        self, kind: ProbeType, outcomes: Iterable[Outcome], container_id: str | None = None
    ) -> None:
        """Answer these outcomes in order, then fall back to ``always``/``default``."""
        self._scripts[kind, container_id] = deque(outcomes)

    def count(self, kind: ProbeType, container_id: str | None = None) -> int:
        return sum(
            1
            for c in self.calls
            if c.kind is kind and (container_id is None or c.container_id == container_id)
        )

    async def run(
        self, kind: ProbeType, probe_spec: Mapping[str, Any], target: ProbeTarget
    ) -> Outcome:
        container_id = target.container_id
        self.calls.append(RunnerCall(kind, container_id, target.pod_ip))
        for key in ((kind, container_id), (kind, None)):
            script = self._scripts.get(key)
            if script:
                return script.popleft()
            if key in self._fixed:
                return self._fixed[key]
        return self.default
