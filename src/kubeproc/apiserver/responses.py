"""Responses: JSON, the one encoding the API server answers with, or a Table when asked.

Owns how an object or a list leaves: compact JSON, or, for an ``Accept`` asking for
``as=Table``, the printer's Table with ``includeObject`` as the query says. Resource
handlers and the watch stream share it, so a ``kubectl get`` row looks the same whether
it came from a get, a list or a watch event.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aiohttp import web

from kubeproc.api import printers
from kubeproc.api.resources import ResourceType
from kubeproc.apiserver import media


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def wants_table(request: web.Request) -> bool:
    return media.wants_table(media.parse_accept(request.headers.get("Accept")))


def table(
    request: web.Request,
    rt: ResourceType,
    items: list[dict[str, Any]],
    *,
    now: dt.datetime,
    resource_version: str,
    continue_token: str | None = None,
    include_columns: bool = True,
) -> dict[str, Any]:
    """The Table of ``items``, with ``includeObject`` (default ``Metadata``) from the query."""
    return printers.table(
        rt,
        items,
        now=now,
        resource_version=resource_version,
        continue_token=continue_token,
        include_object=request.query.get("includeObject", "Metadata"),
        include_columns=include_columns,
    )


def object_response(
    request: web.Request,
    rt: ResourceType,
    obj: dict[str, Any],
    *,
    now: dt.datetime,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """One object, as JSON or as a one-row Table."""
    if wants_table(request):
        rv = str(obj["metadata"].get("resourceVersion", ""))
        return json_response(
            table(request, rt, [obj], now=now, resource_version=rv), status, headers
        )
    return json_response(obj, status, headers)
