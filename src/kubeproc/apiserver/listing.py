"""Lists: selector matching, ``limit`` pages, and the continue tokens that chain them.

Owns what a list request means over the revision log, as kube-apiserver's storage does:
label and field selectors filter, ``limit`` cuts a page, and the continue token carries the
last key served and the revision of the first page, so every page reports that revision
(a client that watches from it then replays the changes made to earlier pages while it
paged). A token older than the compacted revision is a 410. Talks to the store for reads
only; the watch translation shares ``matches``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from kubeproc.api.errors import BadRequest, Gone
from kubeproc.api.resources import ResourceType
from kubeproc.api.selectors import FieldSelector, LabelSelector, field_set
from kubeproc.apiserver.codec import DecodedCache, present
from kubeproc.apiserver.records import ListResult
from kubeproc.storage import SqliteStore

# How many keys one store read fetches while filling a limited page.
_MIN_BATCH = 500


def matches(
    rt: ResourceType,
    obj: dict[str, Any],
    labels: LabelSelector | None,
    fields: FieldSelector | None,
) -> bool:
    """Whether ``obj`` is selected by both selectors (``None`` selects everything)."""
    if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
        return False
    return fields is None or fields.matches(field_set(rt, obj))


def list_page(
    store: SqliteStore,
    cache: DecodedCache,
    rt: ResourceType,
    namespace: str | None,
    *,
    labels: LabelSelector | None,
    fields: FieldSelector | None,
    limit: int,
    continue_token: str,
) -> ListResult:
    """One page of a list: up to ``limit`` selected objects (0: all) after the token's key."""
    start_after, revision = decode_continue(continue_token, store.compact_revision)
    revision = revision or store.revision
    items, more = _collect(
        store,
        cache,
        rt,
        rt.prefix(namespace),
        start_after,
        labels=labels,
        fields=fields,
        limit=limit,
    )
    token = ""
    if more and items:
        last = items[-1]["metadata"]
        token = encode_continue(rt.key(last.get("namespace"), last["name"]), revision)
    return ListResult(items, str(revision), token)


def _collect(
    store: SqliteStore,
    cache: DecodedCache,
    rt: ResourceType,
    prefix: str,
    cursor: str | None,
    *,
    labels: LabelSelector | None,
    fields: FieldSelector | None,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """The selected objects after ``cursor``, and whether more remain past ``limit``."""
    items: list[dict[str, Any]] = []
    more = False
    batch = max(limit, _MIN_BATCH) if limit else 0
    while True:
        kvs, has_more = store.list(prefix, start_after=cursor, limit=batch)
        for kv in kvs:
            obj = cache.decode(kv)
            if matches(rt, obj, labels, fields):
                if limit and len(items) >= limit:
                    more = True
                    break
                items.append(present(rt, obj))
        if more or not has_more or not kvs:
            return items, more or (has_more and bool(limit) and len(items) >= limit)
        cursor = kvs[-1].key


def encode_continue(key: str, revision: int) -> str:
    """The token that resumes a list after ``key``, at the first page's ``revision``."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str, compacted: int) -> tuple[str | None, int]:
    """Where a continued list starts and the revision of its first page (0: no token)."""
    if not token:
        return None, 0
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        start = str(data["start"]).rstrip("\x00")
        revision = int(data["rv"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest(
            "continue key is not valid: incorrect encoded start resourceVersion "
            "(version meta.k8s.io/v1)"
        ) from None
    if revision < compacted:
        raise Gone(
            "The provided continue parameter is too old to display a consistent list result. "
            "You can start a new list without the continue parameter."
        )
    return start, revision
