"""Bad pods end in the real kubelet's reasons and messages, and never hurt the node.

A missing binary, a file that is not executable, a missing configMap key, a 100 MB log
flood and a bounded fork bomb, on one node for the module. "The node stays responsive"
is measured from outside: the API answers, kubectl lists the node, and a new pod can
still start and be deleted.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.harness import Kubectl, Node, squash, wait_for
from tests.e2e.test_kubelet_support import (
    container_status,
    get_pod,
    kubectl_for,
    namespace,
    pod_yaml,
    require_oci,
    wait_running,
    wait_status,
)

pytestmark = pytest.mark.e2e

LOG_FLOOD = """
import sys
line = "x" * 1023 + "\\n"
for _ in range(100 * 1024):
    sys.stdout.write(line)
sys.stdout.write("done\\n")
sys.stdout.flush()
import time
time.sleep(600)
"""

# Forks at most CAP times (more than the pod's pids limit of 4096); every child execs
# sleep, so the count of processes, not memory, is what runs out.
FORK_BOMB = """
import os, sys, time
CAP = 6000
forked = failed = 0
for _ in range(CAP):
    try:
        pid = os.fork()
    except OSError:
        failed += 1
        continue
    if pid == 0:
        try:
            os.execv("/usr/bin/sleep", ["sleep", "600"])
        finally:
            os._exit(1)
    forked += 1
print(f"forked={forked} failed={failed}", flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    require_oci(node)  # runc's messages, the pids cgroup and conmon's log files
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


def _app(command: list[str], **extra: object) -> dict[str, object]:
    return {"name": "app", "image": "busybox", "command": command, **extra}


def _node_responsive(kubectl: Kubectl, node: Node) -> None:
    started = time.monotonic()
    assert node.http("GET", "/readyz", token=None, timeout=5).status == 200
    assert kubectl("get", "nodes", "--no-headers", timeout=10).out.split()[1] == "Ready"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("command", "reasons", "message"),
    [
        (
            ["/kp-no-such-binary"],
            {"CreateContainerError", "RunContainerError"},
            'exec: "/kp-no-such-binary": stat /kp-no-such-binary: no such file or directory',
        ),
        (
            ["/etc/hostname"],
            {"CreateContainerError", "RunContainerError"},
            'exec: "/etc/hostname": permission denied',
        ),
    ],
    ids=["missing-binary", "not-executable"],
)
def test_a_command_that_cannot_run_shows_the_runtimes_reason_and_message(
    kubectl: Kubectl, command: list[str], reasons: set[str], message: str
) -> None:
    """STATUS reads the create/run error; describe and the Failed event carry runc's message."""
    with namespace(kubectl, "badcmd") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("bad", ns, [_app(command)]))

        def waiting() -> dict[str, str] | None:
            state = container_status(get_pod(kubectl, ns, "bad")).get("state", {})
            found: dict[str, str] | None = state.get("waiting")
            return found if found and found.get("reason") in reasons else None

        state = wait_for(waiting, what="create/run error")
        assert message in state["message"], state
        wait_status(kubectl, ns, "bad", state["reason"])
        describe = squash(kubectl.ok("describe", "pod", "bad", "-n", ns).out)
        assert f"Reason: {state['reason']}" in describe
        assert re.search(rf"Warning Failed .* kubelet Error: .*{re.escape(message)}", describe)


def test_a_missing_configmap_key_is_a_create_container_config_error(kubectl: Kubectl) -> None:
    """env valueFrom a configMap key that does not exist: CreateContainerConfigError + text."""
    with namespace(kubectl, "nokey") as ns:
        kubectl.ok("create", "configmap", "cm", "-n", ns, "--from-literal=present=1")
        env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "missing"}}}]
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("nokey", ns, [_app(["true"], env=env)]))
        row = wait_status(kubectl, ns, "nokey", "CreateContainerConfigError")
        assert row[1] == "0/1"
        state = container_status(get_pod(kubectl, ns, "nokey"))["state"]["waiting"]
        expected = f"couldn't find key missing in ConfigMap {ns}/cm"
        assert state == {"reason": "CreateContainerConfigError", "message": expected}
        describe = squash(kubectl.ok("describe", "pod", "nokey", "-n", ns).out)
        assert "Warning Failed" in describe and f"kubelet Error: {expected}" in describe


def test_a_100mb_log_flood_keeps_the_node_responsive_and_the_logs_bounded(
    kubectl: Kubectl, node: Node
) -> None:
    """100 MB written as fast as python can: the node answers throughout, files stay bounded."""
    with namespace(kubectl, "flood") as ns:
        app = _app(["python3", "-c", LOG_FLOOD])
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("flood", ns, [app]))
        wait_running(kubectl, ns, "flood")

        def finished() -> bool:
            _node_responsive(kubectl, node)
            return kubectl("logs", "flood", "-n", ns, "--tail", "1").out == "done\n"

        wait_for(finished, timeout=60, interval=0.5, what="the flood written")
        uid = get_pod(kubectl, ns, "flood")["metadata"]["uid"]
        logs = node.data_dir / "kubelet" / "pods" / f"{ns}_flood_{uid}"
        files = [p for p in logs.rglob("*") if p.is_file()]
        assert files, logs
        total = sum(p.stat().st_size for p in files)
        # containerLogMaxSize 10Mi x containerLogMaxFiles 5: under 100 MB written.
        assert total <= 5 * 10 * 1024 * 1024, (total, files)
        assert all(p.stat().st_size <= 10 * 1024 * 1024 for p in files)


def test_a_fork_bomb_is_bounded_by_the_pids_limit_and_can_be_deleted(
    kubectl: Kubectl, node: Node
) -> None:
    """A capped fork loop stops at the pids limit; the node answers; deletion is prompt."""
    with namespace(kubectl, "forks") as ns:
        try:
            app = _app(["python3", "-c", FORK_BOMB])
            kubectl.ok("apply", "-f", "-", stdin=pod_yaml("forks", ns, [app]))

            def report() -> str:
                return kubectl("logs", "forks", "-n", ns).out.strip()

            line = wait_for(report, timeout=60, interval=0.5, what="the fork loop to end")
            match = re.fullmatch(r"forked=(\d+) failed=(\d+)", line)
            assert match, line
            forked, failed = int(match.group(1)), int(match.group(2))
            assert forked < 4096 and failed > 0 and forked + failed == 6000
            _node_responsive(kubectl, node)
        finally:
            started = time.monotonic()
            kubectl("delete", "pod", "forks", "-n", ns, "--wait=true", timeout=60)
        assert time.monotonic() - started < 30
        assert kubectl("get", "pod", "forks", "-n", ns).rc != 0


def test_log_files_are_where_the_flood_test_looks(kubectl: Kubectl, node: Node) -> None:
    """A container's CRI log lives at kubelet/pods/<ns>_<pod>_<uid>/<container>/<n>.log."""
    with namespace(kubectl, "logpath") as ns:
        kubectl.ok(
            "apply", "-f", "-", stdin=pod_yaml("p", ns, [_app(["sh", "-c", "echo hi; sleep 600"])])
        )
        uid = wait_running(kubectl, ns, "p")["metadata"]["uid"]
        log = node.data_dir / "kubelet" / "pods" / f"{ns}_p_{uid}" / "app" / "0.log"
        text = wait_for(lambda: log.exists() and log.read_text(), what="0.log written")
        assert re.fullmatch(r"\S+ stdout F hi\n", text), text
        assert log.stat().st_size < 1024
