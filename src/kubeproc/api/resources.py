"""The kinds kubeproc serves: one table read by discovery, routing, storage and printing.

Each ``ResourceType`` says what the API server's ``APIResource`` says (group, version,
kind, plural, scope, short names, categories, verbs, subresources) plus where its objects
live in the store. Keeping the table in one place means ``kubectl api-resources``,
discovery, the URL router and the storage keys can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kubeproc.api.errors import GroupResource

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    """A subresource as discovery lists it, with the kind its responses carry."""

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = "v1"


@dataclass(frozen=True)
class ResourceType:
    """One served resource in one group-version."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[Subresource, ...] = ()
    # Objects of several group-versions may share storage (core/v1 and events.k8s.io/v1
    # events); ``storage`` names the shared key space.
    storage: str = ""

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.plural)

    @property
    def storage_name(self) -> str:
        return self.storage or f"{self.group or 'core'}/{self.plural}"

    def key(self, namespace: str | None, name: str) -> str:
        """The store key of one object."""
        if self.namespaced:
            return f"/registry/{self.storage_name}/{namespace}/{name}"
        return f"/registry/{self.storage_name}/{name}"

    def prefix(self, namespace: str | None = None) -> str:
        """The store key prefix of a collection (all namespaces when ``namespace`` is None)."""
        if self.namespaced and namespace is not None:
            return f"/registry/{self.storage_name}/{namespace}/"
        return f"/registry/{self.storage_name}/"

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None


_STATUS = Subresource("status", "", STATUS_VERBS)


def _status(kind: str, group: str = "", version: str = "v1") -> Subresource:
    return Subresource("status", kind, STATUS_VERBS, group, version)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", STATUS_VERBS, "autoscaling", "v1")


RESOURCES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    ResourceType(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        True,
        ("ep",),
    ),
    ResourceType("", "v1", "Event", "events", True, ("ev",), storage="core/events"),
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        False,
        ("ns",),
        verbs=NAMESPACE_VERBS,
        subresources=(
            Subresource("finalize", "Namespace", ("update",)),
            _status("Namespace"),
        ),
    ),
    ResourceType(
        "",
        "v1",
        "Node",
        "nodes",
        False,
        ("no",),
        subresources=(
            Subresource(
                "proxy", "NodeProxyOptions", ("create", "delete", "get", "patch", "update")
            ),
            _status("Node"),
        ),
    ),
    ResourceType(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        ("po",),
        ("all",),
        subresources=(
            Subresource("attach", "PodAttachOptions", ("create", "get")),
            Subresource("binding", "Binding", ("create",)),
            Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
            Subresource("exec", "PodExecOptions", ("create", "get")),
            Subresource("log", "Pod", ("get",)),
            Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
            Subresource("proxy", "PodProxyOptions", ("create", "delete", "get", "patch", "update")),
            _status("Pod"),
        ),
    ),
    ResourceType(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        True,
        ("rc",),
        ("all",),
        subresources=(_scale(), _status("ReplicationController")),
    ),
    ResourceType("", "v1", "Secret", "secrets", True),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    ResourceType(
        "",
        "v1",
        "Service",
        "services",
        True,
        ("svc",),
        ("all",),
        subresources=(
            Subresource(
                "proxy", "ServiceProxyOptions", ("create", "delete", "get", "patch", "update")
            ),
            _status("Service"),
        ),
    ),
    # apps/v1
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        ("deploy",),
        ("all",),
        subresources=(_scale(), _status("Deployment", "apps")),
    ),
    ResourceType(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        True,
        ("rs",),
        ("all",),
        subresources=(_scale(), _status("ReplicaSet", "apps")),
    ),
    # coordination.k8s.io/v1
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True),
    # discovery.k8s.io/v1
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    # events.k8s.io/v1 (same storage as core/v1 events, converted at the boundary)
    ResourceType("events.k8s.io", "v1", "Event", "events", True, ("ev",), storage="core/events"),
    # networking.k8s.io/v1
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),
)

# The order groups are listed in /apis (legacy and aggregated discovery).
GROUP_ORDER: tuple[str, ...] = (
    "apps",
    "events.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "networking.k8s.io",
)


class Registry:
    """Look-ups over ``RESOURCES`` by group-version and plural, or kind."""

    def __init__(self, resources: tuple[ResourceType, ...] = RESOURCES) -> None:
        self._all = resources
        self._by_plural = {(r.group, r.version, r.plural): r for r in resources}
        self._by_kind = {(r.group, r.version, r.kind): r for r in resources}

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._all)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_plural.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, version, kind))

    def by_api_version(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self.by_kind(group, version, kind)

    def group_versions(self, group: str) -> list[str]:
        seen: list[str] = []
        for r in self._all:
            if r.group == group and r.version not in seen:
                seen.append(r.version)
        return seen

    def groups(self) -> list[str]:
        """Named groups (core excluded) in discovery order."""
        present = {r.group for r in self._all if r.group}
        ordered = [g for g in GROUP_ORDER if g in present]
        return ordered + sorted(present - set(ordered))

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return sorted(
            (r for r in self._all if r.group == group and r.version == version),
            key=lambda r: r.plural,
        )


REGISTRY = Registry()
