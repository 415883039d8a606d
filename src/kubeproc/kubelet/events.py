"""The kubelet's event recorder: pod events with the kubelet's reasons and v1.33 wording.

Recording never blocks a pod worker: ``event`` queues (bounded, oldest dropped, as
client-go's broadcaster drops when its buffer is full) and ``run`` writes. Each event is
correlated first (``eventcorrelator``: similar events combined, repeats counted, spam
dropped), as client-go's recorder does; a repeat PATCHes ``count``, ``lastTimestamp``
and ``message`` of the event it repeats, and new events are named
``<pod>.<hex nanoseconds>``.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from kubeproc.api import errors
from kubeproc.api.resources import ResourceType
from kubeproc.client import ApiClient
from kubeproc.kubelet.eventcorrelator import EventCorrelator, EventFacts, Write
from kubeproc.util.clock import Clock, rfc3339

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"

# Reasons (pkg/kubelet/events/event.go).
PULLED = "Pulled"
CREATED = "Created"
STARTED = "Started"
FAILED = "Failed"
KILLING = "Killing"
BACKOFF = "BackOff"
FAILED_MOUNT = "FailedMount"
FAILED_CREATE_SANDBOX = "FailedCreatePodSandBox"
SANDBOX_CHANGED = "SandboxChanged"
FAILED_POST_START_HOOK = "FailedPostStartHook"
FAILED_PRE_STOP_HOOK = "FailedPreStopHook"
INVALID_ENV_NAMES = "InvalidEnvironmentVariableNames"
DNS_CONFIG_FORMING = "DNSConfigForming"

_BUFFER = 1000


def pulled_message(image: str) -> str:
    """v1.33 (≤1.34) text; images are never pulled: the host's programs run."""
    return f'Container image "{image}" already present on machine'


def created_message(container: str) -> str:
    return f"Created container: {container}"


def started_message(container: str) -> str:
    return f"Started container {container}"


def field_path(container: str, *, init: bool) -> str:
    return f"spec.{'initContainers' if init else 'containers'}{{{container}}}"


class EventSink(Protocol):
    """Where pod sync reports events (the recorder; a list in tests)."""

    def event(
        self, pod: dict[str, Any], type_: str, reason: str, message: str, *, field_path: str = ""
    ) -> None: ...


@dataclass(frozen=True)
class _Pending:
    namespace: str
    involved: dict[str, Any]
    type: str
    reason: str
    write: Write
    at: dt.datetime


class EventRecorder:
    """Queues kubelet events and writes them, correlated as client-go does."""

    def __init__(
        self, client: ApiClient, events_rt: ResourceType, clock: Clock, *, node_name: str
    ) -> None:
        self.client = client
        self.events_rt = events_rt
        self.clock = clock
        self.node_name = node_name
        self._queue: collections.deque[_Pending] = collections.deque(maxlen=_BUFFER)
        self._wake = asyncio.Event()
        self._correlator = EventCorrelator()
        self._last_nanos = 0

    def event(
        self, pod: dict[str, Any], type_: str, reason: str, message: str, *, field_path: str = ""
    ) -> None:
        """Record an event about ``pod`` (a container when ``field_path`` names one)."""
        meta = pod.get("metadata", {})
        involved = {
            "kind": "Pod",
            "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": "v1",
        }
        if meta.get("resourceVersion"):
            involved["resourceVersion"] = meta["resourceVersion"]
        if field_path:
            involved["fieldPath"] = field_path
        log.debug(
            "event pod=%s/%s reason=%s message=%s",
            involved["namespace"],
            involved["name"],
            reason,
            message,
        )
        now = self.clock.now()
        facts = EventFacts(
            source=("kubelet", self.node_name),
            involved=tuple(
                involved.get(k, "")
                for k in ("kind", "namespace", "name", "uid", "apiVersion", "fieldPath")
            ),
            type=type_,
            reason=reason,
            message=message,
        )
        write = self._correlator.correlate(
            facts, now.timestamp(), self._name(involved["name"], now)
        )
        if write is None:
            log.debug("event dropped by the spam filter reason=%s", reason)
            return
        self._queue.append(_Pending(involved["namespace"], involved, type_, reason, write, now))
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                pending = self._queue.popleft()
                try:
                    await self._write(pending)
                except errors.StatusError as err:
                    log.warning("event not written reason=%s error=%s", pending.reason, err)

    async def flush(self) -> None:
        """Write everything queued now (tests, and shutdown)."""
        while self._queue:
            await self._write(self._queue.popleft())

    def _name(self, pod_name: str, at: dt.datetime) -> str:
        nanos = int(at.timestamp() * 1_000_000_000)
        nanos = max(nanos, self._last_nanos + 1)  # unique even on a frozen clock
        self._last_nanos = nanos
        return f"{pod_name}.{nanos:x}"

    async def _write(self, p: _Pending) -> None:
        w = p.write
        stamp = rfc3339(p.at)
        if not w.create:
            try:
                await self.client.patch(
                    self.events_rt,
                    p.namespace,
                    w.name,
                    {"count": w.count, "lastTimestamp": stamp, "message": w.message},
                )
                return
            except errors.NotFound:
                pass  # expired meanwhile: create it again, with the count it has reached
        first = rfc3339(dt.datetime.fromtimestamp(w.first_seen, tz=dt.UTC))
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": w.name, "namespace": p.namespace},
            "involvedObject": p.involved,
            "reason": p.reason,
            "message": w.message,
            "source": {"component": "kubelet", "host": self.node_name},
            "firstTimestamp": first,
            "lastTimestamp": stamp,
            "count": w.count,
            "type": p.type,
            "eventTime": None,
            "reportingComponent": "kubelet",
            "reportingInstance": self.node_name,
        }
        await self.client.create(self.events_rt, p.namespace, body)
