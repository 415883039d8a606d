"""HTTP handlers for resource paths: decode the request, call the object store, encode.

Owns the REST verbs on ``/api/v1/...`` and ``/apis/<g>/<v>/...`` for every served kind and
the generic subresources (status, scale, binding). Query parameters, media types and
response codes follow kube-apiserver (201 on create, 202 for a deletion still in
progress, Tables for ``as=Table``). A write is refused in kube-apiserver's order, since
clients see whichever check fails first: media type (415), size (413), options (422), the
decoder (400, ``decoding``), ``fieldValidation`` (``fieldvalidation``), namespace
admission (404), then validation in the object store (422). Every failure leaves as a
``StatusError``; the app's middleware renders it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from kubeproc.api import openapi, printers
from kubeproc.api.errors import (
    BadRequest,
    InternalError,
    Invalid,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    StatusError,
    required,
)
from kubeproc.api.patch import json_merge, json_patch, strategic_merge
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.api.selectors import FieldSelector, LabelSelector, check_field_selector
from kubeproc.apiserver import decoding, fieldvalidation, media, scale, watchstream
from kubeproc.apiserver.objects import DeleteOptions, ObjectStore, WriteOptions
from kubeproc.apiserver.requestinfo import (
    RequestInfo,
    Verb,
    parse_resource_path,
    routed,
    verb_for,
)
from kubeproc.apiserver.responses import json_response
from kubeproc.util.clock import Clock

MAX_BODY_BYTES = 3 * 1024 * 1024


def not_found_path() -> NotFound:
    return NotFound("the server could not find the requested resource", details={})


def method_not_allowed() -> MethodNotAllowed:
    """go-restful's 405 for a path that exists without this method (no details)."""
    return MethodNotAllowed(
        "the server does not allow this method on the requested resource", details={}
    )


