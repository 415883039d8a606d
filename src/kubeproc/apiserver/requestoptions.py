"""Request options: query parameters (and a delete's body) as the object store's records.

Owns the translation of ``fieldManager``, ``dryRun``, ``force``, selectors, integer and
boolean parameters, and ``DeleteOptions`` (from the body or the query, the body winning,
as kube-apiserver merges them) into ``WriteOptions``, ``DeleteOptions`` and selectors.
Malformed values are refused here with the real server's texts, before any store call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from kubeproc.api.errors import BadRequest, StatusError
from kubeproc.api.resources import ResourceType
from kubeproc.api.selectors import FieldSelector, LabelSelector, check_field_selector
from kubeproc.apiserver import bodies, media
from kubeproc.apiserver.records import DeleteOptions, WriteOptions

_PROPAGATION_POLICIES = ("", "Orphan", "Background", "Foreground")


def flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter: ``true`` or ``1``."""
    return query.get(name, "") in ("true", "1")


def int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f'invalid value for "{name}": {raw!r} is not an integer') from None


def selectors(
    request: web.Request, rt: ResourceType
) -> tuple[LabelSelector | None, FieldSelector | None]:
    """``labelSelector`` and ``fieldSelector``; a field the kind does not index is a 400."""
    labels = request.query.get("labelSelector")
    fields = request.query.get("fieldSelector")
    label_sel = LabelSelector.parse(labels) if labels else None
    field_sel = FieldSelector.parse(fields) if fields else None
    if field_sel is not None:
        check_field_selector(rt, field_sel)
    return label_sel, field_sel


def write_options(request: web.Request) -> WriteOptions:
    return WriteOptions(
        field_manager=request.query.get("fieldManager", ""),
        dry_run="All" in request.query.getall("dryRun", []),
        force=flag(request.query, "force"),
        user_agent=request.headers.get("User-Agent", ""),
    )


async def delete_options(request: web.Request) -> DeleteOptions:
    """A delete's options: the body's ``DeleteOptions`` first, then the query's."""
    raw = await bodies.read(request)
    body: dict[str, Any] = {}
    if raw.strip():
        try:
            body = media.decode_object(raw, request.headers.get("Content-Type"))
        except media.BodyError as err:
            # The delete handler passes the decoder's error on as is: no API reason, 500.
            raise StatusError(err.message) from None
    query = request.query
    grace = body.get("gracePeriodSeconds")
    if grace is None and "gracePeriodSeconds" in query:
        grace = int_param(request, "gracePeriodSeconds", 0)
    propagation = body.get("propagationPolicy") or query.get("propagationPolicy", "")
    if body.get("orphanDependents") is True or query.get("orphanDependents") == "true":
        propagation = propagation or "Orphan"
    if propagation not in _PROPAGATION_POLICIES:
        raise BadRequest(
            f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
            f'"{propagation}": supported values: "Foreground", "Background", "Orphan", "nil"'
        )
    pre = body.get("preconditions") or {}
    dry_body = body.get("dryRun")
    dry = list(dry_body) if isinstance(dry_body, list) else query.getall("dryRun", [])
    return DeleteOptions(
        propagation=propagation,
        grace_period=int(grace) if grace is not None else None,
        precondition_uid=str(pre.get("uid") or ""),
        precondition_rv=str(pre.get("resourceVersion") or ""),
        dry_run="All" in dry,
    )
