"""What a replica controller does to pods: make them from a template, claim them.

Owns the pieces upstream keeps in ``controller_utils.go`` and the ``ControllerRefManager``:
the controller ownerReference (``controller: true, blockOwnerDeletion: true``), the pod a
template stands for (``generateName: <owner>-``, the template's labels, annotations and
finalizers), ``slow_start_batch`` (creations in doubling batches that stop at the first
failure, so a quota error costs one request, not hundreds), and ``claim_pods``: adopt
matching orphans, release owned pods whose labels no longer match. Adoption re-reads the
owner live first, so a cache that lags never adopts for an owner being deleted.
Ownership changes are JSON merge patches carrying the pod's resourceVersion, so a
concurrent change makes the patch fail (and the sync retry) instead of losing a reference.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import ResourceType
from kubeproc.api.selectors import LabelSelector
from kubeproc.client import ApiClient, object_key
from kubeproc.controllers.podranking import Pod

log = logging.getLogger(__name__)

SLOW_START_INITIAL_BATCH = 1


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            found: dict[str, Any] = ref
            return found
    return None


def controller_ref(owner: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_from_template(owner: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    """The pod ``owner`` creates: its template, ``generateName: <owner>-``, a controller ref."""
    template = owner.get("spec", {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    meta: dict[str, Any] = {
        "generateName": f"{owner['metadata']['name']}-",
        "namespace": owner["metadata"].get("namespace", "default"),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [controller_ref(owner, rt)],
    }
    for field in ("annotations", "finalizers"):
        if tmeta.get(field):
            meta[field] = copy.deepcopy(tmeta[field])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


async def slow_start_batch(
    count: int, initial: int, fn: Callable[[], Awaitable[None]]
) -> tuple[int, Exception | None]:
    """Call ``fn`` ``count`` times in doubling concurrent batches; stop after a failing one.

    Returns the number of successful calls and the first error."""
    remaining, successes, batch = count, 0, min(count, initial)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        successes += batch - len(failures)
        if failures:
            first = failures[0]
            if not isinstance(first, Exception):
                raise first
            return successes, first
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


async def claim_pods(
    client: ApiClient,
    *,
    pods_rt: ResourceType,
    owner_rt: ResourceType,
    owner: dict[str, Any],
    selector: LabelSelector,
    pods: list[Pod],
) -> list[Pod]:
    """The pods ``owner`` controls after adopting matching orphans and releasing misfits."""
    uid = owner["metadata"]["uid"]
    deleting = bool(owner["metadata"].get("deletionTimestamp"))
    claimed: list[Pod] = []
    can_adopt: bool | None = None
    for pod in pods:
        ref = controller_of(pod)
        refs = list(pod["metadata"].get("ownerReferences") or [])
        matches = selector.matches(pod["metadata"].get("labels") or {})
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                claimed.append(pod)
            elif not deleting:
                kept = [r for r in refs if r.get("uid") != uid]
                await _set_owner_refs(client, pods_rt, pod, kept)
            continue
        if deleting or not matches or pod["metadata"].get("deletionTimestamp"):
            continue
        if can_adopt is None:
            can_adopt = await _can_adopt(client, owner_rt, owner)
        if not can_adopt:
            continue
        adopted = await _set_owner_refs(
            client, pods_rt, pod, [*refs, controller_ref(owner, owner_rt)]
        )
        if adopted is not None:
            claimed.append(adopted)
    return claimed


async def _can_adopt(client: ApiClient, owner_rt: ResourceType, owner: dict[str, Any]) -> bool:
    meta = owner["metadata"]
    try:
        fresh = await client.get(owner_rt, meta.get("namespace"), meta["name"])
    except errors.NotFound:
        return False
    fmeta = fresh["metadata"]
    return fmeta.get("uid") == meta["uid"] and not fmeta.get("deletionTimestamp")


async def _set_owner_refs(
    client: ApiClient, pods_rt: ResourceType, pod: Pod, refs: list[dict[str, Any]]
) -> Pod | None:
    meta = pod["metadata"]
    patch = {"metadata": {"ownerReferences": refs, "resourceVersion": meta["resourceVersion"]}}
    try:
        patched = await client.patch(pods_rt, meta.get("namespace"), meta["name"], patch)
    except errors.NotFound:
        return None
    log.info("pod owners changed pod=%s owners=%d", object_key(pod), len(refs))
    return patched
