"""``kubectl logs`` against real containers: follow, default container, -c, --previous, tail.

Seed lab L7 with kubectl 1.33 on one node for the module; each test has its own
namespace. The containers print with the host's /bin/sh, and their output reaches
kubectl through conmon, the kubelet's CRI log files and the kubelet server.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_kubelet_support import (
    container,
    container_status,
    get_pod,
    kubectl_for,
    namespace,
    pod_yaml,
    wait_running,
)

pytestmark = pytest.mark.e2e

COUNTER = "i=0; while :; do echo {name}-$i; i=$((i+1)); sleep 0.3; done"


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def two(kubectl: Kubectl) -> Iterator[str]:
    """A namespace with two two-container pods, ``plain`` and ``annotated`` (default b)."""
    with namespace(kubectl, "l7") as ns:
        containers = [
            container("a", COUNTER.format(name="a")),
            container("b", COUNTER.format(name="b")),
        ]
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("plain", ns, containers))
        annotation = {"kubectl.kubernetes.io/default-container": "b"}
        kubectl.ok(
            "apply", "-f", "-", stdin=pod_yaml("annotated", ns, containers, annotations=annotation)
        )
        wait_running(kubectl, ns, "plain")
        wait_running(kubectl, ns, "annotated")
        yield ns


def _lines_of(kubectl: Kubectl, *args: str) -> list[str]:
    res = kubectl("logs", *args)
    return res.out.splitlines() if res.rc == 0 else []


def test_logs_follow_streams_lines_as_they_are_printed(
    kubectl: Kubectl, node: Node, two: str, tmp_path: Path
) -> None:
    """``kubectl logs -f -c a`` prints each new line while the app keeps running."""
    out = tmp_path / "follow.txt"
    env = {"HOME": str(kubectl.home), "KUBECONFIG": str(node.kubeconfig)}
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [str(kubectl.binary), "logs", "-f", "plain", "-c", "a", "-n", two],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        first = wait_for(lambda: out.read_text().split(), what="first followed line")
        last = int(first[-1].removeprefix("a-"))
        # Lines printed after ``-f`` attached arrive while it is still attached.
        wait_for(lambda: f"a-{last + 5}\n" in out.read_text(), timeout=10, what="new lines")
        assert proc.poll() is None
        numbers = [int(line.removeprefix("a-")) for line in out.read_text().split()]
        assert numbers == list(range(numbers[0], numbers[-1] + 1)) and numbers[0] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_logs_without_c_defaults_to_the_first_or_annotated_container(
    kubectl: Kubectl, two: str
) -> None:
    """kubectl 1.33 defaults to container a, or to the annotation's b, and says so on stderr."""
    res = kubectl.ok("logs", "plain", "-n", two)
    assert res.err.strip() == 'Defaulted container "a" out of: a, b'
    assert res.out.startswith("a-0\n") and "b-" not in res.out
    annotated = kubectl.ok("logs", "annotated", "-n", two)
    assert annotated.out.startswith("b-0\n") and "a-" not in annotated.out
    assert "Defaulted container" not in annotated.err
    named = kubectl.ok("logs", "plain", "-c", "b", "-n", two)
    assert named.out.startswith("b-0\n") and "a-" not in named.out and not named.err


def test_logs_tail_and_timestamps(kubectl: Kubectl, two: str) -> None:
    """``--tail 3`` prints the last three lines; ``--timestamps`` prefixes RFC 3339 times."""
    wait_for(lambda: len(_lines_of(kubectl, "plain", "-c", "a", "-n", two)) >= 5, what="5 lines")
    # The counter moves on between two calls: compare tails against one snapshot.
    tail = _lines_of(kubectl, "plain", "-c", "a", "-n", two, "--tail", "3")
    assert len(tail) == 3
    numbers = [int(line.removeprefix("a-")) for line in tail]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    stamped = _lines_of(kubectl, "plain", "-c", "a", "-n", two, "--timestamps", "--tail", "2")
    assert len(stamped) == 2
    for line in stamped:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z a-\d+", line), line


def test_logs_previous_shows_the_last_instance_after_a_restart(kubectl: Kubectl) -> None:
    """After a restart, ``--previous`` prints the previous instance's output, not the current."""
    script = (
        "n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; "
        "echo instance-$n; sleep 1; exit 1"
    )
    app = container("app", script, volumeMounts=[{"name": "data", "mountPath": "/data"}])
    volumes = [{"name": "data", "emptyDir": {}}]
    with namespace(kubectl, "prev") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("again", ns, [app], volumes=volumes))
        wait_for(
            lambda: container_status(get_pod(kubectl, ns, "again")).get("restartCount", 0) >= 1,
            timeout=20,
            what="a restart",
        )

        def consistent() -> tuple[str, str] | None:
            current = kubectl("logs", "again", "-n", ns)
            previous = kubectl("logs", "again", "-n", ns, "--previous")
            again = kubectl("logs", "again", "-n", ns)
            if current.rc or previous.rc or current.out != again.out:
                return None
            return previous.out, current.out

        previous, current = wait_for(consistent, timeout=20, what="stable logs")
        n = int(current.strip().removeprefix("instance-"))
        assert previous == f"instance-{n - 1}\n"


def test_logs_previous_without_a_restart_is_the_real_error(kubectl: Kubectl) -> None:
    """``--previous`` before any restart fails with the kubelet's "previous terminated" text."""
    with namespace(kubectl, "noprev") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("once", ns, [container("app", "sleep 600")]))
        wait_running(kubectl, ns, "once")
        started = time.monotonic()
        res = kubectl("logs", "once", "-n", ns, "--previous")
        assert time.monotonic() - started < 10
        assert res.rc == 1
        assert 'previous terminated container "app" in pod "once" not found' in res.err, res.err
