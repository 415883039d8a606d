"""JSON merge patch (RFC 7386, ``application/merge-patch+json``) as kube-apiserver applies it.

Owns ``json_merge``. The apiserver's PATCH handler uses it for merge patches, which is
what ``kubectl scale`` sends to ``/scale`` and ``kubectl patch --type merge`` sends.

kube-apiserver applies merge patches with evanphx/json-patch (v4), so this follows that
library where it is stricter than the RFC: a body that is not a JSON object is refused
with ``Invalid JSON Patch`` (400), and ``null`` members are pruned from objects the patch
adds, including objects nested inside added arrays. Lists are always replaced whole.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeproc.api.errors import BadRequest

BAD_PATCH = "Invalid JSON Patch"


def json_merge(original: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply an RFC 7386 merge patch to ``original``; neither input is changed."""
    if not isinstance(patch, dict):
        raise BadRequest(BAD_PATCH)
    doc = copy.deepcopy(original)
    _merge_into(doc, copy.deepcopy(patch))
    return doc


def _merge_into(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
            continue
        current = doc.get(key)
        if not isinstance(current, dict):
            # Nothing to merge into: the patch value replaces it, its nulls pruned.
            doc[key] = _prune_nulls(value)
        elif isinstance(value, dict):
            _merge_into(current, value)
        else:
            doc[key] = value


def _prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) if v is not None else None for v in value]
    return value
