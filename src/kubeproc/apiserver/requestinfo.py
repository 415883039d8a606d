"""Parse a request path into what it addresses: group, version, namespace, resource, name.

Pure, like the real apiserver's RequestInfoFactory, so routing rules are tested with tables.
The one subtle case is ``namespaces``: ``/api/v1/namespaces/x`` is the namespace ``x``,
``/api/v1/namespaces/x/status`` its status, and ``/api/v1/namespaces/x/pods`` the pods in it.
Also owns routing's two refusals as go-restful words them (404 for a path that serves
nothing, 405 for a method a path does not take), shared by every route of the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kubeproc.api.errors import MethodNotAllowed, NotFound
from kubeproc.api.resources import Registry, ResourceType


class Verb(StrEnum):
    GET = "get"
    LIST = "list"
    WATCH = "watch"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    DELETECOLLECTION = "deletecollection"


@dataclass(frozen=True)
class RequestInfo:
    """A resource request, resolved against the served resources."""

    group: str
    version: str
    plural: str
    namespace: str | None
    name: str
    subresource: str

    @property
    def is_collection(self) -> bool:
        return not self.name


def parse_resource_path(path: str, registry: Registry) -> RequestInfo | None:
    """Resolve ``/api/v1/...`` or ``/apis/g/v/...``; None when it names no resource path.

    Returns a RequestInfo even for unknown resources (the caller answers 404), so the
    router distinguishes "not a resource path" from "no such resource".
    """
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) < 3:
            return None
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None

    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = rest[2]
        ns_type = registry.get(group, version, "namespaces")
        is_ns_sub = ns_type is not None and ns_type.subresource(candidate) is not None
        served = registry.get(group, version, candidate)
        if (served is not None and served.namespaced) or not is_ns_sub:
            namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3:
        # Deeper paths (proxy subpaths) are kept in the subresource.
        sub = "/".join(rest[2:])
    return RequestInfo(group, version, plural, namespace, name, sub)


def verb_for(method: str, info: RequestInfo, *, watch: bool) -> Verb | None:
    """The Kubernetes verb of an HTTP method on a path (None: method not allowed)."""
    method = method.upper()
    if method == "GET":
        if watch:
            return Verb.WATCH
        return Verb.LIST if info.is_collection else Verb.GET
    if method == "POST":
        return Verb.CREATE
    if method == "PUT":
        return Verb.UPDATE
    if method == "PATCH":
        return Verb.PATCH
    if method == "DELETE":
        return Verb.DELETECOLLECTION if info.is_collection else Verb.DELETE
    return None


def routed(rt: ResourceType, info: RequestInfo, verb: Verb) -> bool:
    """Whether kube-apiserver registers ``verb`` on this path at all (else 405).

    A namespaced resource's all-namespaces path (``/api/v1/pods``) only lists and
    watches; a named path takes no POST.
    """
    if info.subresource:
        return True
    if info.name:
        return verb not in (Verb.CREATE, Verb.LIST, Verb.DELETECOLLECTION)
    if rt.namespaced and info.namespace is None:
        return verb in (Verb.LIST, Verb.WATCH)
    return verb in (Verb.LIST, Verb.WATCH, Verb.CREATE, Verb.DELETECOLLECTION)


def resolve(
    method: str, path: str, registry: Registry, *, watch: bool
) -> tuple[ResourceType, RequestInfo, Verb]:
    """The resource, request and verb a call addresses; 404 or 405 when it addresses none."""
    info = parse_resource_path(path, registry)
    if info is None:
        raise not_found_path()
    rt = registry.get(info.group, info.version, info.plural)
    if rt is None:
        raise not_found_path()
    if rt.namespaced and info.namespace is None and info.name:
        raise not_found_path()
    if not rt.namespaced and info.namespace is not None:
        raise not_found_path()
    verb = verb_for(method, info, watch=watch)
    if verb is None or not routed(rt, info, verb):
        raise method_not_allowed()
    return rt, info, verb


def not_found_path() -> NotFound:
    """go-restful's 404 for a path that serves nothing (no details)."""
    return NotFound("the server could not find the requested resource", details={})


def method_not_allowed() -> MethodNotAllowed:
    """go-restful's 405 for a path that exists without this method (no details)."""
    return MethodNotAllowed(
        "the server does not allow this method on the requested resource", details={}
    )
