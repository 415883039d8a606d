"""The ``paths`` of one group-version document: every REST operation kubeproc serves.

For each resource of the group-version this writes the collection path (list, create,
delete collection), the all-namespaces list path for namespaced kinds, the item path (read,
replace, patch, delete) and the subresources whose bodies are API objects (status, scale,
binding, eviction, finalize). Streaming subresources (log, exec, attach, port-forward,
proxy) are left out: kubectl never looks them up in OpenAPI.

Two consumers shape it. kubectl 1.29+ decides whether the server validates fields by
finding a PATCH operation whose ``x-kubernetes-group-version-kind`` is the object's kind and
which accepts a ``fieldValidation`` query parameter (so every PATCH here has both), and
``kubectl explain`` finds a resource's kind from the ``x-kubernetes-group-version-kind`` of
the operations on its collection and item paths. Parameters are written inline, which is
what both readers accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeproc.api.openapi.catalog import schema_name
from kubeproc.api.openapi.dsl import META, ref_json
from kubeproc.api.resources import ResourceType, Subresource

JSON = dict[str, Any]

_STATUS = f"{META}.Status"
_DELETE_OPTIONS = f"{META}.DeleteOptions"
_PATCH = f"{META}.Patch"

_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
_RESPONSE_TYPES = ("application/json", "application/yaml")


def _param(name: str, where: str, typ: str, description: str, *, required: bool = False) -> JSON:
    out: JSON = {"name": name, "in": where, "description": description, "schema": {"type": typ}}
    if required:
        out["required"] = True
    return out


_PRETTY = _param("pretty", "query", "string", "If 'true', indent the output for humans.")
_NAMESPACE = _param("namespace", "path", "string", "Namespace the objects live in.", required=True)
_DRY_RUN = _param(
    "dryRun", "query", "string", "All: run every stage of the request but persist nothing."
)
_FIELD_MANAGER = _param(
    "fieldManager", "query", "string", "Name of the actor making the change, for field ownership."
)
_FIELD_VALIDATION = _param(
    "fieldValidation",
    "query",
    "string",
    "What to do with unknown or duplicate fields in the body: Ignore drops them silently, "
    "Warn drops them with a warning each (the default), Strict fails the request.",
)
_FORCE = _param(
    "force", "query", "boolean", "Apply patches only: take over fields owned by other managers."
)
_LIST_PARAMS = (
    _param("allowWatchBookmarks", "query", "boolean", "Watch only: ask for BOOKMARK events."),
    _param("continue", "query", "string", "Token from a previous page of a limited list."),
    _param("fieldSelector", "query", "string", "Only objects whose fields match, e.g. a=b."),
    _param("labelSelector", "query", "string", "Only objects whose labels match."),
    _param("limit", "query", "integer", "Most objects to return in one page."),
    _param("resourceVersion", "query", "string", "Version the result must be at least as new as."),
    _param("resourceVersionMatch", "query", "string", "How resourceVersion is applied."),
    _param("sendInitialEvents", "query", "boolean", "Watch only: start with synthetic ADDEDs."),
    _param("timeoutSeconds", "query", "integer", "Seconds after which the call ends."),
    _param("watch", "query", "boolean", "Stream changes instead of returning a list."),
)
_DELETE_PARAMS = (
    _DRY_RUN,
    _param("gracePeriodSeconds", "query", "integer", "Seconds the object gets to terminate."),
    _param(
        "ignoreStoreReadErrorWithClusterBreakingPotential",
        "query",
        "boolean",
        "Delete objects that cannot be read from storage. Dangerous.",
    ),
    _param("orphanDependents", "query", "boolean", "Deprecated: use propagationPolicy."),
    _param("propagationPolicy", "query", "string", "Orphan, Background or Foreground."),
)
_WRITE_PARAMS = (_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION)


def _content(schema: str, types: tuple[str, ...]) -> JSON:
    return {t: {"schema": ref_json(schema)} for t in types}


def _body(schema: str, types: tuple[str, ...] = ("*/*",), *, required: bool = True) -> JSON:
    out: JSON = {"content": _content(schema, types)}
    if required:
        out["required"] = True
    return out


def _responses(schema: str, *codes: str) -> JSON:
    names = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: JSON = {
        c: {"description": names[c], "content": _content(schema, _RESPONSE_TYPES)} for c in codes
    }
    out["401"] = {"description": "Unauthorized"}
    return out


def _gvk(group: str, version: str, kind: str) -> JSON:
    return {"group": group, "version": version, "kind": kind}


def _camel(group: str, version: str) -> str:
    """``apps``/v1 -> AppsV1, core -> CoreV1, networking.k8s.io/v1 -> NetworkingV1."""
    head = group.split(".", 1)[0] if group else "core"
    return head[:1].upper() + head[1:] + version[:1].upper() + version[1:]


@dataclass(frozen=True)
class _Op:
    """What differs between two operations; ``json`` adds what they share."""

    action: str  # x-kubernetes-action: get, list, post, put, patch, delete, deletecollection
    op_id: str
    description: str
    responses: JSON
    params: tuple[JSON, ...] = ()
    body: JSON | None = None

    def json(self, tag: str, gvk: JSON) -> JSON:
        out: JSON = {
            "tags": [tag],
            "description": self.description,
            "operationId": self.op_id,
            "responses": self.responses,
            "x-kubernetes-action": self.action,
            "x-kubernetes-group-version-kind": gvk,
        }
        if self.params:
            out["parameters"] = list(self.params)
        if self.body is not None:
            out["requestBody"] = self.body
        return out


class _Writer:
    """Builds the path items of one resource type."""

    def __init__(self, r: ResourceType) -> None:
        self.r = r
        self.tag = f"{r.group.split('.', 1)[0] if r.group else 'core'}_{r.version}"
        self.gvk = _gvk(r.group, r.version, r.kind)
        # operationId parts, e.g. CoreV1 + Namespaced + Pod
        self.gv = _camel(r.group, r.version)
        self.scope = "Namespaced" if r.namespaced else ""
        self.stem = f"{self.gv}{self.scope}{r.kind}"
        self.kind_schema = schema_name(r.group, r.version, r.kind)
        self.list_schema = schema_name(r.group, r.version, r.list_kind)

    def _item_params(self) -> list[JSON]:
        name = _param("name", "path", "string", f"Name of the {self.r.kind}.", required=True)
        return [name, _NAMESPACE, _PRETTY] if self.r.namespaced else [name, _PRETTY]

    def collection(self) -> JSON:
        r, kind = self.r, self.r.kind
        ops = {
            "get": _Op(
                "list",
                f"list{self.stem}",
                f"List or watch {kind} objects.",
                _responses(self.list_schema, "200"),
                _LIST_PARAMS,
            ),
            "post": _Op(
                "post",
                f"create{self.stem}",
                f"Create a {kind}.",
                _responses(self.kind_schema, "200", "201", "202"),
                _WRITE_PARAMS,
                _body(self.kind_schema),
            ),
            "delete": _Op(
                "deletecollection",
                f"delete{self.gv}Collection{self.scope}{kind}",
                f"Delete every {kind} that matches the selectors.",
                _responses(_STATUS, "200"),
                _LIST_PARAMS + _DELETE_PARAMS,
                _body(_DELETE_OPTIONS, required=False),
            ),
        }
        verbs = {"get": "list", "post": "create", "delete": "deletecollection"}
        item: JSON = {"parameters": [_NAMESPACE, _PRETTY] if r.namespaced else [_PRETTY]}
        for method, op in ops.items():
            if verbs[method] in r.verbs:
                item[method] = op.json(self.tag, self.gvk)
        return item

    def all_namespaces(self) -> JSON:
        kind = self.r.kind
        op = _Op(
            "list",
            f"list{self.gv}{kind}ForAllNamespaces",
            f"List or watch {kind} objects across all namespaces.",
            _responses(self.list_schema, "200"),
            _LIST_PARAMS,
        )
        return {"parameters": [_PRETTY], "get": op.json(self.tag, self.gvk)}

    def item(self) -> JSON:
        return self._read_write("", f"the {self.r.kind}", self.gvk, self.kind_schema, self.r.verbs)

    def subresource(self, sub: Subresource) -> JSON | None:
        """Status, scale, finalize, binding and eviction; None for streaming ones."""
        r = self.r
        group, version = (sub.group, sub.version) if sub.kind else (r.group, r.version)
        kind = sub.kind or r.kind
        gvk, schema = _gvk(group, version, kind), schema_name(group, version, kind)
        suffix = sub.name.capitalize()
        if sub.name in ("status", "scale", "finalize"):
            return self._read_write(suffix, f"the {sub.name} of a {r.kind}", gvk, schema, sub.verbs)
        if sub.name in ("binding", "eviction"):
            op = _Op(
                "post",
                f"create{self.stem}{suffix}",
                f"Create the {sub.name} of a {r.kind}.",
                _responses(schema, "200", "201", "202"),
                _WRITE_PARAMS,
                _body(schema),
            )
            return {"parameters": self._item_params(), "post": op.json(self.tag, gvk)}
        return None

    def _read_write(
        self, suffix: str, what: str, gvk: JSON, schema: str, verbs: tuple[str, ...]
    ) -> JSON:
        """get/put/patch/delete of an item, or get/put/patch of a subresource."""
        stem = self.stem + suffix
        ops = {
            "get": _Op("get", f"read{stem}", f"Read {what}.", _responses(schema, "200")),
            "put": _Op(
                "put",
                f"replace{stem}",
                f"Replace {what}.",
                _responses(schema, "200", "201"),
                _WRITE_PARAMS,
                _body(schema),
            ),
            "patch": _Op(
                "patch",
                f"patch{stem}",
                f"Partially update {what}.",
                _responses(schema, "200", "201"),
                (*_WRITE_PARAMS, _FORCE),
                _body(_PATCH, _PATCH_TYPES),
            ),
            "delete": _Op(
                "delete",
                f"delete{stem}",
                f"Delete {what}.",
                _responses(_STATUS, "200", "202"),
                _DELETE_PARAMS,
                _body(_DELETE_OPTIONS, required=False),
            ),
        }
        wanted = {"get": "get", "put": "update", "patch": "patch", "delete": "delete"}
        out: JSON = {"parameters": self._item_params()}
        for method, op in ops.items():
            if wanted[method] in verbs and not (method == "delete" and suffix):
                out[method] = op.json(self.tag, gvk)
        return out


def _prefix(r: ResourceType) -> str:
    return f"/api/{r.version}" if not r.group else f"/apis/{r.group}/{r.version}"


def resource_paths(r: ResourceType) -> dict[str, JSON]:
    """All paths of one resource, keyed by URL template."""
    w = _Writer(r)
    base = _prefix(r)
    collection = (
        f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
    )
    out = {collection: w.collection(), f"{collection}/{{name}}": w.item()}
    if r.namespaced and "list" in r.verbs:
        out[f"{base}/{r.plural}"] = w.all_namespaces()
    for sub in r.subresources:
        path = w.subresource(sub)
        if path is not None:
            out[f"{collection}/{{name}}/{sub.name}"] = path
    return out


def referenced_schemas(paths: dict[str, JSON]) -> set[str]:
    """Names of the schemas the operations in ``paths`` refer to."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.add(ref.rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(paths)
    return found
