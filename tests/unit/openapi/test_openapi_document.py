"""The /openapi/v3 root and group-version documents: the shapes kubectl reads (wire spec §6)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from kubeproc.api.openapi import (
    document_bytes,
    group_version_document,
    group_version_paths,
    root_document,
)
from kubeproc.api.resources import REGISTRY

JSON = dict[str, Any]
SERVED = [
    "api/v1",
    "apis/apps/v1",
    "apis/events.k8s.io/v1",
    "apis/coordination.k8s.io/v1",
    "apis/discovery.k8s.io/v1",
    "apis/networking.k8s.io/v1",
]


def _doc(path: str) -> JSON:
    doc = group_version_document(path)
    assert doc is not None
    return doc


def _operations(doc: JSON) -> list[tuple[str, str, JSON]]:
    methods = ("get", "put", "post", "delete", "patch")
    return [(p, m, item[m]) for p, item in doc["paths"].items() for m in methods if m in item]


def test_root_lists_every_served_group_version_with_a_hashed_url() -> None:
    """Each served group-version maps to /openapi/v3/<path>?hash=<hash of that document>."""
    assert group_version_paths() == SERVED
    root = root_document()
    assert sorted(root["paths"]) == sorted(SERVED)
    for path in SERVED:
        served = document_bytes(path)
        assert served is not None
        body, digest = served
        assert digest == hashlib.sha512(body).hexdigest().upper()
        assert root["paths"][path] == {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}


def test_root_document_bytes_are_served_for_the_empty_path() -> None:
    """document_bytes("") and document_bytes("/openapi/v3") give the root document."""
    served = document_bytes("")
    assert served is not None
    assert json.loads(served[0]) == root_document()
    assert document_bytes("/openapi/v3") == served


@pytest.mark.parametrize("path", SERVED)
def test_group_version_document_has_the_openapi_shape(path: str) -> None:
    """openapi 3.0.0, info, paths and components.schemas, as the real documents have."""
    doc = _doc(path)
    assert doc["openapi"] == "3.0.0"
    assert doc["info"]["title"] == "Kubernetes"
    assert doc["paths"]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.Status" in doc["components"]["schemas"]


@pytest.mark.parametrize("path", SERVED)
def test_every_patch_operation_advertises_gvk_and_field_validation(path: str) -> None:
    """kubectl's server-side validation check: PATCH has the kind and a fieldValidation param."""
    doc = _doc(path)
    patches = [op for _, method, op in _operations(doc) if method == "patch"]
    assert patches
    for op in patches:
        gvk = op["x-kubernetes-group-version-kind"]
        assert set(gvk) == {"group", "version", "kind"}
        assert op["x-kubernetes-action"] == "patch"
        assert {"name": "fieldValidation", "in": "query"}.items() <= next(
            p for p in op["parameters"] if p["name"] == "fieldValidation"
        ).items()


@pytest.mark.parametrize("r", list(REGISTRY), ids=lambda r: f"{r.group or 'core'}/{r.plural}")
def test_every_resource_has_collection_and_item_paths_with_its_kind(r: Any) -> None:
    """The collection and item paths exist, per the verbs, tagged with the resource's kind."""
    base = f"/api/{r.version}" if not r.group else f"/apis/{r.group}/{r.version}"
    scope = f"{base}/namespaces/{{namespace}}" if r.namespaced else base
    doc = _doc(base.removeprefix("/"))
    collection, item = (
        doc["paths"][f"{scope}/{r.plural}"],
        doc["paths"][f"{scope}/{r.plural}/{{name}}"],
    )
    gvk = {"group": r.group, "version": r.version, "kind": r.kind}
    assert collection["get"]["x-kubernetes-group-version-kind"] == gvk
    assert collection["get"]["x-kubernetes-action"] == "list"
    assert collection["post"]["x-kubernetes-action"] == "post"
    assert ("delete" in collection) == ("deletecollection" in r.verbs)
    for method, action in (
        ("get", "get"),
        ("put", "put"),
        ("patch", "patch"),
        ("delete", "delete"),
    ):
        assert item[method]["x-kubernetes-action"] == action
        assert item[method]["x-kubernetes-group-version-kind"] == gvk
    if r.namespaced:
        assert doc["paths"][f"{base}/{r.plural}"]["get"]["operationId"].endswith("ForAllNamespaces")


