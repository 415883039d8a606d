"""Pod lifecycle as kubectl shows it: start, conditions, events, exits, restarts, back-off.

One real node for the module (oci runtime where the machine allows it) on the short
crash-loop curve the harness sets (1 s doubling to 4 s); each test works in its own
namespace and force-deletes its pods on the way out. Seed lab L10 and spec AT-60, AT-62,
AT-63, AT-69, AT-70, AT-76 and AT-78.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, Node, squash, wait_for
from tests.e2e.test_kubelet_support import (
    container,
    container_status,
    get_pod,
    get_row,
    json_stream,
    kubectl_for,
    namespace,
    park_marker,
    pod_yaml,
    wait_running,
    wait_status,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


def _rfc3339(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def watch_files(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Background ``kubectl get -w`` processes, each stopped at the end of the test."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_pod_start_shows_pending_then_running_conditions_and_kubelet_events(
    kubectl: Kubectl, node: Node, tmp_path: Path, watch_files: list[subprocess.Popen[bytes]]
) -> None:
    """A starting pod goes Pending → Running in ``get -w``; describe shows L10's conditions and events."""
    with namespace(kubectl, "l10") as ns:
        park_marker(kubectl, ns)
        env = {"HOME": str(kubectl.home), "KUBECONFIG": str(node.kubeconfig)}
        table, phases = tmp_path / "table.txt", tmp_path / "phases.txt"
        for out, extra in (
            (table, []),
            (phases, ["-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase"]),
        ):
            with out.open("wb") as sink:
                watch_files.append(
                    subprocess.Popen(
                        [str(kubectl.binary), "get", "pods", "-n", ns, "-w", *extra],
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                )
        wait_for(
            lambda: "marker" in table.read_text() and "marker" in phases.read_text(),
            what="watches up",
        )
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("web", ns, [container("app", "sleep 600")]))
        wait_running(kubectl, ns, "web")
        rows = wait_for(
            lambda: (
                [squash(line).split(" ") for line in table.read_text().splitlines()]
                if re.search(r"web 1/1 Running 0", squash(table.read_text()))
                else None
            ),
            what="Running row in get -w",
        )
        statuses = [row[2] for row in rows if row[0] == "web"]
        assert statuses[-1] == "Running"
        # Every row before Running is a starting state; ContainerCreating when observable.
        assert set(statuses[:-1]) <= {"Pending", "ContainerCreating"}, statuses
        seen_phases = wait_for(
            lambda: (
                (p := [line.split() for line in phases.read_text().splitlines()])
                and ["web", "Running"] in p
                and p
            ),
            what="phase Running in the custom-columns watch",
        )
        web_phases = [row[1] for row in seen_phases if row[0] == "web"]
        assert web_phases[0] == "Pending", web_phases
        assert web_phases.index("Pending") < web_phases.index("Running")

        node_name = kubectl.ok("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").out
        describe = wait_for(
            lambda: (
                (d := squash(kubectl.ok("describe", "pod", "web", "-n", ns).out))
                and "Started container app" in d
                and d
            ),
            what="Started event in describe",
        )
        conditions = re.findall(r"^ *(\w+) (True|False) *$", describe, re.MULTILINE)
        assert conditions == [  # AT-69: kubelet order, all True
            ("PodReadyToStartContainers", "True"),
            ("Initialized", "True"),
            ("Ready", "True"),
            ("ContainersReady", "True"),
            ("PodScheduled", "True"),
        ]
        for reason, message in (
            ("Scheduled", f"default-scheduler Successfully assigned {ns}/web to {node_name}"),
            ("Pulled", 'kubelet Container image "busybox" already present on machine'),
            ("Created", "kubelet Created container: app"),
            ("Started", "kubelet Started container app"),
        ):
            assert re.search(rf"Normal {reason} \S+ {re.escape(message)}", describe), reason


