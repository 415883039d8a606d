"""What the API server does for itself: system namespaces and store compaction.

The four namespaces every cluster has are created at start (as kube-apiserver's system
namespaces controller does), and the revision log is compacted on a timer so history stays
bounded while recent watches can still resume.
"""

from __future__ import annotations

import logging

from kubeproc.api.errors import AlreadyExists
from kubeproc.api.resources import Registry
from kubeproc.apiserver.namespaces import SYSTEM_NAMESPACES
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.records import WriteOptions
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)
COMPACT_INTERVAL = 60.0
KEEP_REVISIONS = 10_000


def ensure_system_namespaces(objects: ObjectStore, registry: Registry) -> None:
    ns_rt = registry.get("", "v1", "namespaces")
    assert ns_rt is not None
    for name in SYSTEM_NAMESPACES:
        if objects.try_get(ns_rt, None, name) is not None:
            continue
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        try:
            objects.create(ns_rt, None, body, WriteOptions(field_manager="kube-apiserver"))
        except AlreadyExists:
            continue


async def compact_periodically(
    objects: ObjectStore,
    clock: Clock,
    interval: float = COMPACT_INTERVAL,
    keep: int = KEEP_REVISIONS,
) -> None:
    while True:
        await clock.sleep(interval)
        revision = objects.store.compact(keep)
        log.debug("store compacted below revision=%d", revision)
