"""Discovery documents carry the names, short names, categories and subresources kubectl needs."""

from __future__ import annotations

from typing import Any

from kubeproc.api.resources import REGISTRY
from kubeproc.apiserver import discovery


def _find(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(i for i in items if i.get("resource", i.get("name")) == name)


def test_legacy_core_resources() -> None:
    """/api/v1 lists pods with short name, category and their subresources."""
    body = discovery.api_resource_list(REGISTRY, "", "v1")
    assert body is not None
    pods = _find(body["resources"], "pods")
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    names = {r["name"] for r in body["resources"]}
    assert {"pods/log", "pods/exec", "pods/status", "replicationcontrollers/scale"} <= names
    scale = _find(body["resources"], "replicationcontrollers/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")


def test_aggregated_apps_has_scale() -> None:
    """Aggregated /apis gives deployments a scale subresource answering autoscaling/v1 Scale."""
    body = discovery.aggregated(REGISTRY, core=False, version="v2")
    assert body["apiVersion"] == "apidiscovery.k8s.io/v2"
    apps = next(i for i in body["items"] if i["metadata"]["name"] == "apps")
    deploy = _find(apps["versions"][0]["resources"], "deployments")
    scale = next(s for s in deploy["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert deploy["shortNames"] == ["deploy"]


def test_group_list_order() -> None:
    """/apis lists every served group with its preferred version."""
    body = discovery.api_group_list(REGISTRY)
    names = [g["name"] for g in body["groups"]]
    assert names[0] == "apps"
    assert {"events.k8s.io", "networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io"} <= set(
        names
    )
    assert discovery.api_group(REGISTRY, "nope") is None
