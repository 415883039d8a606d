"""Events a probe attempt emits (spec §2.12), decided purely from the attempt's outcome.

Every failing or erroring *attempt* emits one, not only the one that crosses a threshold;
successes emit nothing. The worker hands them to a sink the kubelet supplies (its event
recorder, which aggregates repeats); the wording is verbatim because users read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome
from kubeproc.kubelet.prober.results import ProbeType


@dataclass(frozen=True)
class ProbeEvent:
    pod_uid: str
    container_name: str
    type: str
    reason: str
    message: str

    @property
    def field_path(self) -> str:
        return f"spec.containers{{{self.container_name}}}"


def attempt_event(
    probe_type: ProbeType, outcome: Outcome, *, pod_uid: str, container_name: str
) -> ProbeEvent | None:
    """The event for one attempt's final outcome, or None for a plain success."""
    kind = probe_type.value.capitalize()
    if outcome.result is HandlerResult.FAILURE:
        reason, message = "Unhealthy", f"{kind} probe failed: {outcome.output}"
    elif outcome.result is HandlerResult.ERROR:
        reason = "Unhealthy"
        message = f"{kind} probe errored and resulted in unknown state: {outcome.output}"
    elif outcome.result is HandlerResult.WARNING:
        reason, message = "ProbeWarning", f"{kind} probe warning: {outcome.output}"
    else:
        return None  # success, or Unknown: counted as Failure but recorded silently
    return ProbeEvent(pod_uid, container_name, "Warning", reason, message)
