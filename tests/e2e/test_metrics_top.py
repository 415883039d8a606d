"""``kubectl top`` against real containers: seed lab L8, metrics.k8s.io/v1beta1.

One node for the module and one namespace holding the lab's two pods
(``examples/labs/l8-top``): ``cpu-burner``, a python3 busy loop, and ``memory-holder``,
python3 holding 200 MiB. The figures kubectl prints are checked against the containers'
own cgroup counters, read here straight from the cgroup files over the same window (the
machine has two cores and other tests run beside this one, so the busy loop may well get
less than a core: the cgroup, not 1000m, is the reference).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Kubectl, Node, kubectl_binaries, squash, wait_for
from tests.e2e.test_kubelet_support import (
    get_pod,
    kubectl_for,
    namespace,
    park_marker,
    require_oci,
    wait_running,
)

pytestmark = pytest.mark.e2e

LAB = Path(__file__).resolve().parents[2] / "examples" / "labs" / "l8-top"
CGROUP = Path("/sys/fs/cgroup")
MIB = 1024 * 1024
TOLERANCE = 0.10


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def lab_started(node: Node, kubectl: Kubectl) -> Iterator[str]:
    """The L8 pods running in a fresh namespace."""
    with namespace(kubectl, "l8") as ns:
        kubectl.ok("apply", "-k", str(LAB), "-n", ns)
        require_oci(node)
        for name in ("cpu-burner", "memory-holder"):
            wait_running(kubectl, ns, name)
        yield ns


@pytest.fixture(scope="module")
def burner_cpu(kubectl: Kubectl, lab_started: str) -> Iterator[CpuRecorder]:
    """The busy loop's cgroup CPU counter, recorded from the moment it runs."""
    with CpuRecorder(_container_cgroup(kubectl, lab_started, "cpu-burner", "cpuacct")) as rec:
        yield rec


@pytest.fixture(scope="module")
def lab(kubectl: Kubectl, lab_started: str, burner_cpu: CpuRecorder) -> str:
    """The L8 namespace once both pods have metrics (and the CPU recorder runs)."""
    wait_for(
        lambda: len(_rows(kubectl("top", "pod", "-n", lab_started, "--no-headers").out)) == 2,
        timeout=30,
        interval=0.5,
        what="metrics for both pods",
    )
    return lab_started


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip()]


def _header(text: str) -> str:
    return squash(text.splitlines()[0]).strip()


def _millicores(text: str) -> int:
    assert text.endswith("m"), text
    return int(text[:-1])


def _mebibytes(text: str) -> int:
    assert text.endswith("Mi"), text
    return int(text[:-2])


# -- the cgroups' own counters ---------------------------------------------------------


def _container_cgroup(kubectl: Kubectl, ns: str, pod: str, controller: str) -> Path:
    """The container's cgroup directory in ``controller`` (v1) or the unified tree (v2)."""
    (status,) = get_pod(kubectl, ns, pod)["status"]["containerStatuses"]
    cid = str(status["containerID"]).partition("://")[2]
    root = CGROUP / controller if (CGROUP / controller).is_dir() else CGROUP
    found = [p for p in root.glob(f"*/*/{cid}") if p.is_dir()]
    assert len(found) == 1, f"cgroup of {ns}/{pod} ({cid}) under {root}: {found}"
    return found[0]


def _cpu_ns(cgroup: Path) -> int:
    if (cgroup / "cpuacct.usage").exists():
        return int((cgroup / "cpuacct.usage").read_text())
    for line in (cgroup / "cpu.stat").read_text().splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) * 1000
    raise AssertionError(f"no CPU counter in {cgroup}")


def _working_set(cgroup: Path) -> int:
    stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    if (cgroup / "memory.usage_in_bytes").exists():
        usage = int((cgroup / "memory.usage_in_bytes").read_text())
        return max(0, usage - int(stat["total_inactive_file"]))
    usage = int((cgroup / "memory.current").read_text())
    return max(0, usage - int(stat["inactive_file"]))


class CpuRecorder:
    """Samples a cgroup's CPU counter every 0.2 s in a thread, for rates over any window."""

    def __init__(self, cgroup: Path) -> None:
        self.cgroup = cgroup
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuRecorder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), _cpu_ns(self.cgroup)))
            self._stop.wait(0.2)

    def at(self, moment: float) -> float:
        """The counter at ``moment``, interpolated between the two samples around it."""
        for (t0, v0), (t1, v1) in zip(self.samples, self.samples[1:], strict=False):
            if t0 <= moment <= t1:
                return v0 + (v1 - v0) * (moment - t0) / (t1 - t0)
        raise AssertionError(f"no samples around {moment} ({len(self.samples)} samples)")

    def millicores(self, start: float, end: float) -> float:
        return (self.at(end) - self.at(start)) / (end - start) / 1e6


