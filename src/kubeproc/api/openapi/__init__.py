"""OpenAPI v3 for kubeproc: the schemas of the served kinds, the documents, strict fields.

What kubectl needs from ``/openapi/v3`` (see the wire spec, sections 6 and 7.9): a root
document naming each group-version, and per group-version a document whose PATCH
operations advertise ``fieldValidation`` (so ``create -f``/``apply -f`` leave validation
to the server) and whose ``components.schemas`` let ``kubectl explain`` walk any field.

The public door is small:

* ``root_document()``, ``group_version_document(path)`` and ``document_bytes(path)`` for the
  apiserver's ``/openapi/v3`` handler (static, built and serialized once);
* ``unknown_fields(group, version, kind, obj)`` plus the message helpers for
  ``fieldValidation=Strict`` and ``Warn``, and ``prune_unknown`` for the body that is kept;
* ``catalog()`` for code that wants the schema tables themselves.

No I/O; nothing here imports above ``kubeproc.api``.
"""

from __future__ import annotations

from kubeproc.api.openapi.catalog import Catalog, build_catalog, catalog, schema_name
from kubeproc.api.openapi.document import (
    document_bytes,
    group_version_document,
    group_version_paths,
    root_document,
)
from kubeproc.api.openapi.strict import (
    prune_unknown,
    strict_decoding_message,
    strict_error_message,
    strict_warnings,
    unknown_field_error,
    unknown_fields,
)

__all__ = [
    "Catalog",
    "build_catalog",
    "catalog",
    "document_bytes",
    "group_version_document",
    "group_version_paths",
    "prune_unknown",
    "root_document",
    "schema_name",
    "strict_decoding_message",
    "strict_error_message",
    "strict_warnings",
    "unknown_field_error",
    "unknown_fields",
]
