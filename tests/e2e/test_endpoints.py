"""Spec cases AT-71..AT-75: Services' EndpointSlices and Endpoints follow pod readiness.

One real node for the module. A module fixture creates every pod and Service at once in
one namespace, so the cases run side by side; each test then polls ``kubectl get
endpointslices -l kubernetes.io/service-name=<svc> -o json`` (and ``kubectl get
endpoints``) with a deadline. Readiness is an exec probe ``cat /tmp/ready`` the app
creates; AT-72 removes the file with ``kubectl exec`` and measures, by polling the API
directly, how long after the pod's Ready condition turns False the slice shows it
(``pytest -s`` prints it).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_kubelet_support import container, kubectl_for, namespace, require_oci

pytestmark = pytest.mark.e2e

READY_FILE = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}
SERVE = "touch /tmp/ready; exec sleep 3600"
# Keeps passing readiness for 20 s after SIGTERM, then exits (AT-73).
LINGER = "touch /tmp/ready; trap 'sleep 20; exit 0' TERM; while true; do sleep 0.2; done"


def pod(
    name: str, app: str, script: str, *, grace: int = 1, restart: str = "Always", **spec: Any
) -> dict[str, Any]:
    ctr = container("app", script, readinessProbe=READY_FILE)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {
            "terminationGracePeriodSeconds": grace,
            "restartPolicy": restart,
            "containers": [ctr],
            **spec,
        },
    }


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}], **spec},
    }


OBJECTS = [
    service("at71"),
    pod("at71-a", "at71", SERVE),
    service("at72"),
    pod("at72-a", "at72", SERVE),
    service("at73"),
    pod("at73-a", "at73", LINGER, grace=30),
    service("at74", publishNotReadyAddresses=True),
    pod("at74-a", "at74", "exec sleep 3600"),
    service("at75"),
    pod("at75-live", "at75", SERVE),
    pod("at75-done", "at75", "touch /tmp/ready; sleep 1", restart="Never"),
    pod("at75-failed", "at75", "touch /tmp/ready; sleep 1; exit 3", restart="Never"),
    # Never scheduled, so it never gets an IP.
    pod("at75-noip", "at75", SERVE, schedulerName="kubeproc-test-nobody"),
]


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl, node: Node) -> Iterator[str]:
    require_oci(node)
    with contextlib.ExitStack() as stack:
        name = stack.enter_context(namespace(kubectl, "endpoints"))
        kubectl.ok("apply", "-n", name, "-f", "-", stdin=yaml.safe_dump_all(OBJECTS))
        # The AT-73 app outlives a forced delete's SIGTERM by 20 s: end it with a short
        # grace first (runs before the namespace's own cleanup, last-in first-out).
        stack.callback(
            kubectl, "delete", "pod", "at73-a", "-n", name, "--grace-period=1", "--wait=false"
        )
        yield name


def endpoints_of(kubectl: Kubectl, ns: str, svc: str) -> dict[str, dict[str, Any]]:
    """The endpoints of ``svc``'s slices by pod name."""
    res = kubectl(
        "get", "endpointslices", "-n", ns, "-l", f"kubernetes.io/service-name={svc}", "-o", "json"
    )
    if res.rc != 0:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for item in res.json()["items"]:
        for endpoint in item.get("endpoints") or []:
            found[endpoint["targetRef"]["name"]] = endpoint
    return found


def wait_conditions(
    kubectl: Kubectl, ns: str, svc: str, pod_name: str, expected: dict[str, bool], timeout: float
) -> dict[str, Any]:
    endpoint: dict[str, Any] = wait_for(
        lambda: (
            (ep := endpoints_of(kubectl, ns, svc).get(pod_name))
            and ep.get("conditions") == expected
            and ep
        ),
        timeout=timeout,
        interval=0.2,
        what=f"{svc} endpoint {pod_name} {expected}",
    )
    return endpoint


