"""Discovery documents, legacy and aggregated, built once from the resource table.

kubectl resolves every resource name (``po``, ``deploy``, ``all``) from discovery, so
short names, categories, verbs and subresources must be exact. Aggregated discovery (v2
and v2beta1, chosen from the Accept header) answers ``/api`` and ``/apis`` in one request;
legacy discovery answers ``/api``, ``/apis``, ``/api/v1``, ``/apis/<g>`` and ``/apis/<g>/<v>``.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.resources import Registry, ResourceType
from kubeproc.apiserver import metricsobjects


def _legacy_resources(rt: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    out = [main]
    for sub in rt.subresources:
        entry: dict[str, Any] = {
            "name": f"{rt.plural}/{sub.name}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": sub.kind or rt.kind,
            "verbs": list(sub.verbs),
        }
        if sub.group or (sub.kind and sub.group != rt.group):
            entry["group"] = sub.group
            entry["version"] = sub.version
        out.append(entry)
    return out


def api_versions() -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
        ],
    }


def _api_group(registry: Registry, group: str) -> dict[str, Any]:
    versions = [
        {"groupVersion": f"{group}/{v}", "version": v} for v in registry.group_versions(group)
    ]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            *(_api_group(registry, g) for g in registry.groups()),
            metricsobjects.group_entry(),  # served by metricsapi, as an aggregated API
        ],
    }


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    if group not in registry.groups():
        return None
    body = _api_group(registry, group)
    body.update({"kind": "APIGroup", "apiVersion": "v1"})
    return body


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    entries: list[dict[str, Any]] = []
    for rt in resources:
        entries.extend(_legacy_resources(rt))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": entries,
    }


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.subresources:
        entry["subresources"] = [
            {
                "subresource": sub.name,
                "responseKind": {
                    "group": sub.group if sub.kind else rt.group,
                    "version": sub.version if sub.kind else rt.version,
                    "kind": sub.kind or rt.kind,
                },
                "verbs": list(sub.verbs),
            }
            for sub in rt.subresources
        ]
    return entry


def _aggregated_group(registry: Registry, group: str) -> dict[str, Any]:
    return {
        "metadata": {"name": group, "creationTimestamp": None},
        "versions": [
            {
                "version": v,
                "resources": [_aggregated_resource(r) for r in registry.in_group_version(group, v)],
                "freshness": "Current",
            }
            for v in registry.group_versions(group)
        ],
    }


def aggregated(registry: Registry, *, core: bool, version: str) -> dict[str, Any]:
    """The APIGroupDiscoveryList for ``/api`` (core) or ``/apis`` (named groups)."""
    groups = [""] if core else registry.groups()
    items = [_aggregated_group(registry, g) for g in groups]
    if not core:
        items.append(metricsobjects.aggregated_group())  # served by metricsapi
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": items,
    }
