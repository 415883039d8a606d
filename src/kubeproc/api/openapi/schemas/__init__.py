"""Every schema kubeproc publishes, gathered from the per-family table modules.

One module per Go package or type family keeps each table short enough to read beside its
``types.go``; this package only concatenates them. Names are unique across modules (the
catalog checks it), so the order here does not matter.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import Schema
from kubeproc.api.openapi.schemas import (
    apps,
    core_container,
    core_node,
    core_objects,
    core_pod,
    core_probe,
    core_scheduling,
    core_service,
    core_volume,
    meta,
    networking,
    other_groups,
    primitives,
)

ALL_SCHEMAS: tuple[Schema, ...] = (
    *primitives.SCHEMAS,
    *meta.SCHEMAS,
    *core_pod.SCHEMAS,
    *core_container.SCHEMAS,
    *core_probe.SCHEMAS,
    *core_volume.SCHEMAS,
    *core_scheduling.SCHEMAS,
    *core_service.SCHEMAS,
    *core_node.SCHEMAS,
    *core_objects.SCHEMAS,
    *apps.SCHEMAS,
    *networking.SCHEMAS,
    *other_groups.SCHEMAS,
)

__all__ = ["ALL_SCHEMAS"]
