"""Pod validation: create-time spec rules, update immutability, and status updates."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.api.validation import validate_create, validate_status_update, validate_update

FORBIDDEN_PREFIX = (
    "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
    "to 1 if it was previously negative)\n"
)


def pod_rt() -> ResourceType:
    found = REGISTRY.by_kind("", "v1", "Pod")
    assert found is not None
    return found


def make_pod(containers: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    ctrs = containers if containers is not None else [{"name": "app", "image": "nginx:1.25"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": {"containers": ctrs, **spec},
    }


def create(pod: dict[str, Any]) -> list[str]:
    obj = copy.deepcopy(pod)
    apply_defaults(pod_rt(), obj)
    return [str(e) for e in validate_create(pod_rt(), obj)]


def stored(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod as the store keeps it after a successful create."""
    obj = copy.deepcopy(pod)
    apply_defaults(pod_rt(), obj)
    assert validate_create(pod_rt(), obj) == []
    obj["metadata"]["resourceVersion"] = "7"
    return obj


def update(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    apply_defaults(pod_rt(), new)
    return [str(e) for e in validate_update(pod_rt(), new, old)]


SPEC_ERRORS = [
    pytest.param(make_pod([]), ["spec.containers: Required value"], id="no-containers"),
    pytest.param(
        make_pod([{"name": "app"}]), ["spec.containers[0].image: Required value"], id="no-image"
    ),
    pytest.param(
        make_pod([{"image": "nginx"}]), ["spec.containers[0].name: Required value"], id="no-name"
    ),
    pytest.param(
        make_pod([{"name": "app", "image": "a"}, {"name": "app", "image": "b"}]),
        ['spec.containers[1].name: Duplicate value: "app"'],
        id="duplicate-container-name",
    ),
    pytest.param(
        make_pod([{"name": "App_1", "image": "nginx"}]),
        [
            'spec.containers[0].name: Invalid value: "App_1": a lowercase RFC 1123 label must '
            "consist of lower case alphanumeric characters or '-', and must start and end with an "
            "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ],
        id="container-name-format",
    ),
    pytest.param(
        make_pod([{"name": "app", "image": "nginx", "ports": [{"containerPort": 70000}]}]),
        [
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 "
            "and 65535, inclusive"
        ],
        id="container-port-range",
    ),
    pytest.param(
        make_pod(
            [
                {
                    "name": "app",
                    "image": "nginx",
                    "ports": [{"containerPort": 80, "protocol": "HTTP"}],
                }
            ]
        ),
        [
            'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: '
            '"SCTP", "TCP", "UDP"'
        ],
        id="port-protocol",
    ),
    pytest.param(
        make_pod(
            [
                {
                    "name": "app",
                    "image": "nginx",
                    "ports": [
                        {"name": "web", "containerPort": 80},
                        {"name": "web", "containerPort": 81},
                    ],
                }
            ]
        ),
        ['spec.containers[0].ports[1].name: Duplicate value: "web"'],
        id="duplicate-port-name",
    ),
    pytest.param(
        make_pod(
            [
                {
                    "name": "app",
                    "image": "nginx",
                    "env": [{"name": "A=B", "value": "1"}, {"value": "2"}],
                }
            ]
        ),
        [
            'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable '
            "name must consist only of printable ASCII characters other than '='",
            "spec.containers[0].env[1].name: Required value",
        ],
        id="env-names",
    ),
    pytest.param(
        make_pod(
            [
                {
                    "name": "app",
                    "image": "nginx",
                    "volumeMounts": [{"name": "data", "mountPath": "/d"}],
                }
            ]
        ),
        ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
        id="mount-of-unknown-volume",
    ),
    pytest.param(
        make_pod(volumes=[{"name": "v", "emptyDir": {}, "hostPath": {"path": "/tmp"}}]),
        ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"],
        id="two-volume-sources",
    ),
    pytest.param(
        make_pod(volumes=[{"name": "v", "secret": {}}]),
        ["spec.volumes[0].secret.secretName: Required value"],
        id="secret-volume-name",
    ),
    pytest.param(
        make_pod(restartPolicy="Sometimes"),
        [
            'spec.restartPolicy: Unsupported value: "Sometimes": supported values: '
            '"Always", "OnFailure", "Never"'
        ],
        id="restart-policy",
    ),
    pytest.param(
        make_pod(
            [
                {
                    "name": "app",
                    "image": "nginx",
                    "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1500m"}},
                }
            ]
        ),
        [
            'spec.containers[0].resources.requests: Invalid value: "1500m": must be less than or '
            "equal to cpu limit of 1"
        ],
        id="requests-above-limits",
    ),
    pytest.param(
        make_pod([{"name": "app", "image": "nginx", "resources": {"limits": {"gpus": "1"}}}]),
        [
            'spec.containers[0].resources.limits[gpus]: Invalid value: "gpus": must be a standard '
            "resource type or fully qualified",
            'spec.containers[0].resources.limits[gpus]: Invalid value: "gpus": must be a standard '
            "resource for containers",
            # Requests are defaulted from limits before validation, so they repeat the error.
            'spec.containers[0].resources.requests[gpus]: Invalid value: "gpus": must be a '
            "standard "
            "resource type or fully qualified",
            'spec.containers[0].resources.requests[gpus]: Invalid value: "gpus": must be a '
            "standard "
            "resource for containers",
        ],
        id="unknown-resource",
    ),
    pytest.param(
        make_pod(initContainers=[{"name": "side", "image": "envoy", "restartPolicy": "OnFailure"}]),
        [
            'spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported '
            'values: "Always"'
        ],
        id="init-container-restart-policy",
    ),
    pytest.param(
        make_pod(initContainers=[{"name": "app", "image": "busybox"}]),
        ['spec.initContainers[0].name: Duplicate value: "app"'],
        id="init-name-collides-with-container",
    ),
    pytest.param(
        make_pod([{"name": "app", "image": " nginx"}]),
        [
            'spec.containers[0].image: Invalid value: " nginx": '
            "must not have leading or trailing whitespace"
        ],
        id="image-whitespace",
    ),
]