def test_exit_1_with_never_ends_failed_with_error(kubectl: Kubectl) -> None:
    """AT-62: exit 1 with restartPolicy Never is not restarted; phase Failed, STATUS Error, 0/1."""
    with namespace(kubectl, "at62") as ns:
        kubectl.ok(
            "apply",
            "-f",
            "-",
            stdin=pod_yaml("fail", ns, [container("app", "exit 1")], restart_policy="Never"),
        )
        row = wait_status(kubectl, ns, "fail", "Error")
        assert row[1] == "0/1" and row[3] == "0"
        pod = get_pod(kubectl, ns, "fail")
        assert pod["status"]["phase"] == "Failed"
        terminated = container_status(pod)["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
        assert container_status(pod)["restartCount"] == 0


def test_exit_0_with_onfailure_ends_succeeded_completed(kubectl: Kubectl) -> None:
    """AT-63: exit 0 with OnFailure is not restarted; Succeeded, Completed, Ready False PodCompleted."""
    with namespace(kubectl, "at63") as ns:
        kubectl.ok(
            "apply",
            "-f",
            "-",
            stdin=pod_yaml("done", ns, [container("app", "exit 0")], restart_policy="OnFailure"),
        )
        row = wait_status(kubectl, ns, "done", "Completed")
        assert row[1] == "0/1" and row[3] == "0"
        pod = get_pod(kubectl, ns, "done")
        assert pod["status"]["phase"] == "Succeeded"
        ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready.get("reason")) == ("False", "PodCompleted")
        assert container_status(pod)["restartCount"] == 0


def test_restart_records_the_previous_instance_and_restarts_column(kubectl: Kubectl) -> None:
    """AT-70/AT-76: a restart bumps restartCount, keeps the old instance in lastState, new ID."""
    with namespace(kubectl, "at70") as ns:
        kubectl.ok(
            "apply", "-f", "-", stdin=pod_yaml("rs", ns, [container("app", "sleep 2; exit 3")])
        )
        first = container_status(wait_running(kubectl, ns, "rs"))
        assert first["restartCount"] == 0 and not first.get("lastState")

        def restarted() -> dict[str, Any] | None:
            status = container_status(get_pod(kubectl, ns, "rs"))
            return status if status.get("restartCount", 0) >= 1 else None

        second = wait_for(restarted, timeout=20, what="first restart")
        assert second["restartCount"] == 1
        last = second["lastState"]["terminated"]
        assert last["containerID"] == first["containerID"]
        assert (last["exitCode"], last["reason"]) == (3, "Error")
        assert last["startedAt"] == first["state"]["running"]["startedAt"]
        assert _rfc3339(last["finishedAt"]) - _rfc3339(last["startedAt"]) >= 1
        assert second["containerID"] != first["containerID"]

        # AT-76: after the second restart the RESTARTS column reads "2 (Ns ago)".
        row = wait_for(
            lambda: (r := get_row(kubectl, ns, "rs")) and r[3].startswith("2 (") and r,
            timeout=20,
            what="RESTARTS 2 (Ns ago)",
        )
        match = re.fullmatch(r"2 \((\d+)s ago\)", row[3])
        assert match and int(match.group(1)) < 10, row


def test_crashloop_backoff_follows_the_shortened_curve(
    kubectl: Kubectl, node: Node, tmp_path: Path, watch_files: list[subprocess.Popen[bytes]]
) -> None:
    """AT-60 on the 1 s/4 s curve: restarts after 0, 1, 2, 4, 4 s; CrashLoopBackOff in between."""
    starts = tmp_path / "starts"
    starts.mkdir()
    volumes = [{"name": "starts", "hostPath": {"path": str(starts), "type": "Directory"}}]
    app = container(
        "app",
        "date +%s.%N >> /starts/log; exit 1",
        volumeMounts=[{"name": "starts", "mountPath": "/starts"}],
    )
    with namespace(kubectl, "at60") as ns:
        park_marker(kubectl, ns)
        out = tmp_path / "watch.json"
        with out.open("wb") as sink:
            watch_files.append(
                subprocess.Popen(
                    [str(kubectl.binary), "get", "pods", "-n", ns, "-w", "-o", "json"],
                    stdout=sink,
                    env={"HOME": str(kubectl.home), "KUBECONFIG": str(node.kubeconfig)},
                )
            )
        wait_for(lambda: "marker" in out.read_text(), what="watch up")
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("crash", ns, [app], volumes=volumes))
        uid = get_pod(kubectl, ns, "crash")["metadata"]["uid"]
        log = starts / "log"
        wait_for(
            lambda: log.exists() and len(log.read_text().split()) >= 6,
            timeout=30,
            what="six starts",
        )
        stamps = [float(s) for s in log.read_text().split()[:6]]
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        for gap, expected in zip(gaps, [0, 1, 2, 4, 4], strict=True):
            assert abs(gap - expected) <= 1, (gaps, expected)
        statuses: set[str] = set()
        wait_for(
            lambda: (
                (r := get_row(kubectl, ns, "crash"))
                and statuses.add(r[2]) is None
                and "CrashLoopBackOff" in statuses
            ),
            timeout=10,
            interval=0.05,
            what="STATUS CrashLoopBackOff",
        )
        # Every CrashLoopBackOff the watch saw names the delay of its step: 1s while
        # restartCount is 1, 2s at 2, then the 4s cap; each step was seen.
        delays = {1: "1s", 2: "2s", 3: "4s", 4: "4s", 5: "4s"}
        seen: dict[str, int] = {}
        for pod in json_stream(out.read_text()):
            status = container_status(pod)
            waiting = status.get("state", {}).get("waiting", {})
            if pod["metadata"]["name"] == "crash" and waiting.get("reason") == "CrashLoopBackOff":
                delay = delays[status["restartCount"]]
                expected = f"back-off {delay} restarting failed container=app pod=crash_{ns}({uid})"
                assert waiting["message"] == expected
                assert pod["status"]["phase"] == "Running"
                seen[delay] = status["restartCount"]
        assert set(seen) == {"1s", "2s", "4s"}, seen
        events = kubectl.ok(
            "get", "events", "-n", ns, "--field-selector", "reason=BackOff", "-o", "json"
        ).json()["items"]
        assert events and all(e["type"] == "Warning" for e in events)
        assert {e["message"] for e in events} == {
            f"Back-off restarting failed container app in pod crash_{ns}({uid})"
        }


