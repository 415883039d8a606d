"""The write verbs on resource paths: create, update, patch, apply, delete, deletecollection.

Owns the order in which kube-apiserver refuses a write, since clients see whichever check
fails first: the body's checks (``bodies``: media type, size, options, decoding,
``fieldValidation``), then namespace admission (404, ``namespaces``), then validation in
the object store (422). Status codes follow the real server: 201 on create and on an
apply that created, 200 for a delete whether the object is gone or still finalizing.
Updates and patches serve the main resource and the status and finalize subresources.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from kubeproc.api import openapi
from kubeproc.api.errors import GroupResource, InternalError, NotFound, StatusError
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.apiserver import bodies, fieldvalidation, media, responses
from kubeproc.apiserver.namespaces import check_body_namespace
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.requestinfo import RequestInfo, method_not_allowed
from kubeproc.apiserver.requestoptions import delete_options, selectors, write_options
from kubeproc.apiserver.responses import json_response
from kubeproc.util.clock import Clock


class WriteHandler:
    """Serves the write verbs for every resource path and the status-like subresources."""

    def __init__(
        self,
        objects: ObjectStore,
        registry: Registry,
        clock: Clock,
        *,
        warnings: Mapping[GroupResource, str] | None = None,
    ) -> None:
        self.objects = objects
        self.registry = registry
        self.clock = clock
        self.warnings = dict(warnings or {})
        """A ``Warning`` text for every write of a resource, e.g. a NetworkPolicy on a node
        that cannot enforce it (the text a webhook would send; kubectl prints it)."""

    def _respond(
        self,
        request: web.Request,
        rt: ResourceType,
        obj: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        extra = self.warnings.get(rt.group_resource)
        if extra is not None:
            text = f"299 - {json.dumps(extra)}"
            old = (headers or {}).get("Warning")
            headers = {**(headers or {}), "Warning": f"{old}, {text}" if old else text}
        return responses.object_response(
            request, rt, obj, now=self.clock.now(), status=status, headers=headers
        )

    def _admit_namespace(self, rt: ResourceType, namespace: str | None, obj: Any) -> None:
        """The create-time checks that precede validation: namespace match, then existence.

        kube-apiserver checks the body's namespace in the handler and the namespace's
        existence in admission (NamespaceLifecycle), both before the object is validated, so
        a bad object in a missing namespace is a 404, not a 422.
        """
        if not rt.namespaced or namespace is None:
            return
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        check_body_namespace(meta.get("namespace") if isinstance(meta, dict) else None, namespace)
        ns_type = self.registry.get("", "v1", "namespaces")
        if ns_type is not None and self.objects.try_get(ns_type, None, namespace) is None:
            raise NotFound.of(ns_type.group_resource, namespace)

    async def create(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.Response:
        body, headers = await bodies.decode_object(request, rt, "CreateOptions")
        self._admit_namespace(rt, info.namespace, body)
        obj = self.objects.create(rt, info.namespace, body, write_options(request))
        return self._respond(request, rt, obj, 201, headers)

    async def update(
        self, request: web.Request, rt: ResourceType, info: RequestInfo, *, subresource: str
    ) -> web.Response:
        body, headers = await bodies.decode_object(request, rt, "UpdateOptions")
        obj = self.objects.update(
            rt,
            info.namespace,
            info.name,
            body,
            write_options(request),
            subresource=subresource,
        )
        return self._respond(request, rt, obj, 200, headers)

    async def patch(
        self, request: web.Request, rt: ResourceType, info: RequestInfo, *, subresource: str
    ) -> web.Response:
        body = await bodies.read_patch(request)
        opts = write_options(request)
        if body.kind is media.PatchType.APPLY_YAML:
            return await self._apply(request, rt, info, body.patch, subresource=subresource)
        warnings: dict[str, str] = {}

        def checked(cur: dict[str, Any]) -> dict[str, Any]:
            new = _translate(lambda obj: body.apply_to(obj, rt), cur)
            warnings.update(body.check(rt, new))
            return openapi.prune_unknown(rt.group, rt.version, rt.kind, new)

        obj = self.objects.patch(
            rt, info.namespace, info.name, checked, opts, subresource=subresource
        )
        return self._respond(request, rt, obj, 200, warnings)

    async def _apply(
        self,
        request: web.Request,
        rt: ResourceType,
        info: RequestInfo,
        patch: dict[str, Any],
        *,
        subresource: str,
    ) -> web.Response:
        """Server-side apply: fields the schema does not declare fail the field manager."""
        if patch.get("apiVersion") == rt.api_version and patch.get("kind") == rt.kind:
            typed = fieldvalidation.typed_patch_error(rt.group, rt.version, rt.kind, patch)
            if typed is not None:
                raise typed
        if self.objects.try_get(rt, info.namespace, info.name) is None and not subresource:
            self._admit_namespace(rt, info.namespace, patch)
        obj, created = self.objects.apply(
            rt,
            info.namespace,
            info.name,
            openapi.prune_unknown(rt.group, rt.version, rt.kind, patch),
            write_options(request),
            subresource=subresource,
        )
        return self._respond(request, rt, obj, 201 if created else 200)

    async def delete(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.Response:
        opts = await delete_options(request)
        # kube-apiserver answers 200 whether the object is gone or still finalizing.
        obj, _ = self.objects.delete(rt, info.namespace, info.name, opts)
        return json_response(obj, 200)

    async def delete_collection(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.Response:
        if "deletecollection" not in rt.verbs:
            raise method_not_allowed()
        opts = await delete_options(request)
        labels, fields = selectors(request, rt)
        result = self.objects.list(rt, info.namespace, labels=labels, fields=fields)
        deleted: list[dict[str, Any]] = []
        for item in result.items:
            meta = item["metadata"]
            try:
                obj, _ = self.objects.delete(rt, meta.get("namespace"), meta["name"], opts)
            except NotFound:
                continue
            deleted.append(obj)
        return json_response(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.objects.store.revision)},
                "items": deleted,
            }
        )


def _translate(
    mutate: Callable[[dict[str, Any]], dict[str, Any]], cur: dict[str, Any]
) -> dict[str, Any]:
    """A patch that fails on the object's shape is the server's 500, not a traceback."""
    try:
        return mutate(cur)
    except StatusError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as err:
        raise InternalError.wrap(err) from err
