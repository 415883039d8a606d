"""Probe validation and defaulting (kubelet-probes spec AT-01..AT-17) through ``kubectl create -f``.

One multi-document manifest holds every case; each installed kubectl (1.29-1.33) creates
it in its own namespace. kubectl prints the server's Invalid answers itself
(``The Pod "x" is invalid: <field>: <message>``); the rejected pods must not exist
afterwards, and the accepted ones must be stored with the API's defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Node
from tests.e2e.test_bad_input_support import (
    VERSIONS,
    get,
    kubectl,
    names,
    new_namespace,
    pod,
)

pytestmark = pytest.mark.e2e

EXEC = {"exec": {"command": ["true"]}}
HEADER_REGEX = "[-A-Za-z0-9]+"
C0 = "spec.containers[0]"

# name -> (container fields, the line kubectl prints, or None when the pod is accepted)
CASES: dict[str, tuple[dict[str, Any], str | None]] = {
    "at01": (
        {"livenessProbe": {**EXEC, "successThreshold": 2}},
        f"{C0}.livenessProbe.successThreshold: Invalid value: 2: must be 1",
    ),
    "at02": (
        {"startupProbe": {**EXEC, "successThreshold": 3}},
        f"{C0}.startupProbe.successThreshold: Invalid value: 3: must be 1",
    ),
    "at03": ({"readinessProbe": {**EXEC, "successThreshold": 3}}, None),
    "at04": (
        {"readinessProbe": {"periodSeconds": 5}},
        f"{C0}.readinessProbe: Required value: must specify a handler type",
    ),
    "at05": (
        {"livenessProbe": {**EXEC, "httpGet": {"port": 8080}}},
        f"{C0}.livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type",
    ),
    "at06": (
        {"livenessProbe": {**EXEC, "periodSeconds": -1}},
        f"{C0}.livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
    ),
    "at07": ({"livenessProbe": EXEC}, None),
    "at08": ({"readinessProbe": {"httpGet": {"port": 8080}}}, None),
    "at09": (
        {"livenessProbe": {"httpGet": {"port": 8080, "scheme": "FTP"}}},
        f'{C0}.livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: '
        '"HTTP", "HTTPS"',
    ),
    "at10-http": (
        {"livenessProbe": {"httpGet": {"port": 70000}}},
        f"{C0}.livenessProbe.httpGet.port: Invalid value: 70000: must be between 1 and 65535, "
        "inclusive",
    ),
    "at10-tcp": (
        {"readinessProbe": {"tcpSocket": {"port": 0}}},
        f"{C0}.readinessProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, "
        "inclusive",
    ),
    "at10-grpc": (
        {"livenessProbe": {"grpc": {"port": 0}}},
        f"{C0}.livenessProbe.grpc.port: Invalid value: 0: must be between 1 and 65535, inclusive",
    ),
    "at11": (
        {"livenessProbe": {"httpGet": {"port": "metrics-endpoint"}}},
        f'{C0}.livenessProbe.httpGet.port: Invalid value: "metrics-endpoint": must be no more '
        "than 15 characters",
    ),
    "at12": (
        {"livenessProbe": {"exec": {"command": []}}},
        f"{C0}.livenessProbe.exec.command: Required value",
    ),
    "at13": (
        {"readinessProbe": {**EXEC, "terminationGracePeriodSeconds": 5}},
        f"{C0}.readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set "
        "for readinessProbes",
    ),
    "at14": (
        {"livenessProbe": {**EXEC, "terminationGracePeriodSeconds": 0}},
        f"{C0}.livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater "
        "than 0",
    ),
    "at16": ({"livenessProbe": {"grpc": {"port": 9090}}}, None),
    "at17": (
        {
            "livenessProbe": {
                "httpGet": {"port": 8080, "httpHeaders": [{"name": "X Bad", "value": "1"}]}
            }
        },
        f'{C0}.livenessProbe.httpGet.httpHeaders: Invalid value: "X Bad": a valid HTTP header '
        "must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for "
        f"validation is '{HEADER_REGEX}')",
    ),
}

INIT_PROBE = {"livenessProbe": EXEC}


def init_pod(name: str, *, restart_always: bool) -> dict[str, Any]:
    """AT-15: a liveness probe on an init container, plain or a sidecar."""
    manifest = pod(name)
    init: dict[str, Any] = {"name": "init", "image": "busybox", **INIT_PROBE}
    if restart_always:
        init["restartPolicy"] = "Always"
    manifest["spec"]["initContainers"] = [init]
    return manifest


def manifest() -> str:
    docs = [pod(name, **fields) for name, (fields, _) in CASES.items()]
    docs.append(init_pod("at15-plain", restart_always=False))
    docs.append(init_pod("at15-sidecar", restart_always=True))
    return "\n---\n".join(yaml.safe_dump(doc) for doc in docs)


AT15 = (
    "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers "
    "without restartPolicy=Always"
)
REJECTED = [*((n, line) for n, (_, line) in CASES.items() if line), ("at15-plain", AT15)]


# In manifest order, which is the order kubectl reports them in.
ACCEPTED = [*(n for n, (_, line) in CASES.items() if line is None), "at15-sidecar"]


@pytest.mark.parametrize("version", sorted(VERSIONS), ids=lambda v: f"kubectl{v}")
def test_probe_cases_print_the_servers_invalid_lines_and_store_only_valid_pods(
    node: Node, tmp_path: Path, version: str
) -> None:
    """Each rejected probe prints the server's Invalid message and is not stored.

    With several documents kubectl reports each failure as ``Error from server (Invalid):
    error when creating ...`` followed by the Status message; the valid pods are created.
    """
    ns = new_namespace(node, "probes")
    res = kubectl(node, tmp_path, version)("create", "-n", ns, "-f", "-", stdin=manifest())
    assert res.rc == 1
    errors = [line for line in res.err.splitlines() if line.strip()]
    assert errors == [
        f'Error from server (Invalid): error when creating "STDIN": Pod "{name}" is invalid: {line}'
        for name, line in REJECTED
    ]
    assert res.out.splitlines() == [f"pod/{name} created" for name in ACCEPTED]
    assert names(node, f"/api/v1/namespaces/{ns}/pods") == sorted(ACCEPTED)


def test_each_rejected_probe_prints_kubectls_invalid_line(node: Node, tmp_path: Path) -> None:
    """One document at a time kubectl builds ``The Pod "x" is invalid: ...`` from the causes."""
    ns = new_namespace(node, "probe-lines")
    run = kubectl(node, tmp_path)
    docs = {name: pod(name, **fields) for name, (fields, line) in CASES.items() if line}
    docs["at15-plain"] = init_pod("at15-plain", restart_always=False)
    printed = {}
    for name, doc in docs.items():
        res = run("create", "-n", ns, "-f", "-", stdin=yaml.safe_dump(doc))
        assert res.rc == 1, res.out
        printed[name] = res.err.strip()
    assert printed == {name: f'The Pod "{name}" is invalid: {line}' for name, line in REJECTED}
    assert names(node, f"/api/v1/namespaces/{ns}/pods") == []


def test_accepted_probes_are_stored_with_the_api_defaults(node: Node, tmp_path: Path) -> None:
    """AT-03, AT-07, AT-08, AT-16: thresholds kept, timing, path, scheme and service defaulted."""
    ns = new_namespace(node, "probe-defaults")
    docs = [pod(name, **CASES[name][0]) for name in ("at03", "at07", "at08", "at16")]
    stdin = "\n---\n".join(yaml.safe_dump(doc) for doc in docs)
    kubectl(node, tmp_path).ok("create", "-n", ns, "-f", "-", stdin=stdin)

    def container(name: str) -> dict[str, Any]:
        obj = get(node, f"/api/v1/namespaces/{ns}/pods/{name}")
        first: dict[str, Any] = obj["spec"]["containers"][0]
        return first

    timing = {"timeoutSeconds": 1, "periodSeconds": 10, "failureThreshold": 3}
    readiness = container("at03")["readinessProbe"]
    assert readiness == {**EXEC, **timing, "successThreshold": 3}
    liveness = container("at07")["livenessProbe"]
    assert liveness == {**EXEC, **timing, "successThreshold": 1}
    assert liveness.get("initialDelaySeconds", 0) == 0
    http = container("at08")["readinessProbe"]["httpGet"]
    assert http == {"path": "/", "port": 8080, "scheme": "HTTP"}
    assert container("at16")["livenessProbe"]["grpc"] == {"port": 9090, "service": ""}
