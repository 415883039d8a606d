"""Deployment, ReplicaSet and ReplicationController validation, including their quirks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.api.validation import validate_create, validate_status_update, validate_update

MISMATCH = "`selector` does not match template `labels`"


def rt(group: str, kind: str) -> ResourceType:
    found = next((r for r in REGISTRY if r.group == group and r.kind == kind), None)
    assert found is not None
    return found


def template(labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels if labels is not None else {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}], **spec},
    }


def deployment(**spec: Any) -> dict[str, Any]:
    body = {"selector": {"matchLabels": {"app": "web"}}, "template": template(), **spec}
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u"}, "spec": body}


def create(kind: tuple[str, str], obj: dict[str, Any]) -> list[str]:
    copy_ = copy.deepcopy(obj)
    apply_defaults(rt(*kind), copy_)
    return [str(e) for e in validate_create(rt(*kind), copy_)]


DEPLOYMENT = ("apps", "Deployment")

CASES = [
    pytest.param(deployment(), [], id="valid"),
    pytest.param(
        deployment(template=template({"app": "other"})),
        [f'spec.template.metadata.labels: Invalid value: {{"app":"other"}}: {MISMATCH}'],
        id="selector-mismatch",
    ),
    pytest.param(
        deployment(selector=None),
        [
            "spec.selector: Required value",
            f'spec.template.metadata.labels: Invalid value: {{"app":"web"}}: {MISMATCH}',
        ],
        id="missing-selector-also-mismatches",
    ),
    pytest.param(
        deployment(selector={}),
        ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
        id="empty-selector",
    ),
    pytest.param(
        deployment(template=template(restartPolicy="Never")),
        [
            'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
            '"Always"'
        ],
        id="restart-policy",
    ),
    pytest.param(
        deployment(replicas=-1),
        ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
        id="negative-replicas",
    ),
    pytest.param(
        deployment(template=template(activeDeadlineSeconds=5)),
        [
            "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
            "ReplicaSet is not Supported"
        ],
        id="active-deadline",
    ),
    pytest.param(
        deployment(
            strategy={
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0},
            }
        ),
        [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
            "`maxSurge` is 0"
        ],
        id="rolling-update-zero",
    ),
    pytest.param(
        deployment(progressDeadlineSeconds=10, minReadySeconds=10),
        ["spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds"],
        id="progress-deadline",
    ),
    pytest.param(
        deployment(
            template={
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web"}]},
            }
        ),
        ["spec.template.spec.containers[0].image: Required value"],
        id="template-pod-spec",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), CASES)
def test_deployment_create_rules(obj: dict[str, Any], expected: list[str]) -> None:
    """Deployments fail exactly as kube-apiserver fails them (after defaulting)."""
    if obj["spec"].get("selector") is None:
        obj["spec"].pop("selector", None)
    assert create(DEPLOYMENT, obj) == expected


def test_selector_is_immutable_on_update() -> None:
    """apps/v1 forbids changing the selector: ``spec.selector: …: field is immutable``."""
    old = deployment()
    apply_defaults(rt(*DEPLOYMENT), old)
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web2"}}
    new["spec"]["template"]["metadata"]["labels"] = {"app": "web2"}
    got = [str(e) for e in validate_update(rt(*DEPLOYMENT), new, old)]
    assert got == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable'
    ]


def test_template_and_replicas_may_change() -> None:
    """Scaling and a new image are ordinary updates."""
    old = deployment()
    apply_defaults(rt(*DEPLOYMENT), old)
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert validate_update(rt(*DEPLOYMENT), new, old) == []


def test_replica_set_empty_selector_message_says_deployment() -> None:
    """Go reuses the Deployment wording for a ReplicaSet's empty selector; so do we."""
    rs = deployment(selector={})
    assert create(("apps", "ReplicaSet"), rs) == [
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment"
    ]


def test_replication_controller_selector_defaults_from_template_labels() -> None:
    """An RC without selector takes its template's labels and is then valid."""
    rc = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"template": template()}}
    assert create(("", "ReplicationController"), rc) == []


def test_replication_controller_mismatched_selector_is_rejected() -> None:
    """An RC's map selector must match the template labels too."""
    rc = {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "db"}, "template": template()},
    }
    assert create(("", "ReplicationController"), rc) == [
        f'spec.template.metadata.labels: Invalid value: {{"app":"web"}}: {MISMATCH}'
    ]


def test_status_counts_may_not_exceed_replicas() -> None:
    """Through the status endpoint, ready replicas may not exceed replicas."""
    old = deployment()
    apply_defaults(rt(*DEPLOYMENT), old)
    new = copy.deepcopy(old)
    new["status"] = {"replicas": 1, "readyReplicas": 2, "availableReplicas": 1}
    got = [str(e) for e in validate_status_update(rt(*DEPLOYMENT), new, old)]
    assert got == ["status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"]
