"""The status manager: a versioned cache of pod statuses, written to the API when they change.

As the kubelet's status_manager.go: pod workers ``set`` a freshly generated status; the
manager stamps condition transition times (kept while a condition's status holds) and
``startTime``, bumps the pod's version only when something changed, and a single writer
task PUTs ``pods/<name>/status`` for every pod whose cached version is newer than the
one last written, so bursts of updates coalesce into one write. Every ``status_resync``
it also compares each cached status with what the API holds and rewrites strays.

It is also where a graceful deletion ends: once the pod workers report a deleted pod
finished (containers stopped, sandbox removed), the manager DELETEs the pod with
``gracePeriodSeconds: 0`` and a UID precondition, as the kubelet does.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import ResourceType
from kubeproc.client import ApiClient
from kubeproc.kubelet.status import KUBELET_CONDITIONS
from kubeproc.kubelet.timing import wait_event
from kubeproc.util.clock import Clock, rfc3339

log = logging.getLogger(__name__)

# Status fields the kubelet owns; anything else (nominatedNodeName, resize …) is kept.
OWNED = frozenset(
    {
        "phase",
        "reason",
        "message",
        "conditions",
        "hostIP",
        "hostIPs",
        "podIP",
        "podIPs",
        "startTime",
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
        "qosClass",
    }
)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    """A comparable form; nulls dropped, as a server may store ``lastProbeTime: null`` or not."""
    return json.dumps(_without_nulls(value), sort_keys=True, separators=(",", ":"))


def stamp_status(
    new: dict[str, Any], old: dict[str, Any] | None, now: dt.datetime
) -> dict[str, Any]:
    """Transition times and startTime: unchanged conditions keep their old times."""
    old = old or {}
    before = {c.get("type"): c for c in old.get("conditions") or []}
    stamped = copy.deepcopy(new)
    conditions = []
    for raw in stamped.get("conditions") or []:
        cond = dict(raw)
        prev = before.get(cond.get("type"))
        if cond.get("type") in KUBELET_CONDITIONS:
            cond = {"lastProbeTime": None, **cond}
            if prev is not None and prev.get("status") == cond.get("status"):
                cond["lastTransitionTime"] = prev.get("lastTransitionTime") or rfc3339(now)
            else:
                cond["lastTransitionTime"] = rfc3339(now)
        conditions.append(cond)
    stamped["conditions"] = conditions
    stamped["startTime"] = old.get("startTime") or stamped.get("startTime") or rfc3339(now)
    return stamped


@dataclass
class _Cached:
    version: int
    status: dict[str, Any]
    namespace: str
    name: str


WRITERS = 8
"""Status writes in flight at once (distinct pods; one pod's writes stay in order)."""


class StatusManager:
    def __init__(
        self,
        client: ApiClient,
        pods_rt: ResourceType,
        clock: Clock,
        *,
        resync: float = 10.0,
        pod_lookup: Callable[[str], dict[str, Any] | None],
        pod_finished: Callable[[str], bool],
    ) -> None:
        self.client = client
        self.pods_rt = pods_rt
        self.clock = clock
        self.resync = resync
        self.pod_lookup = pod_lookup
        self.pod_finished = pod_finished
        self._cache: dict[str, _Cached] = {}
        self._written: dict[str, int] = {}
        self._latest: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()

    def get(self, uid: str) -> dict[str, Any] | None:
        cached = self._cache.get(uid)
        return cached.status if cached is not None else None

    def set(self, pod: dict[str, Any], status: dict[str, Any]) -> bool:
        """Cache ``status`` for ``pod``; True (and a write queued) when it changed."""
        meta = pod["metadata"]
        uid = meta["uid"]
        cached = self._cache.get(uid)
        old = cached.status if cached is not None else pod.get("status")
        stamped = stamp_status(status, old, self.clock.now())
        if cached is not None and _canonical(cached.status) == _canonical(stamped):
            return False
        version = cached.version + 1 if cached is not None else 1
        self._cache[uid] = _Cached(version, stamped, meta.get("namespace", ""), meta["name"])
        self._dirty.add(uid)
        self._wake.set()
        return True

    def poke(self, uid: str) -> None:
        """Re-check this pod now (its pod worker finished: a deletion may be due)."""
        self._dirty.add(uid)
        self._wake.set()

    def forget(self, uid: str) -> None:
        self._cache.pop(uid, None)
        self._written.pop(uid, None)
        self._latest.pop(uid, None)

    async def run(self) -> None:
        last_full = self.clock.monotonic()
        while True:
            await wait_event(self._wake, self.clock, self.resync)
            self._wake.clear()
            full = self.clock.monotonic() - last_full >= self.resync
            if full:
                last_full = self.clock.monotonic()
            await self.sync_all(full=full)

    async def sync_all(self, *, full: bool = False) -> None:
        """Write what changed (every cached pod when ``full``), several writes at a time.

        Only pods marked since the last pass are looked at, so a readiness flip costs one
        write however many pods the node runs; a pod marked again during the pass is
        written again in the next.
        """
        uids = list(self._cache) if full else [u for u in self._dirty if u in self._cache]
        self._dirty.clear()
        if not uids:
            return
        slots = asyncio.Semaphore(WRITERS)

        async def sync(uid: str) -> None:
            async with slots:
                try:
                    await self._sync(uid, full)
                except errors.StatusError as err:
                    log.warning("pod status not written uid=%s error=%s", uid, err)

        async with asyncio.TaskGroup() as tg:
            for uid in uids:
                tg.create_task(sync(uid))

    def _current_pod(self, uid: str) -> dict[str, Any] | None:
        pod = self.pod_lookup(uid)
        latest = self._latest.get(uid)
        if pod is None:
            return None
        if latest is not None and _rv(latest) > _rv(pod):
            return latest
        return pod

    async def _sync(self, uid: str, full: bool) -> None:
        cached = self._cache.get(uid)
        if cached is None:
            return
        pod = self._current_pod(uid)
        if pod is None or pod["metadata"].get("uid") != uid:
            self.forget(uid)
            return
        api = _owned(pod.get("status") or {})
        differs = _canonical(_owned(_merged(api, cached.status))) != _canonical(api)
        if differs and (full or self._written.get(uid, 0) < cached.version):
            await self._write(uid, cached, pod)
        pod = self._current_pod(uid) or pod
        if pod["metadata"].get("deletionTimestamp") and self.pod_finished(uid):
            await self._delete(uid, cached)

    async def _write(self, uid: str, cached: _Cached, pod: dict[str, Any]) -> None:
        for attempt in range(2):
            body = copy.deepcopy(pod)
            body["status"] = _merged(pod.get("status") or {}, cached.status)
            try:
                updated = await self.client.update(
                    self.pods_rt, cached.namespace, cached.name, body, subresource="status"
                )
            except errors.Conflict:
                if attempt:
                    raise
                pod = await self.client.get(self.pods_rt, cached.namespace, cached.name)
                if pod["metadata"].get("uid") != uid:
                    self.forget(uid)
                    return
                continue
            except errors.NotFound:
                self.forget(uid)
                return
            self._written[uid] = cached.version
            self._latest[uid] = updated
            log.debug(
                "pod status written pod=%s/%s phase=%s",
                cached.namespace,
                cached.name,
                cached.status.get("phase"),
            )
            return

    async def _delete(self, uid: str, cached: _Cached) -> None:
        options = {"gracePeriodSeconds": 0, "preconditions": {"uid": uid}}
        try:
            await self.client.delete(self.pods_rt, cached.namespace, cached.name, options=options)
            log.info("pod deleted pod=%s/%s", cached.namespace, cached.name)
        except (errors.NotFound, errors.Conflict):
            pass
        self.forget(uid)


def _owned(status: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k in OWNED}


def _merged(api: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """Our fields over the API's others; conditions others own stay as the API has them."""
    merged = {k: v for k, v in api.items() if k not in OWNED}
    merged.update(ours)
    foreign = [c for c in api.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    mine = [c for c in ours.get("conditions") or [] if c.get("type") in KUBELET_CONDITIONS]
    merged["conditions"] = foreign + mine
    return merged


def _rv(pod: dict[str, Any]) -> int:
    try:
        return int(pod["metadata"].get("resourceVersion", "0"))
    except ValueError:
        return 0
