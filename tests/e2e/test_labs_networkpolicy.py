"""Seed lab L5 with the real kubectl: a NetworkPolicy lets only nginx-1 reach nginx-2.

One real node (oci runtime) for the module. The lab is applied as the user applies it
(``kubectl apply -k``), plus one pod the policy does not name. Every connection is
``curl`` run inside a pod with ``kubectl exec``, to nginx-2's pod IP, as in the document.
curl tells the outcomes apart by its exit code: 0 answered, 7 refused (allowed, but
nothing listens), 28 timed out (the policy dropped the SYN: the connection hangs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_kubelet_support import kubectl_for, namespace, require_oci, wait_running

pytestmark = pytest.mark.e2e

LAB = Path(__file__).resolve().parents[2] / "examples" / "labs" / "l5-networkpolicy"
CURL_TIMEOUT = 2
ANSWERED, REFUSED, DROPPED = 0, 7, 28
"""curl's exit codes: a 200, connection refused, operation timed out."""
WHAT = {ANSWERED: "answered", REFUSED: "refused", DROPPED: "dropped"}


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def lab(kubectl: Kubectl, node: Node) -> Iterator[str]:
    require_oci(node)
    with namespace(kubectl, "l5") as ns:
        kubectl.ok("apply", "-k", str(LAB), "-n", ns)
        kubectl.ok(
            "run", "other", "-n", ns, "--image", "busybox", "--labels", "app=other",
            "--command", "--", "sleep", "3600",
        )  # fmt: skip
        for pod in ("nginx-1", "nginx-2", "other"):
            wait_running(kubectl, ns, pod, timeout=60)
        yield ns


def pod_ip(kubectl: Kubectl, ns: str, pod: str) -> str:
    ip: str = json.loads(kubectl.ok("get", "pod", pod, "-n", ns, "-o", "json").out)["status"][
        "podIP"
    ]
    return ip


def curl(kubectl: Kubectl, ns: str, client: str, url: str) -> int:
    """curl ``url`` from inside ``client``; its exit code (kubectl passes it on)."""
    res = kubectl(
        "exec", client, "-n", ns, "--", "curl", "-sS", "-o", "/dev/null",
        "-m", str(CURL_TIMEOUT), url, timeout=30,
    )  # fmt: skip
    return res.rc


def outcomes(kubectl: Kubectl, ns: str, cells: dict[tuple[str, str], int]) -> dict[str, str]:
    """What each (client, url) does now, in words, for the assertion message."""
    return {f"{c} -> {u}": WHAT.get(curl(kubectl, ns, c, u), "?") for c, u in cells}


def wait_outcomes(kubectl: Kubectl, ns: str, cells: dict[tuple[str, str], int]) -> None:
    """Poll until every (client, url) gives its expected exit code, or fail with the table."""
    expected = {f"{c} -> {u}": WHAT[code] for (c, u), code in cells.items()}
    seen: dict[str, str] = {}

    def holds() -> bool:
        seen.clear()
        seen.update(outcomes(kubectl, ns, cells))
        return seen == expected

    try:
        wait_for(holds, timeout=20, interval=0.2, what="the policy's outcomes")
    except AssertionError as err:
        raise AssertionError(f"expected {expected}\nseen     {seen}") from err


def test_policy_lets_only_nginx_1_in_on_80_and_the_change_flips_it(
    kubectl: Kubectl, lab: str
) -> None:
    ns = lab
    ip = pod_ip(kubectl, ns, "nginx-2")
    rows = kubectl.ok("get", "networkpolicy", "-n", ns).out.splitlines()
    assert rows[0].split()[:2] == ["NAME", "POD-SELECTOR"], rows
    assert rows[1].split()[:2] == ["nginx-2-networkpolicy", "app=nginx-2"], rows

    # The document: from nginx-1, port 80 answers and 8080 hangs; nobody else gets in.
    wait_outcomes(
        kubectl,
        ns,
        {
            ("nginx-1", f"http://{ip}/"): ANSWERED,
            ("nginx-1", f"http://{ip}:8080/"): DROPPED,
            ("other", f"http://{ip}/"): DROPPED,
        },
    )
    # nginx-1 is not selected by any policy: everyone still reaches it.
    assert curl(kubectl, ns, "other", f"http://{pod_ip(kubectl, ns, 'nginx-1')}/") == ANSWERED

    # The change, applied as the document applies it: 8080 is now allowed (and refused, as
    # nothing listens there) and 80 hangs.
    kubectl.ok("apply", "-f", str(LAB / "nginx-2-networkpolicy-8080.yaml"), "-n", ns)
    wait_outcomes(
        kubectl,
        ns,
        {
            ("nginx-1", f"http://{ip}:8080/"): REFUSED,
            ("nginx-1", f"http://{ip}/"): DROPPED,
        },
    )

    # Without the policy nginx-2 is open again.
    kubectl.ok("delete", "networkpolicy", "nginx-2-networkpolicy", "-n", ns)
    wait_outcomes(
        kubectl,
        ns,
        {("nginx-1", f"http://{ip}/"): ANSWERED, ("other", f"http://{ip}/"): ANSWERED},
    )


def test_process_runtime_says_policies_are_not_enforced(fresh_node: Node, tmp_path: Path) -> None:
    """Pods share the host's network there: kubectl prints a warning, the policy an event."""
    res = fresh_node.up("--runtime", "process")
    assert res.rc == 0, f"kubeproc up failed: {res.err}{res.out}"
    kubectl = kubectl_for(fresh_node, tmp_path / "kubectl-home")
    applied = kubectl.ok("apply", "-f", str(LAB / "nginx-2-networkpolicy.yaml"), "-n", "default")
    assert "Warning: NetworkPolicy is not enforced on this node" in applied.err, applied.err
    assert "networkpolicy.networking.k8s.io/nginx-2-networkpolicy created" in applied.out

    def event() -> dict[str, Any] | None:
        events = json.loads(kubectl.ok("get", "events", "-n", "default", "-o", "json").out)
        found = [e for e in events["items"] if e.get("reason") == "NetworkPolicyNotEnforced"]
        return found[0] if found else None

    seen: dict[str, Any] = wait_for(event, timeout=20, what="the NetworkPolicyNotEnforced event")
    assert seen["type"] == "Warning"
    assert seen["involvedObject"]["kind"] == "NetworkPolicy"
    assert seen["involvedObject"]["name"] == "nginx-2-networkpolicy"
