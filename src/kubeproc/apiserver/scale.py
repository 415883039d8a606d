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
from kubeproc.apiserver import media
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
        raise MethodNotAllowed("the server does not allow this method on the requested resource")
    raw = await handler._body(request)
    if verb is Verb.UPDATE:
        body = media.decode_object(raw, request.headers.get("Content-Type"))

        def put(obj: dict[str, Any]) -> dict[str, Any]:
            rv = str(body.get("metadata", {}).get("resourceVersion") or "")
            if rv and rv != obj["metadata"]["resourceVersion"]:
                raise Conflict.modified(rt.group_resource, info.name)
            obj.setdefault("spec", {})["replicas"] = _replicas(body, info.name)
            return obj

        mutate = put
    else:
        kind = media.patch_type(request.headers.get("Content-Type"))
        patch = media.decode_patch(raw, kind)

        def patched(obj: dict[str, Any]) -> dict[str, Any]:
            view = scale_of(rt, obj)
            if kind is media.PatchType.STRATEGIC:
                new = strategic_merge(view, patch, "autoscaling", "Scale")
            elif kind is media.PatchType.MERGE:
                new = json_merge(view, patch)
            elif kind is media.PatchType.JSON_PATCH:
                new = json_patch(view, patch)
            else:
                new = json_merge(view, patch)
            obj.setdefault("spec", {})["replicas"] = _replicas(new, info.name)
            return obj

        mutate = patched
    obj = objects.patch(rt, info.namespace, info.name, mutate, handler._write_options(request))
    return json_response(scale_of(rt, obj))
