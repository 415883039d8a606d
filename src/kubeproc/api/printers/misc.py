"""Rows for the small kinds: Namespaces, Nodes, ConfigMaps, Secrets, ServiceAccounts, Leases.

Each is a few lines of ``printers.go``. Nodes carry the most logic: STATUS from the Ready
condition (``NotReady`` for False and Unknown alike, ``Unknown`` without one) plus
``SchedulingDisabled`` when cordoned, and ROLES from ``node-role.kubernetes.io/*`` and
``kubernetes.io/role`` labels. Defaults the API would have filled in (namespace phase
Active, secret type Opaque) are assumed when absent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubeproc.api.printers.columns import (
    AGE,
    NAME,
    Printer,
    age,
    col,
    get,
    items,
    mapping,
    name,
    text,
)

_ROLE_PREFIX = "node-role.kubernetes.io/"
_ROLE_LABEL = "kubernetes.io/role"


def node_status(node: dict[str, Any]) -> str:
    ready = next((c for c in items(node, "status.conditions") if c.get("type") == "Ready"), None)
    if ready is None:
        status = ["Unknown"]
    else:
        status = ["Ready" if ready.get("status") == "True" else "NotReady"]
    if get(node, "spec.unschedulable") is True:
        status.append("SchedulingDisabled")
    return ",".join(status)


def node_roles(node: dict[str, Any]) -> str:
    roles: set[str] = set()
    for key, value in mapping(node, "metadata.labels").items():
        if key.startswith(_ROLE_PREFIX) and key[len(_ROLE_PREFIX) :]:
            roles.add(key[len(_ROLE_PREFIX) :])
        elif key == _ROLE_LABEL and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or "<none>"


def _address(node: dict[str, Any], kind: str) -> str:
    found = (text(a, "address") for a in items(node, "status.addresses") if a.get("type") == kind)
    return next(found, "<none>")


def node_cells(node: dict[str, Any], now: dt.datetime) -> list[object]:
    info = mapping(node, "status.nodeInfo")
    return [
        name(node),
        node_status(node),
        node_roles(node),
        age(node, now),
        text(info, "kubeletVersion"),
        _address(node, "InternalIP"),
        _address(node, "ExternalIP"),
        text(info, "osImage", "<unknown>"),
        text(info, "kernelVersion", "<unknown>"),
        text(info, "containerRuntimeVersion", "<unknown>"),
    ]


NODES = Printer(
    (
        NAME,
        col("Status", "Whether the node is Ready, and whether it takes new pods."),
        col("Roles", "Roles from the node's node-role.kubernetes.io labels."),
        AGE,
        col("Version", "The kubelet's version."),
        col("Internal-IP", "The node's first internal address.", wide=True),
        col("External-IP", "The node's first external address.", wide=True),
        col("OS-Image", "The operating system the node reports.", wide=True),
        col("Kernel-Version", "The kernel the node runs.", wide=True),
        col("Container-Runtime", "The container runtime and its version.", wide=True),
    ),
    node_cells,
)

NAMESPACES = Printer(
    (NAME, col("Status", "Active, or Terminating while being deleted."), AGE),
    lambda ns, now: [name(ns), text(ns, "status.phase", "Active"), age(ns, now)],
)

CONFIGMAPS = Printer(
    (NAME, col("Data", "Number of data and binaryData keys."), AGE),
    lambda cm, now: [
        name(cm),
        len(mapping(cm, "data")) + len(mapping(cm, "binaryData")),
        age(cm, now),
    ],
)


def _secret_keys(secret: dict[str, Any]) -> int:
    # stringData is merged into data on write; count a key present in both once.
    return len(mapping(secret, "data").keys() | mapping(secret, "stringData").keys())


SECRETS = Printer(
    (NAME, col("Type", "The secret's type."), col("Data", "Number of data keys."), AGE),
    lambda s, now: [name(s), text(s, "type", "Opaque"), _secret_keys(s), age(s, now)],
)

SERVICE_ACCOUNTS = Printer(
    (NAME, col("Secrets", "Number of secrets listed on the account."), AGE),
    lambda sa, now: [name(sa), len(items(sa, "secrets")), age(sa, now)],
)

LEASES = Printer(
    (NAME, col("Holder", "Identity of the lease's current holder."), AGE),
    lambda lease, now: [name(lease), text(lease, "spec.holderIdentity"), age(lease, now)],
)