def test_subresources_carry_the_kind_of_their_body() -> None:
    """Status patches the parent kind, scale an autoscaling Scale, eviction a policy Eviction."""
    core, apps = _doc("api/v1"), _doc("apis/apps/v1")
    pods = "/api/v1/namespaces/{namespace}/pods/{name}"
    assert (
        core["paths"][f"{pods}/status"]["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Pod"
    )
    scale = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling",
        "version": "v1",
        "kind": "Scale",
    }
    assert "io.k8s.api.autoscaling.v1.Scale" in apps["components"]["schemas"]
    eviction = core["paths"][f"{pods}/eviction"]["post"]
    assert eviction["x-kubernetes-group-version-kind"]["group"] == "policy"
    assert f"{pods}/exec" not in core["paths"]
    assert set(core["paths"]["/api/v1/namespaces/{name}/finalize"]) == {"parameters", "put"}


def test_operation_ids_follow_kubernetes_naming() -> None:
    """Operation IDs read like Kubernetes', e.g. patchCoreV1NamespacedPod."""
    ids = {op["operationId"] for path in SERVED for _, _, op in _operations(_doc(path))}
    for expected in (
        "patchCoreV1NamespacedPod",
        "readCoreV1NamespacedPodStatus",
        "deleteCoreV1CollectionNamespacedPod",
        "listAppsV1DeploymentForAllNamespaces",
        "replaceAppsV1NamespacedDeploymentScale",
        "createCoreV1NamespacedPodEviction",
        "patchCoreV1Node",
        "listNetworkingV1NamespacedNetworkPolicy",
    ):
        assert expected in ids
    assert "deleteCoreV1CollectionNamespace" not in ids  # namespaces have no deletecollection


@pytest.mark.parametrize("path", SERVED)
def test_every_reference_resolves_inside_its_document(path: str) -> None:
    """The schemas section is closed: each $ref points at a schema of the same document."""
    doc = _doc(path)
    refs: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    schemas = doc["components"]["schemas"]
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas


def test_documents_hold_only_their_own_group_kinds() -> None:
    """apps/v1 carries Deployment but not Service; api/v1 carries Pod but not Deployment."""
    apps, core = (
        _doc("apis/apps/v1")["components"]["schemas"],
        _doc("api/v1")["components"]["schemas"],
    )
    assert "io.k8s.api.apps.v1.Deployment" in apps
    assert "io.k8s.api.core.v1.PodSpec" in apps  # reached through the pod template
    assert "io.k8s.api.core.v1.Service" not in apps
    assert "io.k8s.api.apps.v1.Deployment" not in core


def test_kind_schemas_carry_gvk_lists_and_refs_are_wrapped_in_all_of() -> None:
    """Pod names its kind in a list, and a nested struct field is allOf[$ref] plus a description."""
    schemas = _doc("api/v1")["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]
    spec = pod["properties"]["spec"]
    assert spec["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]
    assert spec["description"]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["type"] == "array"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-patch-merge-key"] == "name"


def test_documents_are_built_once_and_handed_out_as_copies() -> None:
    """document_bytes is cached (same object); group_version_document returns fresh copies."""
    assert document_bytes("api/v1") is document_bytes("api/v1")
    first = _doc("api/v1")
    first["paths"].clear()
    assert _doc("api/v1")["paths"]


@pytest.mark.parametrize(
    "path", ["api/v2", "apis/apps", "apis/batch/v1", "apis/autoscaling/v1", "nonsense", "api"]
)
def test_unknown_paths_have_no_document(path: str) -> None:
    """Group-versions that are not served give None, never an empty document."""
    assert group_version_document(path) is None
    assert document_bytes(path) is None


def test_paths_are_normalized() -> None:
    """A leading slash, an /openapi/v3/ prefix and a ?hash= query name the same document."""
    served = document_bytes("api/v1")
    assert served is not None
    assert document_bytes("/api/v1") == served
    assert document_bytes(f"/openapi/v3/api/v1?hash={served[1]}") == served
