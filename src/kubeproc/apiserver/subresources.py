"""The generic subresources: status, scale, binding, finalize and log.

Owns which verbs each subresource takes and what it does with them. ``status`` reads the
whole object and writes only its status (the store's status strategy); ``finalize``
updates a namespace's ``spec.finalizers``; both go through the write handler's update and
patch. ``scale`` is a view served by ``scale``; ``binding`` assigns a pod to a node;
``log``, ``exec`` and ``attach`` go to the pod proxy, which reaches the node's kubelet.
Anything else is a 405.
"""

from __future__ import annotations

from aiohttp import web

from kubeproc.api.errors import Invalid, required
from kubeproc.api.resources import ResourceType
from kubeproc.apiserver import bodies, decoding, media, podproxy, scale
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.podproxy import PodProxy
from kubeproc.apiserver.requestinfo import (
    RequestInfo,
    Verb,
    method_not_allowed,
    not_found_path,
)
from kubeproc.apiserver.responses import json_response
from kubeproc.apiserver.writes import WriteHandler


class SubresourceHandler:
    """Serves ``<resource>/<name>/<subresource>`` paths."""

    def __init__(self, objects: ObjectStore, writes: WriteHandler, pods: PodProxy) -> None:
        self.objects = objects
        self.writes = writes
        self.pods = pods

    async def handle(
        self, request: web.Request, rt: ResourceType, info: RequestInfo, verb: Verb
    ) -> web.StreamResponse:
        sub = rt.subresource(info.subresource)
        if sub is None or not info.name:
            raise not_found_path()
        if rt.kind == "Pod" and sub.name in podproxy.SUBRESOURCES:
            return await self.pods.handle(request, rt, info, verb)
        if sub.name == "status":
            if verb is Verb.GET:
                return json_response(self.objects.get(rt, info.namespace, info.name))
            if verb is Verb.UPDATE:
                return await self.writes.update(request, rt, info, subresource="status")
            if verb is Verb.PATCH:
                return await self.writes.patch(request, rt, info, subresource="status")
        if sub.name == "scale":
            return await scale.handle(self.objects, request, rt, info, verb)
        if sub.name == "binding" and verb is Verb.CREATE:
            return await self._bind(request, rt, info)
        if sub.name == "finalize" and verb is Verb.UPDATE:
            return await self.writes.update(request, rt, info, subresource="finalize")
        raise method_not_allowed()

    async def _bind(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.Response:
        media_type = media.body_media_type(request.headers.get("Content-Type"))
        raw = await bodies.read(request)
        try:
            body = media.decode_object(raw, media_type)
        except media.BodyError as err:
            raise decoding.unrecognized("Binding", err.message, raw) from None
        target = body.get("target")
        node = target.get("name", "") if isinstance(target, dict) else ""
        if not node:
            raise Invalid.of("Binding", "", info.name, [required("target.name")])
        self.objects.bind(rt, info.namespace, info.name, node)
        return json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
            201,
        )
