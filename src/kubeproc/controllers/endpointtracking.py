"""What the endpoint controllers remember between syncs of a Service.

``WriteExpectations`` holds the writes a controller made and has not yet seen come back
through its informer (upstream's EndpointSliceTracker and staleEndpointsTracker). A sync
that ran on such a stale cache could create a second slice or overwrite a newer object,
so it is skipped and the awaited watch event queues the Service again. Expectations
expire after ``ttl`` seconds, so a lost event delays a sync, never blocks it.

``TriggerTimeTracker`` computes the ``endpoints.kubernetes.io/last-change-trigger-time``
annotation as upstream does: the earliest change (a pod's Ready transition, the Service's
creation) not reflected in the previous sync; the Service's creation on its first sync.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kubeproc.util.clock import Clock, parse_rfc3339

DELETED = -1


def _rv(obj: dict[str, Any]) -> int:
    try:
        return int(obj["metadata"].get("resourceVersion") or 0)
    except ValueError:
        return 0


@dataclass
class WriteExpectations:
    clock: Clock
    ttl: float = 5.0
    # service key -> object name -> (resourceVersion written or DELETED, when)
    _pending: dict[str, dict[str, tuple[int, float]]] = field(default_factory=dict)

    def wrote(self, service: str, obj: dict[str, Any], cached: dict[str, Any] | None) -> None:
        """Await ``obj`` (a write's result) unless the cache (``cached``) already shows it.

        The watch event can beat the write's response; expecting it then would wait for
        an event that already came."""
        if cached is not None and _rv(cached) >= _rv(obj):
            return
        self._pending.setdefault(service, {})[obj["metadata"]["name"]] = (
            _rv(obj),
            self.clock.monotonic(),
        )

    def deleted(self, service: str, name: str, *, cached: bool) -> None:
        """Await the deletion of ``name`` unless the cache no longer holds it."""
        if cached:
            self._pending.setdefault(service, {})[name] = (DELETED, self.clock.monotonic())

    def observe(self, service: str, name: str, obj: dict[str, Any] | None) -> bool:
        """Record an informer event (None: a deletion); True if it is this controller's write."""
        pending = self._pending.get(service, {})
        expected = pending.get(name)
        if expected is None:
            return False
        rv, _ = expected
        if obj is not None and (rv == DELETED or _rv(obj) < rv):
            return False  # an older event: the write is still on its way
        del pending[name]
        if not pending:
            self._pending.pop(service, None)
        return (rv == DELETED) if obj is None else _rv(obj) == rv

    def stale(self, service: str) -> bool:
        """Whether the informer has yet to show a write made for ``service``."""
        pending = self._pending.get(service)
        if not pending:
            return False
        now = self.clock.monotonic()
        for name, (_, since) in list(pending.items()):
            if now - since > self.ttl:
                del pending[name]
        if not pending:
            self._pending.pop(service, None)
        return bool(pending)

    def forget(self, service: str) -> None:
        self._pending.pop(service, None)


def rfc3339_nano(moment: dt.datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: fractional seconds without trailing zeros."""
    moment = moment.astimezone(dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _ready_transition(pod: dict[str, Any]) -> dt.datetime | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("lastTransitionTime"):
            return parse_rfc3339(str(cond["lastTransitionTime"]))
    return None


def _created(obj: dict[str, Any]) -> dt.datetime | None:
    stamp = obj["metadata"].get("creationTimestamp")
    return parse_rfc3339(str(stamp)) if stamp else None


@dataclass
class _ServiceState:
    service_time: dt.datetime | None
    pod_times: dict[str, dt.datetime]


@dataclass
class TriggerTimeTracker:
    _states: dict[str, _ServiceState] = field(default_factory=dict)

    def compute(
        self, key: str, svc: dict[str, Any], pods: list[dict[str, Any]]
    ) -> dt.datetime | None:
        """The trigger time for this sync of ``key``; None clears the annotation."""
        state = self._states.get(key)
        last_pods = state.pod_times if state else {}
        changed: list[dt.datetime] = []
        pod_times: dict[str, dt.datetime] = {}
        for pod in pods:
            when = _ready_transition(pod)
            if when is None:
                continue
            name = str(pod["metadata"]["name"])
            pod_times[name] = when
            before = last_pods.get(name)
            if before is None or when > before:
                changed.append(when)
        service_time = _created(svc)
        if service_time and (
            state is None or not state.service_time or service_time > state.service_time
        ):
            changed.append(service_time)
        self._states[key] = _ServiceState(service_time, pod_times)
        if state is None:
            return service_time
        return min(changed, default=None)

    def forget(self, key: str) -> None:
        self._states.pop(key, None)
