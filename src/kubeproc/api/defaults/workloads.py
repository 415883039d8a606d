"""ReplicationController, ReplicaSet and Deployment defaults.

``SetDefaults_ReplicationController`` (selector and labels from the template's labels),
apps' ``SetDefaults_Deployment`` and ``SetDefaults_ReplicaSet`` (one replica, a rolling
update of 25%/25%, ten revisions kept, a ten-minute progress deadline), the declarative
``replicas: 1`` of ReplicationControllers, and the pod-spec defaults of every template.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeproc.api.defaults.pod import default_template


def _spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.setdefault("spec", {})
    return spec if isinstance(spec, dict) else None


def default_replication_controller(rc: dict[str, Any]) -> None:
    spec = _spec(rc)
    if spec is None:
        return
    template = spec.get("template")
    meta = template.get("metadata") if isinstance(template, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if isinstance(labels, dict):
        if not spec.get("selector"):
            spec["selector"] = copy.deepcopy(labels)
        rc_meta = rc.setdefault("metadata", {})
        if isinstance(rc_meta, dict) and not rc_meta.get("labels"):
            rc_meta["labels"] = copy.deepcopy(labels)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_template(template)


def default_replica_set(rs: dict[str, Any]) -> None:
    spec = _spec(rs)
    if spec is None:
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_template(spec.get("template"))


def default_deployment(dep: dict[str, Any]) -> None:
    spec = _spec(dep)
    if spec is None:
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
                for field in ("maxUnavailable", "maxSurge"):
                    if rolling[field] is None:
                        rolling[field] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    default_template(spec.get("template"))
