"""HTTP handlers for resource paths: route a request to its verb's handler.

Owns the one door for ``/api/v1/...`` and ``/apis/<g>/<v>/...`` of every served kind:
``requestinfo`` resolves the path and method to a resource, request and verb (404 or
405 otherwise), and the verb goes to ``reads`` (get, list, watch), ``writes`` (create,
update, patch, delete, deletecollection) or ``subresources`` (status, scale, binding,
finalize, log). Shaped as composition: each part holds the object store and clock it
needs, and this class only dispatches. Every failure leaves as a ``StatusError``; the
app's middleware renders it.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from kubeproc.api.errors import GroupResource
from kubeproc.api.resources import Registry
from kubeproc.apiserver.bodies import MAX_BODY_BYTES
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.podproxy import PodProxy
from kubeproc.apiserver.reads import ReadHandler
from kubeproc.apiserver.requestinfo import Verb, resolve
from kubeproc.apiserver.requestoptions import flag
from kubeproc.apiserver.responses import json_response
from kubeproc.apiserver.subresources import SubresourceHandler
from kubeproc.apiserver.writes import WriteHandler
from kubeproc.util.clock import Clock


class ResourceHandler:
    """Serves every resource path; one instance per API server."""

    def __init__(
        self,
        objects: ObjectStore,
        registry: Registry,
        clock: Clock,
        *,
        kubelet_token: str = "",
        write_warnings: Mapping[GroupResource, str] | None = None,
    ) -> None:
        self.objects = objects
        self.registry = registry
        self.clock = clock
        self._reads = ReadHandler(objects, clock)
        self._writes = WriteHandler(objects, registry, clock, warnings=write_warnings)
        self._subresources = SubresourceHandler(
            objects, self._writes, PodProxy(objects, registry, kubelet_token=kubelet_token)
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        watch = flag(request.query, "watch")
        rt, info, verb = resolve(request.method, request.path, self.registry, watch=watch)
        if info.subresource:
            return await self._subresources.handle(request, rt, info, verb)
        reads, writes = self._reads, self._writes
        if verb is Verb.WATCH:
            return await reads.watch(request, rt, info)
        if verb is Verb.LIST:
            return reads.list(request, rt, info)
        if verb is Verb.GET:
            return reads.get(request, rt, info)
        if verb is Verb.CREATE:
            return await writes.create(request, rt, info)
        if verb is Verb.UPDATE:
            return await writes.update(request, rt, info, subresource="")
        if verb is Verb.PATCH:
            return await writes.patch(request, rt, info, subresource="")
        if verb is Verb.DELETE:
            return await writes.delete(request, rt, info)
        return await writes.delete_collection(request, rt, info)


__all__ = ["MAX_BODY_BYTES", "ResourceHandler", "json_response"]
