"""API server metrics: request labels as kube-apiserver derives them, restart counts."""

from __future__ import annotations

import pytest

from kubeproc.api.resources import REGISTRY
from kubeproc.apiserver.prometheus import request_labels, restart_family


@pytest.mark.parametrize(
    ("method", "path", "query", "ctype", "want"),
    [
        ("GET", "/api/v1/namespaces/d/pods", {}, "", ("LIST", "", "", "v1", "pods", "", "namespace")),
        ("GET", "/api/v1/pods", {"watch": "true"}, "", ("WATCH", "", "", "v1", "pods", "", "cluster")),
        ("GET", "/api/v1/namespaces/d/pods/p", {}, "", ("GET", "", "", "v1", "pods", "", "resource")),
        ("POST", "/api/v1/namespaces/d/pods", {"dryRun": "All"}, "application/json",
         ("CREATE", "All", "", "v1", "pods", "", "resource")),
        ("PATCH", "/apis/apps/v1/namespaces/d/deployments/x", {}, "application/apply-patch+yaml",
         ("APPLY", "", "apps", "v1", "deployments", "", "resource")),
        ("GET", "/api/v1/namespaces/d/pods/p/log", {}, "", ("GET", "", "", "v1", "pods", "log", "resource")),
        ("POST", "/api/v1/namespaces/d/pods/p/exec", {}, "", ("CONNECT", "", "", "v1", "pods", "exec", "resource")),
        ("DELETE", "/api/v1/namespaces/d/pods", {}, "", ("DELETECOLLECTION", "", "", "v1", "pods", "", "namespace")),
        ("GET", "/metrics", {}, "", ("GET", "", "", "", "", "/metrics", "")),
        ("GET", "/api/v1/nosuch", {}, "", ("GET", "", "", "", "", "/{tail}", "")),
    ],
)  # fmt: skip
def test_request_labels_follow_kube_apiserver(
    method: str, path: str, query: dict[str, str], ctype: str, want: tuple[str, ...]
) -> None:
    """verb, dry_run, group, version, resource, subresource, scope, then component."""
    route = path if not path.startswith("/api/v1/nosuch") else "/{tail}"
    labels = request_labels(method, path, query, content_type=ctype, registry=REGISTRY, route=route)
    assert labels == (*want, "apiserver")


def test_restart_counts_come_from_the_stored_statuses() -> None:
    """One sample per container (init containers too), labelled as kube-state-metrics does."""
    pod = {
        "metadata": {"name": "p", "namespace": "d", "uid": "u"},
        "status": {
            "initContainerStatuses": [{"name": "init", "restartCount": 0}],
            "containerStatuses": [{"name": "app", "restartCount": 3}],
        },
    }
    fam = restart_family([pod, {"metadata": {"name": "pending", "namespace": "d"}}])
    assert [(dict(s.labels)["container"], s.value) for s in fam.samples] == [
        ("init", 0),
        ("app", 3),
    ]
    assert fam.type == "counter"
