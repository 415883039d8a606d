"""Deployment, ReplicaSet and ReplicationController defaulting, templates included."""

from __future__ import annotations

from typing import Any

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.resources import REGISTRY, ResourceType


def rt(group: str, kind: str) -> ResourceType:
    found = next((r for r in REGISTRY if r.group == group and r.kind == kind), None)
    assert found is not None
    return found


def template() -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
    }


def test_deployment_defaults() -> None:
    """One replica, RollingUpdate 25%/25%, ten revisions, 600 s progress deadline."""
    dep: dict[str, Any] = {
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()},
    }
    apply_defaults(rt("apps", "Deployment"), dep)
    spec = dep["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)


def test_recreate_strategy_gets_no_rolling_update() -> None:
    """A Recreate Deployment is left without rollingUpdate parameters."""
    dep: dict[str, Any] = {"metadata": {"name": "web"}, "spec": {"strategy": {"type": "Recreate"}}}
    apply_defaults(rt("apps", "Deployment"), dep)
    assert dep["spec"]["strategy"] == {"type": "Recreate"}


def test_templates_get_pod_spec_defaults_but_not_pod_only_ones() -> None:
    """Templates get SetDefaults_PodSpec, not service links, tolerations or a service account."""
    dep: dict[str, Any] = {"metadata": {"name": "web"}, "spec": {"template": template()}}
    apply_defaults(rt("apps", "Deployment"), dep)
    pod_spec = dep["spec"]["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Always"
    assert pod_spec["containers"][0]["imagePullPolicy"] == "Always"
    for pod_only in ("enableServiceLinks", "tolerations", "serviceAccountName", "priority"):
        assert pod_only not in pod_spec


def test_replica_set_gets_one_replica() -> None:
    """A ReplicaSet without replicas gets one."""
    rs: dict[str, Any] = {"metadata": {"name": "web"}, "spec": {"template": template()}}
    apply_defaults(rt("apps", "ReplicaSet"), rs)
    assert rs["spec"]["replicas"] == 1


def test_replication_controller_takes_selector_and_labels_from_template() -> None:
    """An RC's selector and own labels default to its template's labels."""
    rc: dict[str, Any] = {"metadata": {"name": "web"}, "spec": {"template": template()}}
    apply_defaults(rt("", "ReplicationController"), rc)
    assert rc["spec"]["selector"] == {"app": "web"}
    assert rc["metadata"]["labels"] == {"app": "web"}
    assert rc["spec"]["replicas"] == 1


def test_replication_controller_keeps_its_own_selector() -> None:
    """An explicit RC selector is not replaced."""
    rc: dict[str, Any] = {
        "metadata": {"name": "web"},
        "spec": {"selector": {"tier": "x"}, "template": template()},
    }
    apply_defaults(rt("", "ReplicationController"), rc)
    assert rc["spec"]["selector"] == {"tier": "x"}
