"""The read verbs on resource paths: get, list and watch.

Owns what a read request asks of the object store (selectors, ``limit`` and ``continue``,
``resourceVersion`` for a watch) and how the answer leaves: an object, a ``<Kind>List``
with its revision and continue token, or a Table for ``as=Table``; a watch is handed to
``watchstream`` once the store opened it, so a malformed ``resourceVersion`` is a plain
400 before the stream starts. A watch on a named path watches that name only, as
kube-apiserver turns the name into a field selector.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubeproc.api.resources import ResourceType
from kubeproc.api.selectors import FieldSelector
from kubeproc.apiserver import responses, watchstream
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.requestinfo import RequestInfo
from kubeproc.apiserver.requestoptions import int_param, selectors
from kubeproc.apiserver.responses import json_response
from kubeproc.util.clock import Clock


class ReadHandler:
    """Serves get, list and watch for every resource path."""

    def __init__(self, objects: ObjectStore, clock: Clock) -> None:
        self.objects = objects
        self.clock = clock

    def get(self, request: web.Request, rt: ResourceType, info: RequestInfo) -> web.Response:
        obj = self.objects.get(rt, info.namespace, info.name)
        return responses.object_response(request, rt, obj, now=self.clock.now())

    def list(self, request: web.Request, rt: ResourceType, info: RequestInfo) -> web.Response:
        labels, fields = selectors(request, rt)
        limit = int_param(request, "limit", 0)
        result = self.objects.list(
            rt,
            info.namespace,
            labels=labels,
            fields=fields,
            limit=limit,
            continue_token=request.query.get("continue", ""),
        )
        if responses.wants_table(request):
            return json_response(
                responses.table(
                    request,
                    rt,
                    result.items,
                    now=self.clock.now(),
                    resource_version=result.resource_version,
                    continue_token=result.continue_token or None,
                )
            )
        meta: dict[str, Any] = {"resourceVersion": result.resource_version}
        if result.continue_token:
            meta["continue"] = result.continue_token
        return json_response(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": meta,
                "items": result.items,
            }
        )

    async def watch(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.StreamResponse:
        labels, fields = selectors(request, rt)
        if info.name:
            name_sel = FieldSelector.parse(f"metadata.name={info.name}")
            fields = (
                name_sel
                if fields is None
                else FieldSelector.parse(
                    f"{request.query.get('fieldSelector')},metadata.name={info.name}"
                )
            )
        events = self.objects.open_watch(
            rt,
            info.namespace,
            resource_version=request.query.get("resourceVersion", ""),
            labels=labels,
            fields=fields,
        )
        return await watchstream.serve(
            request,
            rt,
            events,
            store_revision=lambda: self.objects.store.revision,
            clock=self.clock,
        )
