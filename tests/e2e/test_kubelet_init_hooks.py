"""Init containers, sidecars and lifecycle hooks as kubectl shows them on a real node.

One real node for the module on the short crash-loop curve the harness sets (1 s
doubling to 4 s). Containers record what they did, with timestamps, into a hostPath
directory under the test's tmp dir, so order is read from the host, not inferred from
status; each test works in its own namespace and force-deletes its pods on the way out.
Spec kubelet-probes §4.2 (preStop within the grace), §6 (Initialized, PodInitializing,
sidecars), §8.1 (``Init:<i>/<n>``, ``Init:Error``) and §8.3 (events).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, squash, wait_for
from tests.e2e.test_kubelet_support import (
    container,
    container_status,
    get_pod,
    get_row,
    kubectl_for,
    namespace,
    park_marker,
    pod_yaml,
    require_oci,
    wait_running,
    wait_status,
)

pytestmark = pytest.mark.e2e

# A shell that records SIGTERM with a timestamp and then carries on (SIGKILL ends it).
RECORD_TERM = "trap 'echo {name}-term $(date +%s.%N) >> /log/order' TERM"
RECORD_TERM_AND_EXIT = "trap 'echo {name}-stop $(date +%s.%N) >> /log/order; exit 0' TERM"
FOREVER = "while true; do sleep 0.1; done"


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    require_oci(node)
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    logs = tmp_path / "log"
    logs.mkdir()
    return logs


@pytest.fixture
def watch_files() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Background ``kubectl get -w`` processes, each stopped at the end of the test."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def logged(name: str, script: str, **extra: Any) -> dict[str, Any]:
    """A container with the hostPath log dir mounted at /log."""
    mounts = [{"name": "log", "mountPath": "/log"}]
    return container(name, script, volumeMounts=mounts, **extra)


def pod_with_init(
    name: str,
    ns: str,
    log_dir: Path,
    containers: list[dict[str, Any]],
    init: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> str:
    """``pod_yaml`` plus the /log hostPath volume and ``initContainers``."""
    volumes = [{"name": "log", "hostPath": {"path": str(log_dir), "type": "Directory"}}]
    pod = yaml.safe_load(pod_yaml(name, ns, containers, volumes=volumes, **kw))
    if init:
        pod["spec"]["initContainers"] = init
    return yaml.safe_dump(pod)


def order(log_dir: Path) -> list[tuple[str, float]]:
    """The ``<event> <epoch>`` lines the containers appended to /log/order."""
    path = log_dir / "order"
    if not path.exists():
        return []
    return [
        (w[0], float(w[1])) for line in path.read_text().splitlines() if len(w := line.split()) == 2
    ]


def stamp(log_dir: Path, event: str) -> float:
    return dict(order(log_dir))[event]


def condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in pod["status"]["conditions"] if c["type"] == kind)
    return found


def init_status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for status in pod.get("status", {}).get("initContainerStatuses", []):
        if status["name"] == name:
            found: dict[str, Any] = status
            return found
    return {}


def test_init_containers_run_in_order_to_completion_before_the_app(
    kubectl: Kubectl,
    node: Node,
    log_dir: Path,
    tmp_path: Path,
    watch_files: list[subprocess.Popen[bytes]],
) -> None:
    """Init containers run one by one to completion, then the app; STATUS walks Init:i/n."""
    init = [
        logged(
            f"init{i}",
            f"echo init{i}-start $(date +%s.%N) >> /log/order; sleep 1; "
            f"echo init{i}-end $(date +%s.%N) >> /log/order",
        )
        for i in (1, 2)
    ]
    app = logged("app", "echo app-start $(date +%s.%N) >> /log/order; exec sleep 600")
    with namespace(kubectl, "init") as ns:
        park_marker(kubectl, ns)
        table = tmp_path / "table.txt"
        with table.open("wb") as sink:
            watch_files.append(
                subprocess.Popen(
                    [str(kubectl.binary), "get", "pods", "-n", ns, "-w"],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    env={"HOME": str(kubectl.home), "KUBECONFIG": str(node.kubeconfig)},
                )
            )
        wait_for(lambda: "marker" in table.read_text(), what="watch up")
        kubectl.ok("apply", "-f", "-", stdin=pod_with_init("ini", ns, log_dir, [app], init))
        pod = wait_running(kubectl, ns, "ini", timeout=30)
        wait_for(
            lambda: re.search(r"^ini 1/1 Running 0", squash(table.read_text()), re.MULTILINE),
            what="Running row in get -w",
        )

        events = [name for name, _ in order(log_dir)]
        assert events == ["init1-start", "init1-end", "init2-start", "init2-end", "app-start"]
        stamps = [at for _, at in order(log_dir)]
        assert stamps == sorted(stamps)
        assert stamp(log_dir, "init2-start") - stamp(log_dir, "init1-start") >= 1

        # The watch rows walk forward through the init states and never back.
        walk = ["Pending", "Init:0/2", "Init:1/2", "PodInitializing", "Running"]
        rows = [squash(line).split(" ") for line in table.read_text().splitlines()]
        statuses = [row[2] for row in rows if row[0] == "ini"]
        assert statuses[-1] == "Running" and set(statuses) <= set(walk), statuses
        positions = [walk.index(s) for s in statuses]
        assert positions == sorted(positions), statuses
        # Each init container runs for a second, so both of their rows are seen.
        assert {"Init:0/2", "Init:1/2"} <= set(statuses), statuses

        for name in ("init1", "init2"):
            terminated = init_status(pod, name)["state"]["terminated"]
            assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
        assert condition(pod, "Initialized")["status"] == "True"
        assert pod["status"]["phase"] == "Running"


def test_failing_init_container_with_never_fails_the_pod_with_init_error(
    kubectl: Kubectl, log_dir: Path
) -> None:
    """A failing init container under restartPolicy Never: phase Failed, STATUS Init:Error."""
    init = [logged("setup", "exit 3")]
    app = logged("app", "echo app-start $(date +%s.%N) >> /log/order; exec sleep 600")
    with namespace(kubectl, "initerr") as ns:
        kubectl.ok(
            "apply",
            "-f",
            "-",
            stdin=pod_with_init("bad", ns, log_dir, [app], init, restart_policy="Never"),
        )
        row = wait_status(kubectl, ns, "bad", "Init:Error")
        assert row[1] == "0/1", row
        pod = wait_for(
            lambda: (p := get_pod(kubectl, ns, "bad"))["status"].get("phase") == "Failed" and p,
            timeout=10,
            what="phase Failed",
        )
        terminated = init_status(pod, "setup")["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
        assert init_status(pod, "setup")["restartCount"] == 0
        assert "running" not in container_status(pod).get("state", {})
        assert condition(pod, "Initialized")["status"] == "False"
        assert order(log_dir) == []


def test_failing_init_container_with_always_goes_to_init_crashloopbackoff(
    kubectl: Kubectl, log_dir: Path
) -> None:
    """A failing init container under restartPolicy Always is retried: Init:CrashLoopBackOff."""
    init = [logged("setup", "echo setup $(date +%s.%N) >> /log/order; exit 1")]
    app = logged("app", "echo app-start $(date +%s.%N) >> /log/order; exec sleep 600")
    with namespace(kubectl, "initcrash") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_with_init("loop", ns, log_dir, [app], init))
        row = wait_status(kubectl, ns, "loop", "Init:CrashLoopBackOff", timeout=20)
        assert row[1] == "0/1", row
        pod = get_pod(kubectl, ns, "loop")
        assert pod["status"]["phase"] == "Pending"
        assert init_status(pod, "setup")["restartCount"] >= 1
        waiting = init_status(pod, "setup")["state"].get("waiting", {})
        assert waiting.get("reason") == "CrashLoopBackOff", pod["status"]
        assert {name for name, _ in order(log_dir)} == {"setup"}
        assert len(order(log_dir)) >= 2


def test_sidecar_starts_first_runs_alongside_and_stops_after_the_app(
    kubectl: Kubectl, log_dir: Path
) -> None:
    """A restartPolicy Always init container starts before the app, counts in READY, stops last."""
    sidecar = logged(
        "proxy",
        f"{RECORD_TERM_AND_EXIT.format(name='proxy')}; "
        f"echo proxy-start $(date +%s.%N) >> /log/order; {FOREVER}",
        restartPolicy="Always",
    )
    app = logged(
        "app",
        f"{RECORD_TERM_AND_EXIT.format(name='app')}; "
        f"echo app-start $(date +%s.%N) >> /log/order; {FOREVER}",
    )
    with namespace(kubectl, "sidecar") as ns:
        kubectl.ok(
            "apply", "-f", "-", stdin=pod_with_init("side", ns, log_dir, [app], [sidecar], grace=5)
        )
        row = wait_for(
            lambda: (r := get_row(kubectl, ns, "side")) and r[1:3] == ["2/2", "Running"] and r,
            timeout=30,
            what="READY 2/2 Running",
        )
        assert row[3] == "0", row
        pod = get_pod(kubectl, ns, "side")
        assert "running" in init_status(pod, "proxy")["state"]
        assert init_status(pod, "proxy")["started"] is True
        assert condition(pod, "Initialized")["status"] == "True"
        assert stamp(log_dir, "proxy-start") < stamp(log_dir, "app-start")

        kubectl.ok("delete", "pod", "side", "-n", ns, timeout=30)
        events = dict(order(log_dir))
        assert {"app-stop", "proxy-stop"} <= set(events), events
        assert events["app-stop"] < events["proxy-stop"], events


def test_poststart_hook_runs_before_the_app_sees_its_file(kubectl: Kubectl, log_dir: Path) -> None:
    """A postStart exec hook runs in the container: the file it writes is seen by the app."""
    hook = {"postStart": {"exec": {"command": ["/bin/sh", "-c", "echo hooked > /log/hook"]}}}
    app = logged(
        "app",
        "while [ ! -f /log/hook ]; do sleep 0.1; done; cp /log/hook /log/seen; exec sleep 600",
        lifecycle=hook,
    )
    with namespace(kubectl, "poststart") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_with_init("ps", ns, log_dir, [app]))
        pod = wait_running(kubectl, ns, "ps")
        assert container_status(pod)["restartCount"] == 0
        seen = wait_for(
            lambda: (log_dir / "seen").exists() and (log_dir / "seen").read_text(),
            timeout=10,
            what="the app saw the hook's file",
        )
        assert seen == "hooked\n"


def test_failing_poststart_hook_kills_the_container_with_an_event(
    kubectl: Kubectl, log_dir: Path
) -> None:
    """A postStart hook exiting non-zero kills the container and records FailedPostStartHook."""
    hook = {"postStart": {"exec": {"command": ["/bin/sh", "-c", "exit 7"]}}}
    app = logged("app", f"echo app-start $(date +%s.%N) >> /log/order; {FOREVER}", lifecycle=hook)
    with namespace(kubectl, "poststartfail") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_with_init("psf", ns, log_dir, [app]))
        events = wait_for(
            lambda: kubectl.ok(
                "get",
                "events",
                "-n",
                ns,
                "--field-selector",
                "reason=FailedPostStartHook",
                "-o",
                "json",
            ).json()["items"],
            timeout=20,
            what="FailedPostStartHook event",
        )
        assert all(e["type"] == "Warning" for e in events), events
        assert {e["involvedObject"]["name"] for e in events} == {"psf"}
        # Killed, so never Running for long: the kubelet restarts it (restartPolicy Always).
        status = wait_for(
            lambda: (
                (s := container_status(get_pod(kubectl, ns, "psf")))
                and s.get("restartCount", 0) >= 1
                and s
            ),
            timeout=20,
            what="the container killed and restarted",
        )
        assert "terminated" in status["lastState"], status
        uid = get_pod(kubectl, ns, "psf")["metadata"]["uid"]
        assert {e["message"] for e in events} == {
            f'Exec lifecycle hook ([/bin/sh -c exit 7]) for Container "app" in Pod '
            f"\"psf_{ns}({uid})\" failed - error: command '/bin/sh -c exit 7' exited with 7: , "
            'message: ""'
        }
        # Events are written after the fact: the restart can be read before its Killing.
        killing = wait_for(
            lambda: kubectl.ok(
                "get", "events", "-n", ns, "--field-selector", "reason=Killing", "-o", "json"
            ).json()["items"],
            timeout=30,
            what="the Killing event",
        )
        assert {e["message"] for e in killing} == {"FailedPostStartHook"}
        assert len(order(log_dir)) >= 2


def test_prestop_hook_runs_before_sigterm_and_uses_the_grace_period(
    kubectl: Kubectl, log_dir: Path
) -> None:
    """On deletion preStop runs first, then SIGTERM; its time comes out of the grace period."""
    pre_stop = {
        "preStop": {
            "exec": {
                "command": [
                    "/bin/sh",
                    "-c",
                    "echo prestop $(date +%s.%N) >> /log/order; sleep 4; "
                    "echo prestop-done $(date +%s.%N) >> /log/order",
                ]
            }
        }
    }
    # The app records SIGTERM and keeps going, so only SIGKILL at the end of the grace ends it.
    app = logged(
        "app",
        f"{RECORD_TERM.format(name='app')}; echo app-start $(date +%s.%N) >> /log/order; {FOREVER}",
        lifecycle=pre_stop,
    )
    with namespace(kubectl, "prestop") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_with_init("pst", ns, log_dir, [app], grace=8))
        wait_running(kubectl, ns, "pst")
        wait_for(lambda: "app-start" in dict(order(log_dir)), what="app started")
        began = time.monotonic()
        kubectl.ok("delete", "pod", "pst", "-n", ns, timeout=40)
        took = time.monotonic() - began
        assert kubectl("get", "pod", "pst", "-n", ns).rc != 0
        events = dict(order(log_dir))
        assert {"prestop", "prestop-done", "app-term"} <= set(events), events
        assert events["prestop"] < events["prestop-done"] <= events["app-term"], events
        assert events["app-term"] - events["prestop"] >= 3.5, events
        # 4 s of preStop + the 4 s left of the 8 s grace; a fresh grace after it would be 12 s.
        assert 7 <= took < 11, took
