"""The patch algebra the API server applies to objects (plain JSON dicts).

The PATCH handler picks one function by ``Content-Type`` and hands it the stored object:
``strategic_merge`` (``application/strategic-merge-patch+json``), ``json_merge``
(``application/merge-patch+json``), ``json_patch`` (``application/json-patch+json``) and
``apply`` (``application/apply-patch+yaml``, server-side apply). Every create, update and
non-apply patch then passes through ``track_update`` so ``metadata.managedFields`` keeps
saying who set what; that is what later makes an apply conflict. Failures are
``kubeproc.api.errors`` exceptions carrying the ``Status`` kube-apiserver would send.

``strategies`` holds the per-kind merge metadata (merge keys, list types) that both
strategic merge and server-side apply read; the other modules are private.
"""

from kubeproc.api.patch.apply import LAST_APPLIED, apply, build_last_applied, track_update
from kubeproc.api.patch.fieldset import FieldSet, path_string
from kubeproc.api.patch.goerrors import GENERIC_422, Unprocessable
from kubeproc.api.patch.jsonmerge import json_merge
from kubeproc.api.patch.jsonpatch import MAX_OPERATIONS, json_patch
from kubeproc.api.patch.strategic import strategic_merge
from kubeproc.api.patch.strategies import ListType, Schema, reset_fields, schema_for, zero_object

__all__ = [
    "GENERIC_422",
    "LAST_APPLIED",
    "MAX_OPERATIONS",
    "FieldSet",
    "ListType",
    "Schema",
    "Unprocessable",
    "apply",
    "build_last_applied",
    "json_merge",
    "json_patch",
    "path_string",
    "reset_fields",
    "schema_for",
    "strategic_merge",
    "track_update",
    "zero_object",
]