@pytest.mark.parametrize(("pod", "expected"), SPEC_ERRORS)
def test_invalid_pod_spec_is_rejected(pod: dict[str, Any], expected: list[str]) -> None:
    """Each broken pod yields exactly the real server's errors for it."""
    assert create(pod) == expected


def test_valid_pod_with_volumes_mounts_env_and_sidecar_is_accepted() -> None:
    """A realistic pod (volumes, mounts, env from fields, resources, a sidecar) is valid."""
    pod = make_pod(
        [
            {
                "name": "app",
                "image": "nginx:1.25",
                "ports": [{"name": "http", "containerPort": 8080}],
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}],
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
            }
        ],
        initContainers=[{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}],
        volumes=[{"name": "cfg", "configMap": {"name": "app-config"}}],
    )
    assert create(pod) == []


def test_error_order_follows_the_servers_walk_of_the_spec() -> None:
    """Volumes before containers, container rules in Go's order, pod policies last."""
    pod = make_pod(
        [{"name": "app", "ports": [{"containerPort": 0}]}],
        volumes=[{"name": "v"}, {"name": "v"}],
        restartPolicy="Nope",
    )
    got = create(pod)
    assert got == [
        'spec.volumes[1].name: Duplicate value: "v"',
        "spec.containers[0].image: Required value",
        "spec.containers[0].ports[0].containerPort: Required value",
        'spec.restartPolicy: Unsupported value: "Nope": supported values: "Always", "OnFailure", '
        '"Never"',
    ]


def test_changing_anything_but_allowed_fields_is_forbidden() -> None:
    """A spec change outside the updatable fields is one Forbidden on ``spec`` with a diff."""
    old = stored(make_pod())
    new = copy.deepcopy(old)
    new["spec"]["restartPolicy"] = "Never"
    got = update(old, new)
    assert len(got) == 1
    assert got[0].startswith(FORBIDDEN_PREFIX)
    assert '- \trestartPolicy: "Always",' in got[0]
    assert '+ \trestartPolicy: "Never",' in got[0]


