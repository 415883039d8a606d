"""Defaults of the small kinds: Namespace, Node, Secret, NetworkPolicy, EndpointSlice.

``SetDefaults_Namespace`` (the ``kubernetes.io/metadata.name`` label) and
``SetDefaults_NamespaceStatus`` (phase Active), plus the ``kubernetes`` finalizer the
Namespace registry puts on a new namespace; ``SetDefaults_NodeStatus`` (allocatable from
capacity); ``SetDefaults_Secret`` (type Opaque); networking's port protocol and policy
types; discovery's port name and protocol.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeproc.api.defaults.pod import default_resource_list

METADATA_NAME_LABEL = "kubernetes.io/metadata.name"


def default_namespace(ns: dict[str, Any]) -> None:
    meta = ns.setdefault("metadata", {})
    if not isinstance(meta, dict):
        return
    name = meta.get("name")
    if isinstance(name, str) and name:
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels[METADATA_NAME_LABEL] = name
    spec = ns.setdefault("spec", {})
    # The registry adds the finalizer on create only; once the namespace is being deleted
    # the namespace controller removes it, and it must stay removed.
    if isinstance(spec, dict) and "finalizers" not in spec and not meta.get("deletionTimestamp"):
        spec["finalizers"] = ["kubernetes"]
    status = ns.setdefault("status", {})
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Active"


def default_node(node: dict[str, Any]) -> None:
    status = node.get("status")
    if not isinstance(status, dict):
        return
    default_resource_list(status.get("capacity"))
    default_resource_list(status.get("allocatable"))
    if status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = copy.deepcopy(status["capacity"])


def default_secret(secret: dict[str, Any]) -> None:
    if not secret.get("type"):
        secret["type"] = "Opaque"


def default_network_policy(np: dict[str, Any]) -> None:
    spec = np.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    for direction in ("ingress", "egress"):
        rules = spec.get(direction)
        for rule in rules if isinstance(rules, list) else []:
            ports = rule.get("ports") if isinstance(rule, dict) else None
            for port in ports if isinstance(ports, list) else []:
                if isinstance(port, dict) and port.get("protocol") is None:
                    port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        egress = spec.get("egress")
        spec["policyTypes"] = (
            ["Ingress", "Egress"] if isinstance(egress, list) and egress else ["Ingress"]
        )


def default_endpoint_slice(eps: dict[str, Any]) -> None:
    ports = eps.get("ports")
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            if port.get("name") is None:
                port["name"] = ""
            if port.get("protocol") is None:
                port["protocol"] = "TCP"