def test_at71_ready_pod_is_a_ready_endpoint(kubectl: Kubectl, ns: str) -> None:
    """AT-71: a Service selecting a ready pod lists it ready, serving, not terminating."""
    expected = {"ready": True, "serving": True, "terminating": False}
    endpoint = wait_conditions(kubectl, ns, "at71", "at71-a", expected, timeout=40)
    pod_ip = kubectl.ok("get", "pod", "at71-a", "-n", ns, "-o", "jsonpath={.status.podIP}").out
    assert endpoint["addresses"] == [pod_ip]
    assert endpoint["targetRef"]["kind"] == "Pod"
    (item,) = kubectl.ok(
        "get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=at71", "-o", "json"
    ).json()["items"]
    assert item["addressType"] == "IPv4"
    assert item["metadata"]["name"].startswith("at71-")
    assert item["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
        "endpointslice-controller.k8s.io"
    )
    assert item["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert [p["port"] for p in item["ports"]] == [8080]
    # An edit by someone else is undone.
    kubectl.ok(
        "patch", "endpointslice", item["metadata"]["name"], "-n", ns, "--type=json",
        "-p", '[{"op": "replace", "path": "/endpoints/0/conditions/ready", "value": false}]',
    )  # fmt: skip
    wait_conditions(kubectl, ns, "at71", "at71-a", expected, timeout=5)


def _api_conditions(node: Node, ns: str) -> tuple[bool | None, bool | None]:
    """(pod Ready, slice endpoint ready) of AT-72's pod, read straight from the API."""
    pod = node.http("GET", f"/api/v1/namespaces/{ns}/pods/at72-a").json()
    ready = next(
        (
            c["status"] == "True"
            for c in pod["status"].get("conditions", [])
            if c["type"] == "Ready"
        ),
        None,
    )
    slices = node.http(
        "GET",
        f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
        "?labelSelector=kubernetes.io/service-name%3Dat72",
    ).json()["items"]
    eps = [e for s in slices for e in s.get("endpoints") or []]
    return ready, (eps[0]["conditions"]["ready"] if eps else None)


def test_at72_failing_readiness_keeps_the_endpoint_not_ready(
    kubectl: Kubectl, node: Node, ns: str
) -> None:
    """AT-72: readiness failing → ready false, serving false, still listed; notReadyAddresses."""
    ready = {"ready": True, "serving": True, "terminating": False}
    wait_conditions(kubectl, ns, "at72", "at72-a", ready, timeout=40)
    kubectl.ok("exec", "at72-a", "-n", ns, "--", "rm", "/tmp/ready")
    pod_flip = slice_flip = None
    rounds, started = 0, time.monotonic()
    deadline = started + 15
    while time.monotonic() < deadline and slice_flip is None:
        pod_ready, slice_ready = _api_conditions(node, ns)
        now = time.monotonic()
        rounds += 1
        if pod_ready is False and pod_flip is None:
            pod_flip = now
        if slice_ready is False and slice_flip is None:
            slice_flip = now
    assert slice_flip is not None, "the slice never showed the pod not ready"
    # The pod can flip between the two reads of one round: the slice then saw it at once.
    lag = max(0.0, slice_flip - (pod_flip or slice_flip))
    resolution = (time.monotonic() - started) / rounds
    print(
        f"\nAT-72 pod Ready=False -> EndpointSlice ready=false: {lag * 1000:.0f} ms"
        f" (polled every {resolution * 1000:.0f} ms)"
    )
    assert lag < 1.0
    not_ready = {"ready": False, "serving": False, "terminating": False}
    wait_conditions(kubectl, ns, "at72", "at72-a", not_ready, timeout=5)

    def moved() -> Any:
        ep = kubectl("get", "endpoints", "at72", "-n", ns, "-o", "json")
        subsets = ep.json().get("subsets") or [] if ep.rc == 0 else []
        return (
            len(subsets) == 1
            and not subsets[0].get("addresses")
            and [a["targetRef"]["name"] for a in subsets[0].get("notReadyAddresses", [])]
            == ["at72-a"]
        )

    wait_for(moved, timeout=5, what="at72 in notReadyAddresses")


def test_at73_terminating_pod_stays_serving_until_gone(kubectl: Kubectl, ns: str) -> None:
    """AT-73: a deleted pod still passing readiness → ready false, serving and terminating."""
    ready = {"ready": True, "serving": True, "terminating": False}
    wait_conditions(kubectl, ns, "at73", "at73-a", ready, timeout=40)
    kubectl.ok("delete", "pod", "at73-a", "-n", ns, "--wait=false")
    terminating = {"ready": False, "serving": True, "terminating": True}
    wait_conditions(kubectl, ns, "at73", "at73-a", terminating, timeout=5)
    wait_for(
        lambda: (
            not kubectl.ok("get", "endpoints", "at73", "-n", ns, "-o", "json").json().get("subsets")
        ),
        timeout=5,
        what="the terminating pod left out of Endpoints",
    )
    wait_for(
        lambda: "at73-a" not in endpoints_of(kubectl, ns, "at73"),
        timeout=40,
        interval=0.5,
        what="at73-a removed once gone",
    )


def test_at74_publish_not_ready_addresses(kubectl: Kubectl, ns: str) -> None:
    """AT-74: publishNotReadyAddresses → a not-ready pod is ready true, serving false."""
    expected = {"ready": True, "serving": False, "terminating": False}
    wait_conditions(kubectl, ns, "at74", "at74-a", expected, timeout=40)

    def published() -> bool:
        ep = kubectl.ok("get", "endpoints", "at74", "-n", ns, "-o", "json").json()
        subsets = ep.get("subsets") or []
        return [a["targetRef"]["name"] for s in subsets for a in s.get("addresses", [])] == [
            "at74-a"
        ]

    wait_for(published, timeout=5, what="at74-a in Endpoints addresses")


def _phase(kubectl: Kubectl, ns: str, name: str) -> str:
    return kubectl("get", "pod", name, "-n", ns, "-o", "jsonpath={.status.phase}").out


def test_at75_terminal_or_ip_less_pods_are_not_listed(kubectl: Kubectl, ns: str) -> None:
    """AT-75: Succeeded, Failed and IP-less pods are not listed; a live one is."""
    wait_for(
        lambda: (
            _phase(kubectl, ns, "at75-done") == "Succeeded"
            and _phase(kubectl, ns, "at75-failed") == "Failed"
        ),
        timeout=40,
        interval=0.5,
        what="at75 pods terminal",
    )
    wait_for(
        lambda: set(endpoints_of(kubectl, ns, "at75")) == {"at75-live"},
        timeout=10,
        what="only at75-live listed",
    )
    assert not kubectl.ok(
        "get", "pod", "at75-noip", "-n", ns, "-o", "jsonpath={.status.podIP}"
    ).out.strip()