def test_probe_change_is_forbidden_on_update() -> None:
    """Probes are immutable after creation (no MutableContainerProbes in v1.36)."""
    old = stored(make_pod())
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["livenessProbe"] = {"tcpSocket": {"port": 80}}
    got = update(old, new)
    assert len(got) == 1
    assert got[0].startswith(FORBIDDEN_PREFIX)


ALLOWED_UPDATES = [
    pytest.param(lambda s: s["containers"][0].update(image="nginx:1.26"), id="image"),
    pytest.param(lambda s: s.update(activeDeadlineSeconds=30), id="set-deadline"),
    pytest.param(
        lambda s: s["tolerations"].append(
            {"key": "k", "operator": "Exists", "effect": "NoSchedule"}
        ),
        id="add-toleration",
    ),
    pytest.param(
        lambda s: s["tolerations"][0].update(tolerationSeconds=10), id="toleration-seconds"
    ),
]


@pytest.mark.parametrize("change", ALLOWED_UPDATES)
def test_allowed_pod_updates_pass(change: Any) -> None:
    """Images, a new deadline, added tolerations and toleration seconds may change."""
    old = stored(make_pod())
    new = copy.deepcopy(old)
    change(new["spec"])
    assert update(old, new) == []


def test_adding_a_container_is_its_own_forbidden_error() -> None:
    """Adding or removing containers stops validation with that one error."""
    old = stored(make_pod())
    new = copy.deepcopy(old)
    new["spec"]["containers"].append({"name": "second", "image": "busybox"})
    assert update(old, new) == [
        "spec.containers: Forbidden: pod updates may not add or remove containers"
    ]


def test_deadline_may_only_decrease() -> None:
    """Raising activeDeadlineSeconds is rejected with Go's message."""
    old = stored(make_pod(activeDeadlineSeconds=10))
    new = copy.deepcopy(old)
    new["spec"]["activeDeadlineSeconds"] = 20
    assert update(old, new) == [
        "spec.activeDeadlineSeconds: Invalid value: 20: "
        "must be less than or equal to previous value"
    ]


def test_modifying_an_existing_toleration_is_forbidden() -> None:
    """Existing tolerations may only gain seconds; editing one is Forbidden."""
    old = stored(make_pod())
    new = copy.deepcopy(old)
    new["spec"]["tolerations"][0]["effect"] = "NoSchedule"
    new["spec"]["tolerations"][0].pop("tolerationSeconds")
    got = update(old, new)
    assert (
        got[0] == "spec.tolerations: Forbidden: existing toleration can not be modified except its "
        "tolerationSeconds"
    )


def test_status_update_may_not_bind_the_pod() -> None:
    """Through the status endpoint, nodeName may not change and qosClass is immutable."""
    old = stored(make_pod())
    old["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    new = copy.deepcopy(old)
    new["spec"]["nodeName"] = "node-1"
    new["status"]["qosClass"] = "Burstable"
    got = [str(e) for e in validate_status_update(pod_rt(), new, old)]
    assert got == [
        "status.nodeName: Forbidden: may not be changed directly",
        'status.qosClass: Invalid value: "Burstable": field is immutable',
    ]


def test_terminated_container_may_not_run_again_under_never() -> None:
    """With restartPolicy Never a terminated container may not go back to running."""
    old = stored(make_pod(restartPolicy="Never"))
    old["status"] = {
        "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 0}}}]
    }
    new = copy.deepcopy(old)
    new["status"]["containerStatuses"][0]["state"] = {"running": {}}
    got = [str(e) for e in validate_status_update(pod_rt(), new, old)]
    assert got == [
        "status.containerStatuses[0].state: Forbidden: "
        "may not be transitioned to non-terminated state"
    ]


def test_valid_status_update_passes() -> None:
    """The kubelet's ordinary status write (phase, conditions, IPs) is valid."""
    old = stored(make_pod(nodeName="node-1"))
    new = copy.deepcopy(old)
    new["status"] = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "podIP": "10.0.0.5",
        "podIPs": [{"ip": "10.0.0.5"}],
    }
    assert validate_status_update(pod_rt(), new, old) == []
