"""Probe validation and defaulting: acceptance cases AT-01..AT-17 of kubelet-probes.md §9.1.

Every case goes the way a create does in the server: defaults first, then validation, and
the message is compared in full with what kube-apiserver v1.36 prints.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.defaults import apply_defaults
from kubeproc.api.errors import Invalid
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.api.validation import validate_create

POD = REGISTRY.by_kind("", "v1", "Pod")
C0 = "spec.containers[0]"
LP = f"{C0}.livenessProbe"
EXEC: dict[str, Any] = {"exec": {"command": ["true"]}}


def _rt() -> ResourceType:
    assert POD is not None
    return POD


def make_pod(*, init: dict[str, Any] | None = None, **container: Any) -> dict[str, Any]:
    ctr = {"name": "app", "image": "busybox:1.36", **container}
    spec: dict[str, Any] = {"containers": [ctr]}
    if init is not None:
        spec["initContainers"] = [{"name": "init", "image": "busybox:1.36", **init}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": spec,
    }


def create(pod: dict[str, Any]) -> list[str]:
    """Default then validate, as the server does on create; the error strings."""
    obj = copy.deepcopy(pod)
    apply_defaults(_rt(), obj)
    return [str(e) for e in validate_create(_rt(), obj)]


def defaulted(pod: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(pod)
    apply_defaults(_rt(), obj)
    assert validate_create(_rt(), obj) == []
    return obj


REJECTED = [
    pytest.param(
        make_pod(livenessProbe={**EXEC, "successThreshold": 2}),
        f"{LP}.successThreshold: Invalid value: 2: must be 1",
        id="AT-01-liveness-success-threshold",
    ),
    pytest.param(
        make_pod(startupProbe={**EXEC, "successThreshold": 3}),
        f"{C0}.startupProbe.successThreshold: Invalid value: 3: must be 1",
        id="AT-02-startup-success-threshold",
    ),
    pytest.param(
        make_pod(readinessProbe={}),
        f"{C0}.readinessProbe: Required value: must specify a handler type",
        id="AT-04-no-handler",
    ),
    pytest.param(
        make_pod(livenessProbe={**EXEC, "httpGet": {"port": 8080}}),
        f"{LP}.httpGet: Forbidden: may not specify more than 1 handler type",
        id="AT-05-two-handlers",
    ),
    pytest.param(
        make_pod(livenessProbe={**EXEC, "periodSeconds": -1}),
        f"{LP}.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        id="AT-06-negative-period",
    ),
    pytest.param(
        make_pod(livenessProbe={"httpGet": {"port": 8080, "scheme": "FTP"}}),
        f'{LP}.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"',
        id="AT-09-scheme",
    ),
    pytest.param(
        make_pod(livenessProbe={"httpGet": {"port": 70000}}),
        f"{LP}.httpGet.port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        id="AT-10-http-port",
    ),
    pytest.param(
        make_pod(livenessProbe={"tcpSocket": {"port": 0}}),
        f"{LP}.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        id="AT-10-tcp-port",
    ),
    pytest.param(
        make_pod(livenessProbe={"grpc": {"port": 0}}),
        f"{LP}.grpc.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        id="AT-10-grpc-port",
    ),
    pytest.param(
        make_pod(livenessProbe={"httpGet": {"port": "metrics-endpoint"}}),
        f'{LP}.httpGet.port: Invalid value: "metrics-endpoint": must be no more than 15 characters',
        id="AT-11-port-name-length",
    ),
    pytest.param(
        make_pod(livenessProbe={"exec": {"command": []}}),
        f"{LP}.exec.command: Required value",
        id="AT-12-empty-command",
    ),
    pytest.param(
        make_pod(readinessProbe={**EXEC, "terminationGracePeriodSeconds": 5}),
        f"{C0}.readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: "
        "must not be set for readinessProbes",
        id="AT-13-readiness-grace",
    ),
    pytest.param(
        make_pod(livenessProbe={**EXEC, "terminationGracePeriodSeconds": 0}),
        f"{LP}.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
        id="AT-14-liveness-grace-zero",
    ),
    pytest.param(
        make_pod(init={"livenessProbe": EXEC}),
        "spec.initContainers[0].livenessProbe: Forbidden: "
        "may not be set for init containers without restartPolicy=Always",
        id="AT-15-plain-init-container",
    ),
    pytest.param(
        make_pod(
            livenessProbe={
                "httpGet": {"port": 80, "httpHeaders": [{"name": "X Bad", "value": "1"}]}
            }
        ),
        f'{LP}.httpGet.httpHeaders: Invalid value: "X Bad": a valid HTTP header must '
        "consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for "
        "validation is '[-A-Za-z0-9]+')",
        id="AT-17-header-name",
    ),
]


@pytest.mark.parametrize(("pod", "message"), REJECTED)
def test_invalid_probe_is_rejected_with_the_real_message(pod: dict[str, Any], message: str) -> None:
    """An invalid probe yields exactly one error, worded and placed as kube-apiserver's."""
    assert create(pod) == [message]


def test_rejection_renders_as_the_servers_invalid_status() -> None:
    """The Status message wraps the field error as ``Pod "<name>" is invalid: <error>``."""
    obj = copy.deepcopy(make_pod(livenessProbe={**EXEC, "successThreshold": 2}))
    apply_defaults(_rt(), obj)
    status = Invalid.of("Pod", "", "p", validate_create(_rt(), obj)).status()
    assert status["message"] == (
        'Pod "p" is invalid: spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: '
        "must be 1"
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 2: must be 1",
            "field": "spec.containers[0].livenessProbe.successThreshold",
        }
    ]


