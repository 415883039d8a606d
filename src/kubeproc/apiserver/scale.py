"""The ``scale`` subresource of deployments, replicasets and replicationcontrollers.

An autoscaling/v1 ``Scale`` is a view of the owner's ``spec.replicas``, ``status.replicas``
and selector. Reads build the view; writes (PUT with the whole Scale, or a merge or
strategic patch of it, as ``kubectl scale`` sends) change only ``spec.replicas``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubeproc.api.errors import BadRequest, Conflict, Invalid, MethodNotAllowed, invalid
from kubeproc.api.patch import json_merge, json_patch, strategic_merge
from kubeproc.api.resources import ResourceType
from kubeproc.api.selectors import selector_string
from kubeproc.apiserver import fieldvalidation, media
from kubeproc.apiserver.requestinfo import RequestInfo, Verb
from kubeproc.apiserver.responses import json_response

if TYPE_CHECKING:
    from kubeproc.apiserver.handlers import ResourceHandler


def scale_of(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The Scale view of a replicated object."""
    meta = obj["metadata"]
    spec = obj.get("spec", {})
    selector = spec.get("selector") or {}
    if rt.kind == "ReplicationController":
        text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    else:
        text = selector_string(selector)
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": int(spec.get("replicas", 0))},
        "status": {"replicas": int(obj.get("status", {}).get("replicas", 0)), "selector": text},
    }


def _replicas(scale: dict[str, Any], name: str) -> int:
    value = scale.get("spec", {}).get("replicas", 0)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"spec.replicas in the Scale of {name} must be an integer")
    if value < 0:
        raise Invalid.of(
            "Scale",
            "autoscaling",
            name,
            [invalid("spec.replicas", value, "must be greater than or equal to 0")],
        )
    return value


def scale_type(rt: ResourceType) -> ResourceType:
    """The subresource as the decoder sees it: bodies are autoscaling/v1 Scales."""
    return ResourceType("autoscaling", "v1", "Scale", f"{rt.plural}/scale", rt.namespaced)


async def handle(
    handler: ResourceHandler,
    request: web.Request,
    rt: ResourceType,
    info: RequestInfo,
    verb: Verb,
) -> web.Response:
    objects = handler.objects
    if verb is Verb.GET:
        return json_response(scale_of(rt, objects.get(rt, info.namespace, info.name)))
    if verb not in (Verb.UPDATE, Verb.PATCH):
        raise MethodNotAllowed(
            "the server does not allow this method on the requested resource", details={}
        )
    scale_rt = scale_type(rt)
    headers: dict[str, str] = {}
    if verb is Verb.UPDATE:
        body, headers = await handler._decoded(request, scale_rt, "UpdateOptions")

        def put(obj: dict[str, Any]) -> dict[str, Any]:
            rv = str(body.get("metadata", {}).get("resourceVersion") or "")
            if rv and rv != obj["metadata"]["resourceVersion"]:
                raise Conflict.modified(rt.group_resource, info.name)
            obj.setdefault("spec", {})["replicas"] = _replicas(body, info.name)
            return obj

        mutate = put
    else:
        kind = media.patch_type(request.headers.get("Content-Type"))
        raw = await handler._body(request)
        directive = fieldvalidation.mode(request, "PatchOptions")
        patch = media.decode_patch(raw, kind, strict=directive != fieldvalidation.IGNORE)

        def patched(obj: dict[str, Any]) -> dict[str, Any]:
            view = scale_of(rt, obj)
            if kind is media.PatchType.STRATEGIC:
                new = strategic_merge(view, patch, "autoscaling", "Scale")
                bad_value = fieldvalidation.go_format(patch)
            else:
                new = (
                    json_patch(view, patch)
                    if kind is media.PatchType.JSON_PATCH
                    else (json_merge(view, patch))
                )
                bad_value = fieldvalidation.patched_json(new)
            headers.update(
                fieldvalidation.check_patched(
                    directive,
                    scale_rt,
                    new,
                    bad_value,
                    strategic=kind is media.PatchType.STRATEGIC,
                )
            )
            obj.setdefault("spec", {})["replicas"] = _replicas(new, info.name)
            return obj

        mutate = patched
    obj = objects.patch(rt, info.namespace, info.name, mutate, handler._write_options(request))
    return json_response(scale_of(rt, obj), headers=headers or None)