def _window(metrics: dict[str, object]) -> tuple[float, float]:
    """The (start, end) of a PodMetrics' window in epoch seconds.

    ``timestamp`` has second precision (metav1.Time): the true end lies within the second
    after it, so the middle of that second is the best guess.
    """
    end = dt.datetime.fromisoformat(str(metrics["timestamp"]).replace("Z", "+00:00"))
    seconds = float(str(metrics["window"]).removesuffix("s"))
    stop = end.timestamp() + 0.5
    return stop - seconds, stop


def _pod_metrics(kubectl: Kubectl, ns: str, pod: str) -> dict[str, object]:
    path = f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods/{pod}"
    found: dict[str, object] = json.loads(kubectl.ok("get", "--raw", path).out)
    return found


# -- the tests ---------------------------------------------------------------------------


def test_top_pod_cpu_matches_the_cgroup_over_the_same_window(
    kubectl: Kubectl, lab: str, burner_cpu: CpuRecorder
) -> None:
    """kubectl top pod shows the busy loop's CPU within 10% of its cgroup's own rate."""

    def one_window() -> tuple[int, float] | None:
        before = _pod_metrics(kubectl, lab, "cpu-burner")
        start, end = _window(before)
        if start < burner_cpu.samples[0][0] or time.time() < end + 0.3:
            return None  # the window began before recording, or is still ending
        rows = _rows(kubectl.ok("top", "pod", "cpu-burner", "-n", lab, "--no-headers").out)
        if _pod_metrics(kubectl, lab, "cpu-burner")["timestamp"] != before["timestamp"]:
            return None  # a new sample came in between: try again
        return _millicores(rows[0][1]), burner_cpu.millicores(start, end)

    shown, measured = wait_for(one_window, timeout=25, interval=0.5, what="a full window")
    assert measured > 200, f"the busy loop barely ran: {measured:.0f}m"
    assert abs(shown - measured) <= TOLERANCE * measured, f"top {shown}m, cgroup {measured:.0f}m"


def test_top_pod_memory_matches_the_cgroup_working_set(kubectl: Kubectl, lab: str) -> None:
    """kubectl top pod shows the 200 MiB holder's working set within 10% of its cgroup's."""
    cgroup = _container_cgroup(kubectl, lab, "memory-holder", "memory")
    rows = _rows(kubectl.ok("top", "pod", "memory-holder", "-n", lab, "--no-headers").out)
    shown = _mebibytes(rows[0][2])
    measured = _working_set(cgroup) / MIB
    assert abs(shown - measured) <= TOLERANCE * measured, f"top {shown}Mi, cgroup {measured:.1f}Mi"
    assert 200 <= shown <= 260, f"200 MiB held, top shows {shown}Mi"


def test_top_pod_tables_as_kubectl_prints_them(kubectl: Kubectl, lab: str) -> None:
    """Headers and rows of top pod with -n, -A, --containers, -l and --sort-by."""
    plain = kubectl.ok("top", "pod", "-n", lab).out
    assert _header(plain) == "NAME CPU(cores) MEMORY(bytes)"
    assert sorted(r[0] for r in _rows(plain)[1:]) == ["cpu-burner", "memory-holder"]

    everywhere = kubectl.ok("top", "pod", "-A").out
    assert _header(everywhere) == "NAMESPACE NAME CPU(cores) MEMORY(bytes)"
    assert [lab, "cpu-burner"] in [r[:2] for r in _rows(everywhere)[1:]]

    containers = kubectl.ok("top", "pod", "-n", lab, "--containers").out
    assert _header(containers) == "POD NAME CPU(cores) MEMORY(bytes)"
    assert sorted(r[:2] for r in _rows(containers)[1:]) == [
        ["cpu-burner", "burn"],
        ["memory-holder", "hold"],
    ]

    selected = kubectl.ok("top", "pod", "-n", lab, "-l", "app=memory-holder").out
    assert [r[0] for r in _rows(selected)[1:]] == ["memory-holder"]

    by_cpu = kubectl.ok("top", "pod", "-n", lab, "--sort-by=cpu", "--no-headers").out
    assert [r[0] for r in _rows(by_cpu)] == ["cpu-burner", "memory-holder"]
    by_memory = kubectl.ok("top", "pod", "-n", lab, "--sort-by=memory", "--no-headers").out
    assert [r[0] for r in _rows(by_memory)] == ["memory-holder", "cpu-burner"]