class ResourceHandler:
    """Serves every resource path; one instance per API server."""

    def __init__(self, objects: ObjectStore, registry: Registry, clock: Clock) -> None:
        self.objects = objects
        self.registry = registry
        self.clock = clock

    async def handle(self, request: web.Request) -> web.StreamResponse:
        info = parse_resource_path(request.path, self.registry)
        if info is None:
            raise not_found_path()
        rt = self.registry.get(info.group, info.version, info.plural)
        if rt is None:
            raise not_found_path()
        if rt.namespaced and info.namespace is None and info.name:
            raise not_found_path()
        if not rt.namespaced and info.namespace is not None:
            raise not_found_path()
        query = request.query
        watch = query.get("watch", "") in ("true", "1")
        verb = verb_for(request.method, info, watch=watch)
        if verb is None or not routed(rt, info, verb):
            raise method_not_allowed()
        if info.subresource:
            return await self._subresource(request, rt, info, verb)
        if verb is Verb.WATCH:
            return await self._watch(request, rt, info)
        if verb is Verb.LIST:
            return self._list(request, rt, info)
        if verb is Verb.GET:
            obj = self.objects.get(rt, info.namespace, info.name)
            return self._object_response(request, rt, obj)
        if verb is Verb.CREATE:
            return await self._create(request, rt, info)
        if verb is Verb.UPDATE:
            return await self._update(request, rt, info, subresource="")
        if verb is Verb.PATCH:
            return await self._patch(request, rt, info, subresource="")
        if verb is Verb.DELETE:
            return await self._delete(request, rt, info)
        return await self._delete_collection(request, rt, info)

    # -- reads ---------------------------------------------------------------------------

    def _selectors(
        self, request: web.Request, rt: ResourceType
    ) -> tuple[LabelSelector | None, FieldSelector | None]:
        labels = request.query.get("labelSelector")
        fields = request.query.get("fieldSelector")
        label_sel = LabelSelector.parse(labels) if labels else None
        field_sel = FieldSelector.parse(fields) if fields else None
        if field_sel is not None:
            check_field_selector(rt, field_sel)
        return label_sel, field_sel

    def _list(self, request: web.Request, rt: ResourceType, info: RequestInfo) -> web.Response:
        labels, fields = self._selectors(request, rt)
        limit = _int_param(request, "limit", 0)
        result = self.objects.list(
            rt,
            info.namespace,
            labels=labels,
            fields=fields,
            limit=limit,
            continue_token=request.query.get("continue", ""),
        )
        accept = media.parse_accept(request.headers.get("Accept"))
        if media.wants_table(accept):
            return json_response(
                printers.table(
                    rt,
                    result.items,
                    now=self.clock.now(),
                    resource_version=result.resource_version,
                    continue_token=result.continue_token or None,
                    include_object=request.query.get("includeObject", "Metadata"),
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

    def _object_response(
        self,
        request: web.Request,
        rt: ResourceType,
        obj: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        accept = media.parse_accept(request.headers.get("Accept"))
        if media.wants_table(accept):
            return json_response(
                printers.table(
                    rt,
                    [obj],
                    now=self.clock.now(),
                    resource_version=str(obj["metadata"].get("resourceVersion", "")),
                    continue_token=None,
                    include_object=request.query.get("includeObject", "Metadata"),
                ),
                status,
                headers,
            )
        return json_response(obj, status, headers)

    async def _watch(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.StreamResponse:
        labels, fields = self._selectors(request, rt)
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

    # -- writes --------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise _too_large()
        # ``content.read(n)`` returns whatever has arrived so far, not the whole body: a
        # body spanning several TLS records would be cut short. Read to the end, capped.
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _write_options(self, request: web.Request) -> WriteOptions:
        return WriteOptions(
            field_manager=request.query.get("fieldManager", ""),
            dry_run="All" in request.query.getall("dryRun", []),
            force=request.query.get("force", "") in ("true", "1"),
            user_agent=request.headers.get("User-Agent", ""),
        )

    async def _decoded(
        self, request: web.Request, rt: ResourceType, options_kind: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """A create or update body, through the decoder's checks in kube-apiserver's order.

        415 for the media type, 413 for the size, 422 for the options, then the decoder's
        400s, then ``fieldValidation``. Returns the object (unknown fields dropped unless
        refused) and the ``Warning`` headers to send.
        """
        media_type = media.body_media_type(request.headers.get("Content-Type"))
        raw = await self._body(request)
        directive = fieldvalidation.mode(request, options_kind)
        try:
            obj = media.decode_object(raw, media_type)
        except media.BodyError as err:
            raise decoding.unrecognized(rt.kind, err.message, raw) from None
        kind, version = decoding.check_body(rt, obj, raw)
        headers = fieldvalidation.check_write(
            directive, rt, obj, data_kind=kind, data_version=version
        )
        return openapi.prune_unknown(rt.group, rt.version, rt.kind, obj), headers

    def _admit_namespace(self, rt: ResourceType, namespace: str | None, obj: Any) -> None:
        """The create-time checks that precede validation: namespace match, then existence.

        kube-apiserver checks the body's namespace in the handler and the namespace's
        existence in admission (NamespaceLifecycle), both before the object is validated, so
        a bad object in a missing namespace is a 404, not a 422.
        """
        if not rt.namespaced or namespace is None:
            return
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        given = meta.get("namespace") if isinstance(meta, dict) else None
        if given and given != namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        ns_type = self.registry.get("", "v1", "namespaces")
        if ns_type is not None and self.objects.try_get(ns_type, None, namespace) is None:
            raise NotFound.of(ns_type.group_resource, namespace)

    async def _create(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.Response:
        body, headers = await self._decoded(request, rt, "CreateOptions")
        self._admit_namespace(rt, info.namespace, body)
        obj = self.objects.create(rt, info.namespace, body, self._write_options(request))
        return self._object_response(request, rt, obj, 201, headers)

    async def _update(
        self, request: web.Request, rt: ResourceType, info: RequestInfo, *, subresource: str
    ) -> web.Response:
        body, headers = await self._decoded(request, rt, "UpdateOptions")
        obj = self.objects.update(
            rt,
            info.namespace,
            info.name,
            body,
            self._write_options(request),
            subresource=subresource,
        )
        return self._object_response(request, rt, obj, 200, headers)

    def _mutation(
        self, rt: ResourceType, kind: media.PatchType, patch: Any
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        if kind is media.PatchType.STRATEGIC:
            return lambda cur: strategic_merge(cur, patch, rt.group, rt.kind)
        if kind is media.PatchType.MERGE:
            return lambda cur: json_merge(cur, patch)
        return lambda cur: json_patch(cur, patch)

    async def _patch(
        self, request: web.Request, rt: ResourceType, info: RequestInfo, *, subresource: str
    ) -> web.Response:
        kind = media.patch_type(request.headers.get("Content-Type"))
        raw = await self._body(request)
        directive = fieldvalidation.mode(request, "PatchOptions")
        strict = directive != fieldvalidation.IGNORE
        patch = media.decode_patch(raw, kind, strict=strict)
        opts = self._write_options(request)
        if kind is media.PatchType.APPLY_YAML:
            return await self._apply(request, rt, info, patch, subresource=subresource)
        mutate = self._mutation(rt, kind, patch)
        warnings: dict[str, str] = {}

        def checked(cur: dict[str, Any]) -> dict[str, Any]:
            new = _translate(mutate, cur)
            bad_value = (
                fieldvalidation.go_format(patch)
                if kind is media.PatchType.STRATEGIC
                else fieldvalidation.patched_json(new)
            )
            warnings.update(
                fieldvalidation.check_patched(
                    directive, rt, new, bad_value, strategic=kind is media.PatchType.STRATEGIC
                )
            )
            return openapi.prune_unknown(rt.group, rt.version, rt.kind, new)

        obj = self.objects.patch(
            rt, info.namespace, info.name, checked, opts, subresource=subresource
        )
        return self._object_response(request, rt, obj, 200, warnings)

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
            self._write_options(request),
            subresource=subresource,
        )
        return self._object_response(request, rt, obj, 201 if created else 200)

    async def _delete_options(self, request: web.Request) -> DeleteOptions:
        raw = await self._body(request)
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
            grace = _int_param(request, "gracePeriodSeconds", 0)
        propagation = body.get("propagationPolicy") or query.get("propagationPolicy", "")
        if body.get("orphanDependents") is True or query.get("orphanDependents") == "true":
            propagation = propagation or "Orphan"
        if propagation not in ("", "Orphan", "Background", "Foreground"):
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

    async def _delete(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.Response:
        opts = await self._delete_options(request)
        obj, gone = self.objects.delete(rt, info.namespace, info.name, opts)
        # kube-apiserver answers 200 whether the object is gone or still finalizing.
        del gone
        return json_response(obj, 200)

    async def _delete_collection(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.Response:
        if "deletecollection" not in rt.verbs:
            raise method_not_allowed()
        opts = await self._delete_options(request)
        labels, fields = self._selectors(request, rt)
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

    # -- subresources --------------------------------------------------------------------

    async def _subresource(
        self, request: web.Request, rt: ResourceType, info: RequestInfo, verb: Verb
    ) -> web.StreamResponse:
        sub = rt.subresource(info.subresource)
        if sub is None or not info.name:
            raise not_found_path()
        if sub.name == "status":
            if verb is Verb.GET:
                return json_response(self.objects.get(rt, info.namespace, info.name))
            if verb is Verb.UPDATE:
                return await self._update(request, rt, info, subresource="status")
            if verb is Verb.PATCH:
                return await self._patch(request, rt, info, subresource="status")
        if sub.name == "scale":
            return await scale.handle(self, request, rt, info, verb)
        if sub.name == "binding" and verb is Verb.CREATE:
            return await self._bind(request, rt, info)
        if sub.name == "finalize" and verb is Verb.UPDATE:
            return await self._update(request, rt, info, subresource="finalize")
        if sub.name == "log" and verb is Verb.GET:
            return self._log_unavailable(rt, info, request.query.get("container", ""))
        raise method_not_allowed()

    async def _bind(
        self, request: web.Request, rt: ResourceType, info: RequestInfo
    ) -> web.Response:
        media_type = media.body_media_type(request.headers.get("Content-Type"))
        raw = await self._body(request)
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

    def _log_unavailable(self, rt: ResourceType, info: RequestInfo, container: str) -> web.Response:
        pod = self.objects.get(rt, info.namespace, info.name)
        names = [c.get("name", "") for c in pod.get("spec", {}).get("containers", [])]
        if not container:
            if len(names) != 1:
                raise BadRequest(
                    f"a container name must be specified for pod {info.name}, choose one of: "
                    f"[{' '.join(names)}]"
                )
            container = names[0]
        if container not in names:
            raise BadRequest(f"container {container} is not valid for pod {info.name}")
        raise BadRequest(
            f'container "{container}" in pod "{info.name}" is waiting to start: ContainerCreating'
        )


def _translate(
    mutate: Callable[[dict[str, Any]], dict[str, Any]], cur: dict[str, Any]
) -> dict[str, Any]:
    try:
        return mutate(cur)
    except StatusError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as err:
        raise InternalError.wrap(err) from err


def _too_large() -> StatusError:
    return RequestEntityTooLarge(f"Request entity too large: limit is {MAX_BODY_BYTES}")


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f'invalid value for "{name}": {raw!r} is not an integer') from None


__all__ = ["MAX_BODY_BYTES", "ResourceHandler", "json_response"]
