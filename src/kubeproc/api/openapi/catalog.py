"""The schema catalog: every schema by name, and the group-version-kinds each one serves.

Joins the hand-written tables (``schemas/``) with the served-kinds table
(``kubeproc.api.resources.REGISTRY``): the registry says which kinds exist, the tables say
what they look like. Kind names map to schema names the way Kubernetes names them
(``apps/v1 Deployment`` is ``io.k8s.api.apps.v1.Deployment``), so no second list of kinds is
kept here. Building checks the tables once: unique names, no dangling references, and a
schema for every served kind and list kind, so a typo fails at import rather than in
``kubectl explain``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from kubeproc.api.openapi.dsl import META, Schema
from kubeproc.api.openapi.schemas import ALL_SCHEMAS
from kubeproc.api.resources import REGISTRY, Registry

GVK = tuple[str, str, str]  # (group, version, kind)


def schema_name(group: str, version: str, kind: str) -> str:
    """The schema name Kubernetes gives a kind: ``io.k8s.api.<group prefix>.<version>.<Kind>``."""
    package = group.split(".", 1)[0] if group else "core"
    return f"io.k8s.api.{package}.{version}.{kind}"


@dataclass(frozen=True)
class Catalog:
    """Schemas by name, with the kinds each one is published for."""

    schemas: Mapping[str, Schema]
    gvks: Mapping[str, tuple[GVK, ...]]  # schema name -> the kinds it serves
    by_gvk: Mapping[GVK, str]  # kind -> schema name

    def get(self, name: str) -> Schema:
        return self.schemas[name]

    def for_kind(self, group: str, version: str, kind: str) -> Schema | None:
        name = self.by_gvk.get((group, version, kind))
        return self.schemas[name] if name is not None else None

    def closure(self, roots: Iterable[str]) -> list[str]:
        """``roots`` and every schema they reach through references, sorted by name."""
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(self.schemas[name].refs())
        return sorted(seen)


def _served_kinds(registry: Registry) -> list[tuple[GVK, str]]:
    """Every (kind, schema name) pair the served resources and their bodies need."""
    out: list[tuple[GVK, str]] = []
    group_versions: list[tuple[str, str]] = []
    for r in registry:
        for kind in (r.kind, r.list_kind):
            out.append(((r.group, r.version, kind), schema_name(r.group, r.version, kind)))
        for sub in r.subresources:
            if sub.kind and sub.kind != r.kind:  # scale, binding, eviction, *Options
                gvk = (sub.group, sub.version, sub.kind)
                out.append((gvk, schema_name(*gvk)))
        if (r.group, r.version) not in group_versions:
            group_versions.append((r.group, r.version))
    out.append((("", "v1", "Status"), f"{META}.Status"))
    out.extend(((g, v, "DeleteOptions"), f"{META}.DeleteOptions") for g, v in group_versions)
    return out


def build_catalog(
    schemas: Iterable[Schema] = ALL_SCHEMAS, registry: Registry = REGISTRY
) -> Catalog:
    """Index ``schemas`` and attach kinds from ``registry``; raise ValueError on a bad table."""
    by_name: dict[str, Schema] = {}
    for schema in schemas:
        if schema.name in by_name:
            raise ValueError(f"schema {schema.name} is defined twice")
        by_name[schema.name] = schema
    dangling = sorted(
        f"{s.name} -> {ref}" for s in by_name.values() for ref in s.refs() if ref not in by_name
    )
    if dangling:
        raise ValueError(f"references to undefined schemas: {dangling}")

    gvks: dict[str, list[GVK]] = {}
    by_gvk: dict[GVK, str] = {}
    for gvk, name in _served_kinds(registry):
        if name not in by_name:
            # Connect options (PodExecOptions, ...) have no body schema; kinds must.
            if gvk[2].endswith("Options") and gvk[2] != "DeleteOptions":
                continue
            raise ValueError(f"no schema {name} for served kind {gvk}")
        if gvk not in by_gvk:
            by_gvk[gvk] = name
            gvks.setdefault(name, []).append(gvk)
    return Catalog(by_name, {k: tuple(v) for k, v in gvks.items()}, by_gvk)


@cache
def catalog() -> Catalog:
    """The catalog of kubeproc's own tables and served kinds, built once."""
    return build_catalog()