def test_kubectl_get_metrics_objects(kubectl: Kubectl, lab: str) -> None:
    """kubectl get podmetrics / nodemetrics print metrics-server's columns."""
    pods = kubectl.ok("get", "podmetrics", "-n", lab).out
    assert _header(pods) == "NAME CPU MEMORY WINDOW"
    assert sorted(r[0] for r in _rows(pods)[1:]) == ["cpu-burner", "memory-holder"]
    one = kubectl.ok("get", "podmetrics", "memory-holder", "-n", lab, "-o", "json").json()
    assert (one["kind"], one["containers"][0]["name"]) == ("PodMetrics", "hold")
    nodes = kubectl.ok("get", "nodemetrics").out
    assert _header(nodes) == "NAME CPU MEMORY WINDOW"
    assert len(_rows(nodes)) == 2


def test_top_node_shows_sane_figures(kubectl: Kubectl, lab: str) -> None:
    """kubectl top node: the node's CPU and memory cover at least the lab's pods."""
    out = kubectl.ok("top", "node").out
    assert _header(out) == "NAME CPU(cores) CPU(%) MEMORY(bytes) MEMORY(%)"
    (row,) = _rows(out)[1:]
    pods = {r[0]: r for r in _rows(kubectl.ok("top", "pod", "-n", lab, "--no-headers").out)}
    assert _millicores(row[1]) >= 0.8 * _millicores(pods["cpu-burner"][1])
    assert _mebibytes(row[3]) >= _mebibytes(pods["memory-holder"][2])
    assert re.fullmatch(r"\d+%", row[2]) and re.fullmatch(r"\d+%", row[4]), row
    assert 0 < int(row[4].rstrip("%")) <= 100


def test_a_pod_without_metrics_is_not_found(node: Node, kubectl: Kubectl, lab: str) -> None:
    """A pod with no figures yet is a NotFound podmetrics, and is left out of lists."""
    park_marker(kubectl, lab)
    path = f"/apis/metrics.k8s.io/v1beta1/namespaces/{lab}/pods/marker"
    res = node.http("GET", path)
    assert res.status == 404
    body = res.json()
    assert body["reason"] == "NotFound"
    assert body["message"] == f'podmetrics.metrics.k8s.io "{lab}/marker" not found'
    assert body["details"] == {
        "name": f"{lab}/marker",
        "group": "metrics.k8s.io",
        "kind": "podmetrics",
    }
    top = kubectl("top", "pod", "marker", "-n", lab)
    assert top.rc == 1
    assert f'podmetrics.metrics.k8s.io "{lab}/marker" not found' in top.err
    listed = kubectl.ok("top", "pod", "-n", lab, "--no-headers").out
    assert "marker" not in listed
    kubectl.ok("delete", "pod", "marker", "-n", lab, "--wait=false")


def test_discovery_lists_the_metrics_group(node: Node) -> None:
    """/apis lists metrics.k8s.io/v1beta1 in the legacy and the aggregated forms."""
    legacy = node.http("GET", "/apis").json()
    assert {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"} in [
        g["preferredVersion"] for g in legacy["groups"]
    ]
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    aggregated = node.http("GET", "/apis", headers={"Accept": accept}).json()
    group = next(i for i in aggregated["items"] if i["metadata"]["name"] == "metrics.k8s.io")
    resources = {r["resource"]: r["scope"] for r in group["versions"][0]["resources"]}
    assert resources == {"nodes": "Cluster", "pods": "Namespaced"}
    listed = node.http("GET", "/apis/metrics.k8s.io/v1beta1").json()
    assert [r["kind"] for r in listed["resources"]] == ["NodeMetrics", "PodMetrics"]


@pytest.mark.parametrize("version", sorted(kubectl_binaries()))
def test_every_kubectl_prints_top(node: Node, lab: str, version: str, tmp_path: Path) -> None:
    """Each installed kubectl finds the Metrics API and prints both tables."""
    kubectl = Kubectl(kubectl_binaries()[version], node, tmp_path / "home")
    pods = kubectl.ok("top", "pod", "-n", lab).out
    assert _header(pods) == "NAME CPU(cores) MEMORY(bytes)"
    assert len(_rows(pods)) == 3
    nodes = kubectl.ok("top", "node").out
    # kubectl 1.32 renamed its own columns CPU% and MEMORY% to CPU(%) and MEMORY(%).
    percent = "(%)" if int(version.split(".")[1]) >= 32 else "%"
    assert _header(nodes) == f"NAME CPU(cores) CPU{percent} MEMORY(bytes) MEMORY{percent}"
