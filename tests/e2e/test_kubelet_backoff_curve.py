"""CrashLoopBackOff's curve: the real first steps, and the reset after a long run (AT-60, AT-61).

Each test runs its own node with the back-off flags it needs. The app appends its start time
to a file on a hostPath volume, so the gaps between starts are measured from the container's
own clock, not from status polling.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Node, wait_for
from tests.e2e.test_kubelet_support import (
    container,
    kubectl_for,
    namespace,
    pod_yaml,
    require_oci,
)

pytestmark = [pytest.mark.e2e, pytest.mark.long]


@pytest.fixture
def curve_node(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Node]:
    node = Node(tmp_path / "node")
    flags: tuple[str, ...] = request.param
    up = node.up(*flags)
    assert up.rc == 0, up.err
    try:
        require_oci(node)
        yield node
    finally:
        assert node.down().rc == 0


def _starts(node: Node, tmp_path: Path, script: str, count: int, timeout: float) -> list[float]:
    """Run a crashing app; the first ``count`` start times it recorded."""
    starts = tmp_path / "starts"
    starts.mkdir()
    volumes = [{"name": "starts", "hostPath": {"path": str(starts), "type": "Directory"}}]
    app = container("app", script, volumeMounts=[{"name": "starts", "mountPath": "/starts"}])
    kubectl = kubectl_for(node, tmp_path / "home")
    log = starts / "log"
    with namespace(kubectl, "curve") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("crash", ns, [app], volumes=volumes))
        wait_for(
            lambda: log.exists() and len(log.read_text().split()) >= count,
            timeout=timeout,
            what=f"{count} starts",
        )
    return [float(s) for s in log.read_text().split()[:count]]


@pytest.mark.parametrize(
    "curve_node",
    [("--crashloop-backoff-initial", "10", "--crashloop-backoff-max", "300")],
    indirect=True,
)
def test_real_curve_first_steps(curve_node: Node, tmp_path: Path) -> None:
    """On Kubernetes' own curve, restarts come after 0 s, then 10 s, then 20 s (each ±1 s)."""
    stamps = _starts(curve_node, tmp_path, "date +%s.%N >> /starts/log; exit 1", 4, 60)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    for gap, expected in zip(gaps, [0, 10, 20], strict=True):
        assert abs(gap - expected) <= 1, gaps


@pytest.mark.parametrize(
    "curve_node",
    [
        (
            "--crashloop-backoff-initial",
            "2",
            "--crashloop-backoff-max",
            "8",
            "--crashloop-backoff-reset",
            "4",
        )
    ],
    indirect=True,
)
def test_a_long_run_starts_the_curve_over(curve_node: Node, tmp_path: Path) -> None:
    """AT-61 on a short curve: after a run longer than the reset, restart at once, then 2 s again.

    Starts 1-3 crash at once (gaps 0, 2, 4 s); start 4 runs 6 s, longer than the 4 s reset,
    so start 5 follows at once and its crash waits the initial 2 s, not the 8 s cap.
    """
    script = (
        "date +%s.%N >> /starts/log; n=$(wc -l < /starts/log); "
        'if [ "$n" = 4 ]; then sleep 6; fi; exit 1'
    )
    stamps = _starts(curve_node, tmp_path, script, 6, 60)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    for gap, expected in zip(gaps, [0, 2, 4, 6, 2], strict=True):
        assert abs(gap - expected) <= 1, gaps
