"""Request paths resolve to group, version, namespace, resource, name and subresource."""

from __future__ import annotations

import pytest

from kubeproc.api.resources import REGISTRY
from kubeproc.apiserver.requestinfo import RequestInfo, Verb, parse_resource_path, verb_for


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/pods", RequestInfo("", "v1", "pods", None, "", "")),
        ("/api/v1/namespaces/default/pods", RequestInfo("", "v1", "pods", "default", "", "")),
        (
            "/api/v1/namespaces/default/pods/web",
            RequestInfo("", "v1", "pods", "default", "web", ""),
        ),
        (
            "/api/v1/namespaces/default/pods/web/log",
            RequestInfo("", "v1", "pods", "default", "web", "log"),
        ),
        ("/api/v1/namespaces", RequestInfo("", "v1", "namespaces", None, "", "")),
        ("/api/v1/namespaces/team", RequestInfo("", "v1", "namespaces", None, "team", "")),
        (
            "/api/v1/namespaces/team/status",
            RequestInfo("", "v1", "namespaces", None, "team", "status"),
        ),
        (
            "/api/v1/namespaces/team/finalize",
            RequestInfo("", "v1", "namespaces", None, "team", "finalize"),
        ),
        (
            "/apis/apps/v1/namespaces/a/deployments/web/scale",
            RequestInfo("apps", "v1", "deployments", "a", "web", "scale"),
        ),
        ("/apis/apps/v1/deployments", RequestInfo("apps", "v1", "deployments", None, "", "")),
        ("/api/v1/nodes/n1", RequestInfo("", "v1", "nodes", None, "n1", "")),
        ("/api/v1/namespaces/a/bogus", RequestInfo("", "v1", "bogus", "a", "", "")),
    ],
)
def test_paths_resolve(path: str, expected: RequestInfo) -> None:
    """Each path addresses the resource the real apiserver's rules give it."""
    assert parse_resource_path(path, REGISTRY) == expected


@pytest.mark.parametrize(
    "path", ["/", "/api", "/api/v1", "/apis/apps", "/apis/apps/v1", "/healthz"]
)
def test_non_resource_paths(path: str) -> None:
    """Discovery and other paths are not resource paths."""
    assert parse_resource_path(path, REGISTRY) is None


def test_verbs_follow_method_and_shape() -> None:
    """GET is list on a collection, get on an object, watch with ?watch; DELETE on a collection is deletecollection."""
    coll = RequestInfo("", "v1", "pods", "a", "", "")
    obj = RequestInfo("", "v1", "pods", "a", "web", "")
    assert verb_for("GET", coll, watch=False) is Verb.LIST
    assert verb_for("GET", obj, watch=False) is Verb.GET
    assert verb_for("GET", coll, watch=True) is Verb.WATCH
    assert verb_for("DELETE", coll, watch=False) is Verb.DELETECOLLECTION
    assert verb_for("DELETE", obj, watch=False) is Verb.DELETE
    assert verb_for("PATCH", obj, watch=False) is Verb.PATCH
    assert verb_for("OPTIONS", obj, watch=False) is None
