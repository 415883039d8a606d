"""Which ReplicaSet is a Deployment's new one, what it is called, and its revision history.

Owns the bookkeeping upstream keeps in ``deployment/util`` and ``controller.ComputeHash``:

- the ``pod-template-hash``: FNV-1a (32 bit) of the pod template plus the deployment's
  ``collisionCount`` (as eight little-endian bytes), printed in decimal and passed through
  the "safe" alphabet, so names read like upstream's (``web-7d9c6b9f4``). Upstream hashes a
  Go pretty-printer dump of the typed struct; we hash canonical JSON of the template, so the
  value differs from a real cluster's for the same template but has the same shape and the
  same stability (the name is deterministic, so a retried create meets AlreadyExists);
- template equality ignoring that label, with Go's "nil equals empty" semantics, so a
  template patched back by ``kubectl rollout undo`` finds its old ReplicaSet again;
- revisions (``deployment.kubernetes.io/revision``), the ``revision-history`` list a
  ReplicaSet keeps when a rollback revives it, the annotations a deployment passes on to
  its new ReplicaSet and the ``desired-replicas``/``max-replicas`` pair;
- which old ReplicaSets ``revisionHistoryLimit`` lets go.

Pure functions over the JSON objects; ``deployment`` does the writes.
"""

from __future__ import annotations

import copy
import json
import struct
from collections.abc import Sequence
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
POD_TEMPLATE_HASH = "pod-template-hash"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to"

# Upstream's limit on the revision-history annotation (``maxRevHistoryLengthInChars``).
MAX_REVISION_HISTORY_CHARS = 2000

# Annotations that describe the ReplicaSet itself, never copied between the two kinds.
SKIPPED_ANNOTATIONS = frozenset(
    {
        LAST_APPLIED,
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        DEPRECATED_ROLLBACK_TO,
    }
)

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes, start: int = _FNV_OFFSET) -> int:
    h = start
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """Upstream's ``rand.SafeEncodeString``: no vowels, no look-alike digits."""
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def compute_hash(template: dict[str, Any], collision_count: int | None) -> str:
    """The ``pod-template-hash`` of ``template`` (see the module docstring)."""
    canonical = json.dumps(_normalized(template), sort_keys=True, separators=(",", ":"))
    h = fnv32a(canonical.encode())
    if collision_count is not None:
        h = fnv32a(struct.pack("<II", collision_count & 0xFFFFFFFF, 0), h)
    return safe_encode(str(h))


