"""Containers are isolated: own IP and hostname, own /tmp, read-only host, memory limits.

Needs the oci runtime (runc, conmon, CNI); skipped where the node fell back to the
``process`` runtime, which isolates nothing by design. One node for the module; the
host reaches pod IPs because the node routes its pod CIDR to its own bridge.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_kubelet_support import (
    container_status,
    get_pod,
    kubectl_for,
    namespace,
    pod_yaml,
    require_oci,
    wait_running,
)

pytestmark = pytest.mark.e2e

SERVER = """
import http.server, socket, pathlib
pathlib.Path("/tmp/healthy").write_text("ok")
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = socket.gethostname().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("0.0.0.0", 8080), Hello).serve_forever()
"""


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    require_oci(node)
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def servers(kubectl: Kubectl) -> Iterator[tuple[str, dict[str, str]]]:
    """Two pods of the same server on port 8080 and an emptyDir at /data: {name: pod IP}."""
    with namespace(kubectl, "iso") as ns:
        for name in ("one", "two"):
            app = {
                "name": "app",
                "image": "python",
                "command": ["python3", "-c", SERVER],
                "ports": [{"containerPort": 8080}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }
            volumes = [{"name": "data", "emptyDir": {}}]
            kubectl.ok("apply", "-f", "-", stdin=pod_yaml(name, ns, [app], volumes=volumes))
        ips = {name: wait_running(kubectl, ns, name)["status"]["podIP"] for name in ("one", "two")}
        yield ns, ips


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return str(resp.read().decode())
    except OSError:
        return None


def test_two_pods_serve_on_the_same_port_at_their_own_ips(
    servers: tuple[str, dict[str, str]],
) -> None:
    """Both servers listen on 8080, each at its own pod IP, each answering its own hostname."""
    _, ips = servers
    assert ips["one"] != ips["two"]
    for name, ip in ips.items():
        answer = wait_for(lambda ip=ip: _get(f"http://{ip}:8080/"), what=f"{name} serving")
        assert answer == name


def test_exec_changes_only_its_own_pods_tmp(
    kubectl: Kubectl, servers: tuple[str, dict[str, str]]
) -> None:
    """``kubectl exec one -- rm /tmp/healthy`` leaves two's /tmp/healthy (and the host's) alone."""
    ns, _ = servers
    for name in ("one", "two"):
        wait_for(
            lambda name=name: (
                kubectl("exec", name, "-n", ns, "--", "test", "-e", "/tmp/healthy").rc == 0
            ),
            what=f"{name} wrote /tmp/healthy",
        )
    kubectl.ok("exec", "one", "-n", ns, "--", "rm", "/tmp/healthy")
    assert kubectl("exec", "one", "-n", ns, "--", "test", "-e", "/tmp/healthy").rc == 1
    assert kubectl("exec", "two", "-n", ns, "--", "test", "-e", "/tmp/healthy").rc == 0


def test_a_container_cannot_write_the_hosts_filesystem_outside_its_volumes(
    kubectl: Kubectl, servers: tuple[str, dict[str, str]]
) -> None:
    """``touch`` under /etc or /root fails inside the container; the emptyDir is writable."""
    ns, _ = servers
    for target in ("/etc/kp-test", "/root/kp-test", "/usr/kp-test"):
        res = kubectl("exec", "one", "-n", ns, "--", "touch", target)
        assert res.rc != 0, target
        assert "Read-only file system" in res.err, res.err
        assert not Path(target).exists()
    kubectl.ok("exec", "one", "-n", ns, "--", "touch", "/data/written")
    kubectl.ok("exec", "one", "-n", ns, "--", "test", "-e", "/data/written")
    assert kubectl("exec", "two", "-n", ns, "--", "test", "-e", "/data/written").rc == 1


def test_a_container_over_its_memory_limit_is_oomkilled_and_restarted(kubectl: Kubectl) -> None:
    """limits.memory 50Mi, 200 MiB allocated: terminated OOMKilled, exit 137, then restarted."""
    hog = "b = b'x' * (200 * 1024 * 1024)\nimport time\ntime.sleep(600)\n"
    app = {
        "name": "app",
        "image": "python",
        "command": ["python3", "-c", hog],
        "resources": {"limits": {"memory": "50Mi"}},
    }
    with namespace(kubectl, "oom") as ns:
        kubectl.ok("apply", "-f", "-", stdin=pod_yaml("hog", ns, [app]))

        def oom_restarted() -> dict[str, object] | None:
            status = container_status(get_pod(kubectl, ns, "hog"))
            last = status.get("lastState", {}).get("terminated")
            return last if last and status["restartCount"] >= 1 else None

        last = wait_for(oom_restarted, timeout=30, what="OOMKilled then restarted")
        assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