def test_deleting_a_pod_that_ignores_sigterm_shows_terminating(kubectl: Kubectl) -> None:
    """AT-78: deleted with a 30 s grace the pod reads Terminating; a shorter delete ends it."""
    with namespace(kubectl, "at78") as ns:
        app = {"name": "app", "image": "busybox", "command": ["sleep", "600"]}
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("slow", ns, [app], grace=30))
        wait_running(kubectl, ns, "slow")
        kubectl.ok("delete", "pod", "slow", "-n", ns, "--wait=false")
        wait_status(kubectl, ns, "slow", "Terminating", timeout=10)
        describe = squash(kubectl.ok("describe", "pod", "slow", "-n", ns).out)
        # deletionTimestamp is when the grace period ends (now + 30 s), so kubectl's age
        # "since" it is negative and reads <invalid>, exactly as against a real cluster.
        deadline = _rfc3339(get_pod(kubectl, ns, "slow")["metadata"]["deletionTimestamp"])
        assert 20 < deadline - time.time() <= 31
        assert re.search(r"^Status: Terminating \(lasts <invalid>\)$", describe, re.MULTILINE)
        assert re.search(r"^Termination Grace Period: 30s$", describe, re.MULTILINE), describe
        # A second delete may only shorten the grace: the kubelet applies it at once, so
        # the pod goes in about the 2 s minimum, not what is left of the 30 s.
        began = time.monotonic()
        kubectl.ok("delete", "pod", "slow", "-n", ns, "--grace-period=1", timeout=30)
        assert time.monotonic() - began < 8
        assert kubectl("get", "pod", "slow", "-n", ns).rc != 0


def test_an_app_ignoring_sigterm_is_killed_after_the_grace_period(
    kubectl: Kubectl, node: Node, tmp_path: Path, watch_files: list[subprocess.Popen[bytes]]
) -> None:
    """Deleting an app that ignores SIGTERM takes the grace period, then it exits 137."""
    with namespace(kubectl, "sigterm") as ns:
        app = {"name": "app", "image": "busybox", "command": ["sleep", "600"]}
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("stubborn", ns, [app], grace=3))
        wait_running(kubectl, ns, "stubborn")
        out = tmp_path / "watch.json"
        env = {"HOME": str(kubectl.home), "KUBECONFIG": str(node.kubeconfig)}
        with out.open("wb") as sink:
            watch_files.append(
                subprocess.Popen(
                    [str(kubectl.binary), "get", "pod", "stubborn", "-n", ns, "-w", "-o", "json"],
                    stdout=sink,
                    env=env,
                )
            )
        wait_for(lambda: out.stat().st_size, what="watch up")
        began = time.monotonic()
        kubectl.ok("delete", "pod", "stubborn", "-n", ns, timeout=30)
        took = time.monotonic() - began
        assert 3 <= took < 10, took
        codes = [
            terminated["exitCode"]
            for obj in json_stream(out.read_text())
            if (terminated := container_status(obj).get("state", {}).get("terminated"))
        ]
        assert codes and set(codes) == {137}, codes