def _normalized(value: Any) -> Any:
    """``value`` without nulls and empty maps or lists: what Go's semantic equality ignores."""
    if isinstance(value, dict):
        out = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v not in ({}, [])}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    clean = copy.deepcopy(template)
    labels = (clean.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    normalized: dict[str, Any] = _normalized(clean)
    return normalized


def equal_ignore_hash(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return template_without_hash(a) == template_without_hash(b)


def template_of(obj: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = (obj.get("spec") or {}).get("template") or {}
    return template


def created_key(obj: dict[str, Any]) -> tuple[str, str]:
    """Upstream's ``ReplicaSetsByCreationTimestamp``: oldest first, then by name."""
    meta = obj["metadata"]
    return (str(meta.get("creationTimestamp") or ""), str(meta["name"]))


def revision(obj: dict[str, Any]) -> int | None:
    """The revision annotation; 0 when absent, None when it does not parse."""
    text = (obj["metadata"].get("annotations") or {}).get(REVISION)
    if text is None:
        return 0
    try:
        return int(text)
    except ValueError:
        return None


def max_revision(replica_sets: Sequence[dict[str, Any]]) -> int:
    return max((r for rs in replica_sets if (r := revision(rs)) is not None), default=0)


def find_new(
    deployment: dict[str, Any], replica_sets: Sequence[dict[str, Any]]
) -> dict[str, Any] | None:
    """The oldest ReplicaSet whose template is the deployment's (hash label aside)."""
    wanted = template_without_hash(template_of(deployment))
    for rs in sorted(replica_sets, key=created_key):
        if template_without_hash(template_of(rs)) == wanted:
            return rs
    return None


def new_rs_annotations(
    deployment: dict[str, Any],
    current: dict[str, str],
    new_revision: int,
    *,
    exists: bool,
    replicas_annotations: tuple[int, int],
) -> dict[str, str]:
    """The annotations the new ReplicaSet should carry (``SetNewReplicaSetAnnotations``).

    The deployment's own annotations are copied (the skipped ones aside); the revision only
    ever goes up, and when it moves on an existing ReplicaSet (a rollback revived it) the
    revision it had is appended to ``revision-history``. A ReplicaSet about to be created
    also gets ``desired-replicas`` and ``max-replicas``.
    """
    out = dict(current)
    for key, value in (deployment["metadata"].get("annotations") or {}).items():
        if key not in SKIPPED_ANNOTATIONS:
            out[key] = value
    old_text = current.get(REVISION)
    try:
        old = int(old_text) if old_text is not None else 0
    except ValueError:
        return dict(current)
    if old < new_revision:
        out[REVISION] = str(new_revision)
        if old_text is not None:
            out = _with_history(out, old_text)
    if not exists:
        desired, maximum = replicas_annotations
        out[DESIRED_REPLICAS] = str(desired)
        out[MAX_REPLICAS] = str(maximum)
    return out


def _with_history(annotations: dict[str, str], old_revision: str) -> dict[str, str]:
    history = annotations.get(REVISION_HISTORY, "")
    if not history:
        return {**annotations, REVISION_HISTORY: old_revision}
    entries = history.split(",")
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > MAX_REVISION_HISTORY_CHARS and start < len(entries):
        total -= len(entries[start]) + 1
        start += 1
    if total > MAX_REVISION_HISTORY_CHARS:
        return annotations
    return {**annotations, REVISION_HISTORY: ",".join([*entries[start:], old_revision])}


def replicas_annotations_differ(rs: dict[str, Any], desired: int, maximum: int) -> bool:
    annotations = rs["metadata"].get("annotations") or {}
    return annotations.get(DESIRED_REPLICAS) != str(desired) or annotations.get(
        MAX_REPLICAS
    ) != str(maximum)


def new_replica_set(
    deployment: dict[str, Any],
    *,
    pod_template_hash: str,
    replicas: int,
    annotations: dict[str, str],
    owner_ref: dict[str, Any],
) -> dict[str, Any]:
    """The body of the ReplicaSet a deployment creates for its current template."""
    meta = deployment["metadata"]
    spec = deployment.get("spec") or {}
    template = copy.deepcopy(template_of(deployment))
    tmeta = template.setdefault("metadata", {})
    labels = {**(tmeta.get("labels") or {}), POD_TEMPLATE_HASH: pod_template_hash}
    tmeta["labels"] = labels
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {
        **(selector.get("matchLabels") or {}),
        POD_TEMPLATE_HASH: pod_template_hash,
    }
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_template_hash}",
            "namespace": meta.get("namespace"),
            "labels": dict(labels),
            "annotations": annotations,
            "ownerReferences": [owner_ref],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": int(spec.get("minReadySeconds") or 0),
            "selector": selector,
            "template": template,
        },
    }
    return body


def history_to_delete(
    old_replica_sets: Sequence[dict[str, Any]], limit: int | None
) -> list[dict[str, Any]]:
    """Old ReplicaSets past ``revisionHistoryLimit``, lowest revision first (``cleanupDeployment``).

    Only empty ones that their controller has caught up with are deleted; a busy one keeps
    its place and the list is just shorter this time."""
    if limit is None:
        return []
    alive = [rs for rs in old_replica_sets if not rs["metadata"].get("deletionTimestamp")]
    surplus = len(alive) - limit
    if surplus <= 0:
        return []

    def by_revision(rs: dict[str, Any]) -> tuple[int, str, str]:
        rev = revision(rs)
        return (rev if rev is not None else -1, *created_key(rs))

    victims = []
    for rs in sorted(alive, key=by_revision)[:surplus]:
        status = rs.get("status") or {}
        generation = int(rs["metadata"].get("generation") or 0)
        if (
            int(status.get("replicas") or 0) != 0
            or int((rs.get("spec") or {}).get("replicas") or 0) != 0
        ):
            continue
        if generation > int(status.get("observedGeneration") or 0):
            continue
        victims.append(rs)
    return victims


def last_revision(replica_sets: Sequence[dict[str, Any]]) -> int:
    """The second highest revision (what ``rollout undo`` without ``--to-revision`` picks)."""
    top = second = 0
    for rs in replica_sets:
        rev = revision(rs)
        if rev is None:
            continue
        if rev >= top:
            top, second = rev, top
        elif rev > second:
            second = rev
    return second
