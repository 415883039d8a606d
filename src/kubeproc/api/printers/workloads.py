"""Rows for the replicated workloads: Deployments, ReplicaSets, ReplicationControllers.

The three differ in small ways the real printers keep, so they are kept here too:
a Deployment's READY is ``ready/desired`` and its selector prints bare (``""`` if empty,
``<invalid>`` if broken); a ReplicaSet prints counts as integers and its selector through
``FormatLabelSelector`` (``<none>``, ``<error>``); a ReplicationController's selector is a
plain map. ``spec.replicas`` reads as 1 when absent, the API default.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubeproc.api.errors import BadRequest
from kubeproc.api.printers.columns import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    Printer,
    age,
    col,
    container_cells,
    get,
    items,
    name,
    number,
)
from kubeproc.api.selectors import LabelSelector, format_labels


def _selector(obj: dict[str, Any], *, broken: str, empty: str) -> str:
    """``LabelSelectorAsSelector(spec.selector).String()`` with the caller's fallbacks."""
    raw = get(obj, "spec.selector")
    if not isinstance(raw, dict):
        return empty  # an absent selector selects nothing and prints as ""
    try:
        return str(LabelSelector.from_label_selector_object(raw)) or empty
    except BadRequest:
        return broken


def _containers(obj: dict[str, Any]) -> list[object]:
    return container_cells(items(obj, "spec.template.spec.containers"))


DEPLOYMENT_COLUMNS = (
    NAME,
    col("Ready", "Ready pods out of the desired number."),
    col("Up-to-date", "Pods running the current pod template."),
    col("Available", "Pods ready for at least minReadySeconds."),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "Label selector of the pods the deployment manages.", wide=True),
)


def deployment_cells(obj: dict[str, Any], now: dt.datetime) -> list[object]:
    ready, desired = number(obj, "status.readyReplicas"), number(obj, "spec.replicas", 1)
    return [
        name(obj),
        f"{ready}/{desired}",
        number(obj, "status.updatedReplicas"),
        number(obj, "status.availableReplicas"),
        age(obj, now),
        *_containers(obj),
        _selector(obj, broken="<invalid>", empty=""),
    ]


def _replica_columns(owner: str) -> tuple[Any, ...]:
    return (
        NAME,
        col("Desired", f"Pods the {owner} should run.", type="integer"),
        col("Current", f"Pods the {owner} runs now.", type="integer"),
        col("Ready", f"Ready pods of the {owner}.", type="integer"),
        AGE,
        CONTAINERS,
        IMAGES,
        col("Selector", f"Label selector of the {owner}'s pods.", wide=True),
    )


def _replica_counts(obj: dict[str, Any]) -> list[object]:
    return [
        number(obj, "spec.replicas", 1),
        number(obj, "status.replicas"),
        number(obj, "status.readyReplicas"),
    ]


def replicaset_cells(obj: dict[str, Any], now: dt.datetime) -> list[object]:
    return [
        name(obj),
        *_replica_counts(obj),
        age(obj, now),
        *_containers(obj),
        _selector(obj, broken="<error>", empty="<none>"),
    ]


def replication_controller_cells(obj: dict[str, Any], now: dt.datetime) -> list[object]:
    selector = get(obj, "spec.selector")
    return [
        name(obj),
        *_replica_counts(obj),
        age(obj, now),
        *_containers(obj),
        format_labels(selector if isinstance(selector, dict) else None),
    ]


DEPLOYMENTS = Printer(DEPLOYMENT_COLUMNS, deployment_cells)
REPLICASETS = Printer(_replica_columns("replica set"), replicaset_cells)
REPLICATION_CONTROLLERS = Printer(
    _replica_columns("replication controller"), replication_controller_cells
)