def test_readiness_success_threshold_above_one_is_accepted_and_kept() -> None:
    """AT-03: readiness may require several successes; the value is stored as given."""
    pod = defaulted(make_pod(readinessProbe={**EXEC, "successThreshold": 3}))
    assert pod["spec"]["containers"][0]["readinessProbe"]["successThreshold"] == 3


def test_probe_with_only_a_handler_gets_the_timing_defaults() -> None:
    """AT-07: timeout 1, period 10, success 1, failure 3; initialDelaySeconds stays unset (0)."""
    probe = defaulted(make_pod(livenessProbe=EXEC))["spec"]["containers"][0]["livenessProbe"]
    assert probe == {
        "exec": {"command": ["true"]},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert probe.get("initialDelaySeconds", 0) == 0


def test_http_get_gets_path_and_scheme_defaults() -> None:
    """AT-08: ``httpGet: {port: 8080}`` is stored with ``path: /`` and ``scheme: HTTP``."""
    probe = defaulted(make_pod(readinessProbe={"httpGet": {"port": 8080}}))["spec"]["containers"][0]
    assert probe["readinessProbe"]["httpGet"] == {"port": 8080, "path": "/", "scheme": "HTTP"}


def test_grpc_probe_is_accepted_with_an_empty_service() -> None:
    """AT-16: ``grpc: {port: 9090}`` is accepted and stored with ``service: ""``."""
    probe = defaulted(make_pod(livenessProbe={"grpc": {"port": 9090}}))["spec"]["containers"][0]
    assert probe["livenessProbe"]["grpc"] == {"port": 9090, "service": ""}


def test_probe_on_sidecar_init_container_is_accepted() -> None:
    """AT-15: the same probe on an init container with ``restartPolicy: Always`` is valid."""
    pod = defaulted(make_pod(init={"restartPolicy": "Always", "livenessProbe": EXEC}))
    assert pod["spec"]["initContainers"][0]["livenessProbe"]["periodSeconds"] == 10


def test_sidecar_probes_are_validated_like_regular_ones() -> None:
    """A sidecar's liveness probe must also have ``successThreshold`` 1 (V11 on init containers)."""
    pod = make_pod(
        init={"restartPolicy": "Always", "livenessProbe": {**EXEC, "successThreshold": 2}}
    )
    assert create(pod) == [
        "spec.initContainers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"
    ]


def test_every_probe_kind_on_plain_init_container_is_forbidden_in_order() -> None:
    """V14: liveness, readiness and startup probes are each forbidden, in that order."""
    pod = make_pod(init={"livenessProbe": EXEC, "readinessProbe": EXEC, "startupProbe": EXEC})
    detail = "Forbidden: may not be set for init containers without restartPolicy=Always"
    assert create(pod) == [
        f"spec.initContainers[0].{kind}: {detail}"
        for kind in ("livenessProbe", "readinessProbe", "startupProbe")
    ]


def test_ephemeral_container_probe_is_forbidden() -> None:
    """V15: a probe on an ephemeral container is forbidden (and so are ephemerals on create)."""
    pod = make_pod()
    pod["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": "busybox", "livenessProbe": EXEC}
    ]
    assert create(pod) == [
        "spec.ephemeralContainers[0].livenessProbe: Forbidden: cannot be set for an Ephemeral "
        "Container",
        "spec.ephemeralContainers: Forbidden: cannot be set on create",
    ]


def test_third_handler_is_also_reported_after_the_second() -> None:
    """V2: each handler after the first is reported, in exec, httpGet, tcpSocket, grpc order."""
    pod = make_pod(
        livenessProbe={"grpc": {"port": 1}, "tcpSocket": {"port": 2}, "httpGet": {"port": 3}}
    )
    assert create(pod) == [
        f"{LP}.tcpSocket: Forbidden: may not specify more than 1 handler type",
        f"{LP}.grpc: Forbidden: may not specify more than 1 handler type",
    ]


def test_invalid_port_name_reports_each_violated_rule() -> None:
    """V6: a bad port name yields one error per rule it breaks, in Go's order."""
    pod = make_pod(livenessProbe={"tcpSocket": {"port": "-Http--"}})
    prefix = f'{LP}.tcpSocket.port: Invalid value: "-Http--": '
    assert create(pod) == [
        prefix + "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        prefix + "must not contain consecutive hyphens",
        prefix + "must not begin or end with a hyphen",
    ]


def test_several_probe_errors_keep_the_servers_order() -> None:
    """Counters come after the handler, and the kind's own rule comes last."""
    pod = make_pod(
        livenessProbe={"httpGet": {"port": 0}, "initialDelaySeconds": -5, "successThreshold": 2}
    )
    assert create(pod) == [
        f"{LP}.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        f"{LP}.initialDelaySeconds: Invalid value: -5: must be greater than or equal to 0",
        f"{LP}.successThreshold: Invalid value: 2: must be 1",
    ]


def test_http_path_is_required_when_defaulting_is_bypassed() -> None:
    """V4: an empty ``httpGet.path`` is only reachable without defaulting; it is required then."""
    obj = make_pod(livenessProbe={"httpGet": {"port": 80, "path": "", "scheme": "HTTP"}})
    apply_defaults(_rt(), obj)
    obj["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] = ""
    assert [str(e) for e in validate_create(_rt(), obj)] == [f"{LP}.httpGet.path: Required value"]
