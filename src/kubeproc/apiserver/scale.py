"""The ``scale`` subresource of deployments, replicasets and replicationcontrollers.

An autoscaling/v1 ``Scale`` is a view of the owner's ``spec.replicas``, ``status.replicas``
and selector. Reads build the view; writes (PUT with the whole Scale, or a merge or
strategic patch of it, as ``kubectl scale`` sends) change only ``spec.replicas``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubeproc.api.errors import BadRequest, Conflict, Invalid, invalid
from kubeproc.api.resources import ResourceType
from kubeproc.api.selectors import selector_string
from kubeproc.apiserver import bodies
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.requestinfo import RequestInfo, Verb, method_not_allowed
from kubeproc.apiserver.requestoptions import write_options
from kubeproc.apiserver.responses import json_response


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
    objects: ObjectStore,
    request: web.Request,
    rt: ResourceType,
    info: RequestInfo,
    verb: Verb,
) -> web.Response:
    if verb is Verb.GET:
        return json_response(scale_of(rt, objects.get(rt, info.namespace, info.name)))
    if verb not in (Verb.UPDATE, Verb.PATCH):
        raise method_not_allowed()
    scale_rt = scale_type(rt)
    headers: dict[str, str] = {}
    if verb is Verb.UPDATE:
        body, headers = await bodies.decode_object(request, scale_rt, "UpdateOptions")

        def put(obj: dict[str, Any]) -> dict[str, Any]:
            rv = str(body.get("metadata", {}).get("resourceVersion") or "")
            if rv and rv != obj["metadata"]["resourceVersion"]:
                raise Conflict.modified(rt.group_resource, info.name)
            obj.setdefault("spec", {})["replicas"] = _replicas(body, info.name)
            return obj

        mutate = put
    else:
        patch = await bodies.read_patch(request)

        def patched(obj: dict[str, Any]) -> dict[str, Any]:
            new = patch.apply_to(scale_of(rt, obj), scale_rt)
            headers.update(patch.check(scale_rt, new))
            obj.setdefault("spec", {})["replicas"] = _replicas(new, info.name)
            return obj

        mutate = patched
    obj = objects.patch(rt, info.namespace, info.name, mutate, write_options(request))
    return json_response(scale_of(rt, obj), headers=headers or None)
