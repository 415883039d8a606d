"""``kubeproc why`` names the right cause, with its evidence, for four unhealthy pods.

One real node and four pods started at once, so the module costs the slowest pod's time
rather than the sum: ``live`` (an exec liveness probe that fails once the container is
four seconds old: period 1 s, failureThreshold 2), ``oom`` (python3 filling 200 MiB under
a 64Mi limit), ``crash`` (exits 1 at once; the harness's node backs off 1 s to 4 s) and
``unready`` (an exec readiness probe ``cat /tmp/nope``). Each test waits until the API
shows the state to explain, runs the verb as a user would (``$KUBECONFIG``, ``-n``), and
checks that the right cause is named with its evidence and the other causes are not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, Node, Result, wait_for
from tests.e2e.test_kubelet_support import (
    container,
    container_status,
    get_pod,
    kubectl_for,
    namespace,
    pod_yaml,
    require_oci,
)

pytestmark = [pytest.mark.e2e]

AGE = "$(( $(date +%s) - $(cat /tmp/born) ))"
LIVE_PROBE = f'test {AGE} -lt 4 || {{ echo "too old: {AGE}s"; exit 1; }}'
HOG = "b = b'x' * (200 * 1024 * 1024)\nimport time\ntime.sleep(600)\n"


def _pods(ns: str) -> list[str]:
    live = container(
        "app",
        "date +%s > /tmp/born; exec sleep 3600",
        livenessProbe={
            "exec": {"command": ["/bin/sh", "-c", LIVE_PROBE]},
            "periodSeconds": 1,
            "failureThreshold": 2,
        },
    )
    oom = {
        "name": "app",
        "image": "python",
        "command": ["python3", "-c", HOG],
        "resources": {"limits": {"memory": "64Mi"}},
    }
    crash = container("app", "echo giving up; exit 1")
    unready = container(
        "app",
        "exec sleep 3600",
        readinessProbe={"exec": {"command": ["cat", "/tmp/nope"]}, "periodSeconds": 1},
    )
    return [
        pod_yaml("live", ns, [live]),
        pod_yaml("oom", ns, [oom]),
        pod_yaml("crash", ns, [crash]),
        pod_yaml("unready", ns, [unready]),
    ]


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    require_oci(node)
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl) -> Iterator[str]:
    """The namespace, its four pods created together before any test runs."""
    with namespace(kubectl, "why") as name:
        kubectl.ok("apply", "-f", "-", stdin="---\n".join(_pods(name)))
        yield name


def why(node: Node, *args: str) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "kubeproc", "why", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HOME": str(node.home), "KUBECONFIG": str(node.kubeconfig)},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


def restarted(kubectl: Kubectl, ns: str, name: str) -> dict[str, Any] | None:
    """The container's status once it has a terminated last state and a restart."""
    status = container_status(get_pod(kubectl, ns, name))
    last = (status.get("lastState") or {}).get("terminated")
    return status if last and status.get("restartCount", 0) >= 1 else None


def explained(node: Node, ns: str, name: str, *needles: str) -> str:
    """``kubeproc why``'s answer once it holds every needle (events land asynchronously)."""

    def answer() -> str | None:
        res = why(node, name, "-n", ns)
        assert res.rc == 0, res.err
        return res.out if all(n in res.out for n in needles) else None

    out: str = wait_for(answer, timeout=30, interval=1.0, what=f"why {name}: {needles}")
    print(f"\n{out}")
    return out


def test_a_liveness_restart_names_the_failing_probe(node: Node, kubectl: Kubectl, ns: str) -> None:
    """The liveness probe's failures, its output and the Killing event explain the restart."""
    wait_for(lambda: restarted(kubectl, ns, "live"), timeout=45, what="live restarted")
    out = explained(
        node, ns, "live",
        "the liveness probe failed 2 times in a row",
        "event Killing:",
        "Container app failed liveness probe, will be restarted",
    )  # fmt: skip
    assert "liveness probe:" in out and "failure exit 1 'too old:" in out
    for other in ("OOM", "exited by itself", "readiness probe", "flaps"):
        assert other not in out


def test_an_oom_kill_names_the_memory_limit(node: Node, kubectl: Kubectl, ns: str) -> None:
    """Reason OOMKilled, exit 137 and the 64Mi limit explain the restart."""
    wait_for(lambda: restarted(kubectl, ns, "oom"), timeout=45, what="oom restarted")
    out = explained(node, ns, "oom", "OOM killed")
    assert "at its memory limit 64Mi" in out
    assert "reason OOMKilled, exit code 137 (SIGKILL)" in out
    for other in ("liveness", "exited by itself", "readiness probe", "flaps"):
        assert other not in out


def test_a_crash_loop_names_the_exit_code_and_back_off(
    node: Node, kubectl: Kubectl, ns: str
) -> None:
    """The process exited by itself with code 1; the back-off is quoted from the status."""

    def looping() -> bool:
        status = restarted(kubectl, ns, "crash")
        waiting = ((status or {}).get("state") or {}).get("waiting") or {}
        return waiting.get("reason") == "CrashLoopBackOff"

    wait_for(looping, timeout=45, what="crash in CrashLoopBackOff")
    out = explained(node, ns, "crash", "now in CrashLoopBackOff")
    assert "the process exited by itself with exit code 1" in out
    assert "back-off" in out and "restarting failed container=app" in out
    for other in ("OOM", "liveness", "readiness probe", "flaps"):
        assert other not in out


def test_a_readiness_failure_names_the_probe_and_its_output(
    node: Node, kubectl: Kubectl, ns: str
) -> None:
    """Not ready: the readiness probe fails with cat's own words; nothing restarted."""
    out = explained(node, ns, "unready", "the readiness probe fails", "event Unhealthy:")
    assert "Pod " + ns + "/unready: Running, not ready, 0 restarts." in out
    assert "exit 1" in out and "/tmp/nope" in out
    assert "Readiness probe failed:" in out
    for other in ("OOM", "liveness", "exited by itself", "Restarts:", "flaps"):
        assert other not in out


def test_a_missing_pod_or_container_reads_as_kubectl_says_it(node: Node, ns: str) -> None:
    """A pod or container that does not exist: kubectl's line and exit 1, no traceback."""
    res = why(node, "nope", "-n", ns)
    assert (res.rc, res.err.strip()) == (1, 'Error from server (NotFound): pods "nope" not found')
    res = why(node, "unready", "-n", ns, "-c", "nope")
    assert (res.rc, res.err.strip()) == (
        1, "Error from server (BadRequest): container nope is not valid for pod unready",
    )  # fmt: skip
