"""Events a component records about the objects it manages (``kubectl describe`` shows them).

A deliberately small recorder: one core/v1 Event per call, named ``<object>.<hex
nanoseconds>`` as client-go names them, with the controller as source and reporting
component. Unlike the kubelet's recorder there is no correlation (controllers record a
handful of events per rollout, not a stream), and a failed write is logged and dropped:
an event is never a reason to fail or retry a sync.
"""

from __future__ import annotations

import logging
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import ResourceType
from kubeproc.client import ApiClient
from kubeproc.util.clock import Clock, rfc3339

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"


class ControllerEvents:
    def __init__(
        self, client: ApiClient, events_rt: ResourceType, clock: Clock, *, component: str
    ) -> None:
        self.client = client
        self.events_rt = events_rt
        self.clock = clock
        self.component = component
        self._last_nanos = 0

    def _name(self, object_name: str) -> str:
        nanos = int(self.clock.now().timestamp() * 1_000_000_000)
        nanos = max(nanos, self._last_nanos + 1)  # unique even on a frozen clock
        self._last_nanos = nanos
        return f"{object_name}.{nanos:x}"

    async def record(
        self, obj: dict[str, Any], rt: ResourceType, type_: str, reason: str, message: str
    ) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        stamp = rfc3339(self.clock.now())
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": self._name(meta["name"]), "namespace": namespace},
            "involvedObject": {
                "kind": rt.kind,
                "namespace": namespace,
                "name": meta["name"],
                "uid": meta.get("uid", ""),
                "apiVersion": rt.api_version,
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "source": {"component": self.component},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": "",
        }
        try:
            await self.client.create(self.events_rt, namespace, body)
        except errors.StatusError as err:
            log.warning("event not written reason=%s error=%s", reason, err)
