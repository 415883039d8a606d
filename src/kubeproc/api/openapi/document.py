"""The OpenAPI v3 documents kubeproc serves under ``/openapi/v3``, built once and cached.

kube-apiserver publishes one root document listing the group-versions, and one document
per group-version (``api/v1``, ``apis/apps/v1``, ...) holding that group-version's paths and
every schema those paths reach, meta types included. kubectl reads the root, then fetches
the group-version document by the ``serverRelativeURL`` it was given; the ``hash`` query in
that URL is a content hash, so a client cache keyed by URL is invalidated exactly when the
document changes. kubeproc's documents are static, so each is rendered and serialized
once per process (``functools.cache``) with sorted keys, which keeps the hash stable.

Serving advice for the apiserver (what kube-apiserver does): answer ``GET
/openapi/v3/<path>`` with the bytes of ``document_bytes(path)``, ``Content-Type:
application/json`` and ``Etag: "<hash>"``; when the request's ``hash`` query equals the
current hash, ``Cache-Control: public, immutable`` is safe.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from kubeproc.api.openapi.catalog import Catalog, catalog
from kubeproc.api.openapi.dsl import schema_json
from kubeproc.api.openapi.paths import referenced_schemas, resource_paths
from kubeproc.api.resources import REGISTRY, Registry
from kubeproc.version import KUBE_GIT_VERSION

ROOT_PREFIX = "/openapi/v3/"


def group_version_paths(registry: Registry = REGISTRY) -> list[str]:
    """Document paths of the served group-versions: ``api/v1`` first, then ``apis/<g>/<v>``."""
    out = [f"api/{v}" for v in registry.group_versions("")]
    for group in registry.groups():
        out.extend(f"apis/{group}/{v}" for v in registry.group_versions(group))
    return out


def _split(path: str) -> tuple[str, str] | None:
    """``api/v1`` -> ("", "v1"); ``apis/apps/v1`` -> ("apps", "v1"); anything else -> None."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return parts[1], parts[2]
    return None


def build_group_version_document(
    group: str, version: str, registry: Registry = REGISTRY, cat: Catalog | None = None
) -> dict[str, Any] | None:
    """Render the document of one group-version, or None if nothing is served there."""
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    cat = cat or catalog()
    paths: dict[str, Any] = {}
    for r in resources:
        paths.update(resource_paths(r))
    names = cat.closure(referenced_schemas(paths))
    schemas = {name: schema_json(cat.get(name), cat.gvks.get(name, ())) for name in names}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_GIT_VERSION},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas},
    }


def _serialize(doc: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return body, hashlib.sha512(body).hexdigest().upper()


@cache
def _served() -> dict[str, tuple[bytes, str]]:
    """Every group-version document, serialized once (keyed by path, never by client input)."""
    out: dict[str, tuple[bytes, str]] = {}
    for path in group_version_paths():
        gv = _split(path)
        doc = build_group_version_document(*gv) if gv is not None else None
        if doc is not None:
            out[path] = _serialize(doc)
    return out


@cache
def _root_bytes() -> tuple[bytes, str]:
    paths = {
        path: {"serverRelativeURL": f"{ROOT_PREFIX}{path}?hash={digest}"}
        for path, (_, digest) in _served().items()
    }
    return _serialize({"paths": paths})


def _normalize(path: str) -> str:
    path = path.split("?", 1)[0].strip("/")
    prefix = ROOT_PREFIX.strip("/")
    if path == prefix or path.startswith(prefix + "/"):
        path = path[len(prefix) :].strip("/")
    return path


def root_document() -> dict[str, Any]:
    """The ``GET /openapi/v3`` body: ``{"paths": {"api/v1": {"serverRelativeURL": ...}}}``."""
    result: dict[str, Any] = json.loads(_root_bytes()[0])
    return result


def group_version_document(path: str) -> dict[str, Any] | None:
    """The document at ``path`` (``api/v1``, ``apis/apps/v1``), a fresh copy; None if unknown."""
    served = _served().get(_normalize(path))
    if served is None:
        return None
    result: dict[str, Any] = json.loads(served[0])
    return result


def document_bytes(path: str) -> tuple[bytes, str] | None:
    """Serialized JSON and content hash of a document, for the server; None if unknown.

    ``path`` is what follows ``/openapi/v3/`` (a leading ``/openapi/v3`` and a query string
    are tolerated); the empty path is the root document.
    """
    normalized = _normalize(path)
    if not normalized:
        return _root_bytes()
    return _served().get(normalized)
