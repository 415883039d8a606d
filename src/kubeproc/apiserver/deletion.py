"""Deletion decisions: what a delete, or a write to an object being deleted, does to it.

Owns the generic registry's deletion rules as pure functions the object store applies:
preconditions (uid, resourceVersion), the propagation policy's finalizer (``orphan``,
``foregroundDeletion``), graceful deletion (``deletionTimestamp`` and a grace period that
may only shrink), the namespace's ``Terminating`` phase, and when an object being deleted
may finally go (no finalizers, no kubelet still stopping its pod, no namespace content).
Shaped as compute-then-apply, like the kubelet's runtime: ``plan_delete`` says what
should happen and the store does it under optimistic concurrency, so the rules are
tested without a store.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from kubeproc.api.errors import Conflict, Invalid, forbidden
from kubeproc.api.resources import ResourceType
from kubeproc.apiserver import strategy
from kubeproc.apiserver.namespaces import is_namespace
from kubeproc.apiserver.records import DeleteOptions
from kubeproc.util.clock import rfc3339

# The finalizer each propagation policy leaves for the garbage collector.
_POLICY_FINALIZERS = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}


@dataclass(frozen=True)
class DeletePlan:
    """What a delete does: remove the object now (``marked`` is None) or store ``marked``."""

    marked: dict[str, Any] | None


def check_preconditions(
    rt: ResourceType, name: str, obj: dict[str, Any], opts: DeleteOptions
) -> None:
    """DeleteOptions' preconditions: a 409 when the uid or resourceVersion differs."""
    meta = obj["metadata"]
    if opts.precondition_uid and opts.precondition_uid != meta.get("uid"):
        raise Conflict(
            f"Precondition failed: UID in precondition: {opts.precondition_uid}, "
            f"UID in object meta: {meta.get('uid')}",
            details={"name": name, "kind": rt.plural},
        )
    if opts.precondition_rv and opts.precondition_rv != meta["resourceVersion"]:
        raise Conflict(
            f"Precondition failed: ResourceVersion in precondition: "
            f"{opts.precondition_rv}, ResourceVersion in object meta: "
            f"{meta['resourceVersion']}",
            details={"name": name, "kind": rt.plural},
        )


def plan_delete(
    rt: ResourceType, old: dict[str, Any], opts: DeleteOptions, now: dt.datetime
) -> DeletePlan:
    """Remove at once when nothing holds the object, else mark it for deletion.

    ``old`` is left as is; ``marked`` equal to ``old`` means the delete changes nothing (a
    repeated delete of an object already being deleted).
    """
    new = copy.deepcopy(old)
    meta = new["metadata"]
    finalizers = list(meta.get("finalizers") or [])
    policy_finalizer = _POLICY_FINALIZERS.get(opts.propagation or default_propagation(rt))
    if policy_finalizer is not None and policy_finalizer not in finalizers:
        finalizers.append(policy_finalizer)
    grace = strategy.graceful_delete_seconds(rt, old, opts.grace_period)
    content_pending = False
    if is_namespace(rt):
        new.setdefault("status", {})["phase"] = "Terminating"
        content_pending = bool(new.get("spec", {}).get("finalizers"))
    if not finalizers and grace == 0 and not content_pending:
        return DeletePlan(None)
    if finalizers:
        meta["finalizers"] = finalizers
    # A shorter grace period may replace a longer one, never the reverse.
    if not meta.get("deletionTimestamp") or grace < int(
        meta.get("deletionGracePeriodSeconds", grace)
    ):
        meta["deletionTimestamp"] = rfc3339(now + dt.timedelta(seconds=grace))
        meta["deletionGracePeriodSeconds"] = grace
    return DeletePlan(new)


def default_propagation(rt: ResourceType) -> str:
    """The policy a delete that names none gets; every served kind defaults to Background."""
    return "Background"


def deletion_blocked(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """Whether an object being deleted must stay: finalizers, its kubelet, or its content.

    A namespace also waits for ``spec.finalizers`` (emptied through ``/finalize`` once the
    namespace controller deleted what it held), as the namespace registry's
    ``ShouldDeleteNamespaceDuringUpdate`` does; without this, dropping a ``foregroundDeletion``
    or ``orphan`` finalizer would remove a namespace whose content still exists.
    """
    if obj["metadata"].get("finalizers") or _awaits_kubelet(rt, obj):
        return True
    return is_namespace(rt) and bool(obj.get("spec", {}).get("finalizers"))


def _awaits_kubelet(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """A pod being deleted gracefully stays until its kubelet confirms (grace 0)."""
    if (rt.group, rt.kind) != ("", "Pod"):
        return False
    return int(obj["metadata"].get("deletionGracePeriodSeconds", 0)) > 0


def check_finalizer_changes(
    rt: ResourceType, name: str, old_meta: dict[str, Any], new_meta: dict[str, Any]
) -> None:
    """Once deletion started, finalizers may only be removed, never added.

    apimachinery's ``ValidateNoNewFinalizers``: a 422 on ``metadata.finalizers`` naming the
    new ones as Go prints a sorted ``[]string`` with ``%#v``.
    """
    old = set(old_meta.get("finalizers") or [])
    added = sorted({str(f) for f in new_meta.get("finalizers") or [] if f not in old})
    if added:
        listed = ", ".join(json.dumps(f) for f in added)
        detail = (
            "no new finalizers can be added if the object is being deleted, found new "
            f"finalizers []string{{{listed}}}"
        )
        raise Invalid.of(rt.kind, rt.group, name, [forbidden("metadata.finalizers", detail)])
