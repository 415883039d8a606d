"""A restart of kubeproc does not flap readiness: a Ready pod stays Ready throughout.

The node is SIGKILLed (its containers keep running under conmon), then started again on
the same data dir. The kubelet adopts the running container; as the kubelet does since
v1.35 (spec §2.11), a container older than the new kubelet keeps the ``ready`` its status
showed until a probe decides otherwise. The check reads every change the API recorded
after the kill, by a watch that resumes from the resourceVersion seen before it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Node, wait_for
from tests.e2e.test_kubelet_support import kubectl_for, require_oci, unique

pytestmark = pytest.mark.e2e


def _ready(pod: dict[str, Any]) -> str:
    conditions = pod.get("status", {}).get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Ready"), "")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


def test_a_ready_pod_stays_ready_across_a_sigkill_and_up(fresh_node: Node) -> None:
    node = fresh_node
    assert node.up().rc == 0
    require_oci(node)
    kubectl = kubectl_for(node, node.home / "kubectl")
    name = unique("steady")
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "command": ["/bin/sh", "-c", "sleep 3600"],
                    "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
                }
            ],
        },
    }
    kubectl.ok("apply", "-f", "-", stdin=json.dumps(manifest))

    def pod() -> dict[str, Any]:
        return kubectl.ok("get", "pod", name, "-o", "json").json()  # type: ignore[no-any-return]

    wait_for(lambda: _ready(pod()) == "True", timeout=60, what="the pod Ready")
    started = pod()["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    started_at = dt.datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    # The container must predate the next kubelet by more than 10 s.
    wait_for(lambda: time.time() > started_at + 12, timeout=30, what="the container to age")
    before = pod()
    rv = before["metadata"]["resourceVersion"]
    cid = before["status"]["containerStatuses"][0]["containerID"]

    pid = int((node.data_dir / "kubeproc.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _alive(pid), timeout=20, what="the killed node to exit")
    assert node.up().rc == 0

    watched = node.http(
        "GET",
        f"/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}"
        f"&fieldSelector=metadata.name%3D{name}&timeoutSeconds=12",
        timeout=30,
    )
    assert watched.status == 200
    events = [json.loads(line) for line in watched.body.decode().splitlines() if line]
    seen = [(e["type"], _ready(e["object"])) for e in events]
    print(f"changes after the restart: {seen}")
    assert all(ready == "True" for kind, ready in seen if kind == "MODIFIED"), seen
    after = pod()
    assert _ready(after) == "True"
    status = after["status"]["containerStatuses"][0]
    assert (status["containerID"], status["restartCount"]) == (cid, 0)
