"""Helpers shared by the kubelet end-to-end tests: pods as YAML, kubectl 1.33, polling.

No tests here. Every helper drives the real ``kubectl`` against a real node; a pod
made with ``pod_yaml`` has a command (kubeproc runs host programs) and, unless a test
sets it, a one-second grace so deleting a ``sleep``-style pod does not wait 30 s.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, kubectl_binaries, wait_for

KUBECTL_VERSION = "1.33"


def kubectl_for(node: Node, home: Path) -> Kubectl:
    """kubectl 1.33 for ``node`` with its own HOME; skips when it is not installed."""
    binaries = kubectl_binaries()
    if KUBECTL_VERSION not in binaries:
        pytest.skip(f"kubectl {KUBECTL_VERSION} is not installed")
    return Kubectl(binaries[KUBECTL_VERSION], node, home)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def container(name: str, script: str, **extra: Any) -> dict[str, Any]:
    """A busybox-named container running ``script`` with the host's /bin/sh."""
    return {"name": name, "image": "busybox", "command": ["/bin/sh", "-c", script], **extra}


def pod_yaml(
    name: str,
    namespace: str,
    containers: list[dict[str, Any]],
    *,
    grace: int = 1,
    restart_policy: str = "Always",
    annotations: dict[str, str] | None = None,
    volumes: list[dict[str, Any]] | None = None,
) -> str:
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": grace,
        "restartPolicy": restart_policy,
        "containers": containers,
    }
    if volumes:
        spec["volumes"] = volumes
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})


@contextlib.contextmanager
def namespace(kubectl: Kubectl, prefix: str) -> Iterator[str]:
    """A fresh namespace whose pods are force-deleted on the way out."""
    ns = unique(prefix)
    kubectl.ok("create", "namespace", ns)
    try:
        yield ns
    finally:
        kubectl("delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force", timeout=60)
        wait_for(
            lambda: not kubectl("get", "pods", "-n", ns, "-o", "name").out.strip(),
            timeout=30,
            what=f"pods of {ns} gone",
        )
        kubectl("delete", "namespace", ns, "--wait=false")


def get_pod(kubectl: Kubectl, ns: str, name: str) -> dict[str, Any]:
    res = kubectl.ok("get", "pod", name, "-n", ns, "-o", "json")
    pod: dict[str, Any] = json.loads(res.out)
    return pod


def container_status(pod: dict[str, Any], name: str = "app") -> dict[str, Any]:
    for status in pod.get("status", {}).get("containerStatuses", []):
        if status["name"] == name:
            found: dict[str, Any] = status
            return found
    return {}


def get_row(kubectl: Kubectl, ns: str, name: str) -> list[str]:
    """The ``kubectl get pod`` row split into NAME READY STATUS RESTARTS... columns.

    RESTARTS may read ``2 (5s ago)``: it is rejoined into one column."""
    res = kubectl("get", "pod", name, "-n", ns, "--no-headers")
    if res.rc != 0 or not res.out.strip():
        return []
    cols = res.out.split()
    if len(cols) >= 7 and cols[4].startswith("("):
        cols = [*cols[:3], " ".join(cols[3:6]), *cols[6:]]
    return cols


def wait_status(
    kubectl: Kubectl, ns: str, name: str, status: str, timeout: float = 30
) -> list[str]:
    """Poll until the STATUS column of ``kubectl get pod`` reads ``status``."""
    row: list[str] = wait_for(
        lambda: (r := get_row(kubectl, ns, name)) and len(r) > 2 and r[2] == status and r,
        timeout=timeout,
        what=f"{ns}/{name} STATUS {status}",
    )
    return row


def wait_running(kubectl: Kubectl, ns: str, name: str, timeout: float = 30) -> dict[str, Any]:
    """Poll until every container of the pod runs; returns the pod."""

    def running() -> dict[str, Any] | None:
        pod = get_pod(kubectl, ns, name)
        statuses = pod.get("status", {}).get("containerStatuses", [])
        if statuses and all("running" in s.get("state", {}) for s in statuses):
            return pod
        return None

    pod: dict[str, Any] = wait_for(running, timeout=timeout, what=f"{ns}/{name} running")
    return pod


def park_marker(kubectl: Kubectl, ns: str) -> None:
    """A pod no scheduler binds (its scheduler does not exist) named ``marker``.

    A watch on an empty namespace prints nothing; with this pod there, the watch's first
    row says it is established, so nothing created afterwards can be missed."""
    parked = yaml.safe_load(pod_yaml("marker", ns, [container("app", "true")]))
    # Not a nodeSelector: kubeproc's one-node scheduler binds every pod it is asked to.
    parked["spec"]["schedulerName"] = "kubeproc-test-nobody"
    kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump(parked))


def json_stream(text: str) -> list[dict[str, Any]]:
    """The objects of ``kubectl get -w -o json`` output (concatenated JSON documents)."""
    decoder, objects, pos = json.JSONDecoder(), [], 0
    text = text.strip()
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        objects.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return objects


def require_oci(node: Node) -> None:
    """Fail unless the node runs containers (oci).

    scripts/setup installs runc, conmon and the CNI plugins on this machine kind and tests
    run as root, so a node on the process runtime here means setup is broken: that must
    fail, not skip.
    """
    log = (node.data_dir / "kubeproc.log").read_text()
    assert "runtime=oci" in log, "the node fell back to the process runtime:\n" + log[-2000:]


def container_pid(node: Node, pod: dict[str, Any], index: int = 0) -> int:
    """The host pid of a container's init (the first container's by default), from runc."""
    cid = pod["status"]["containerStatuses"][index]["containerID"].partition("://")[2]
    root = node.data_dir / "runtime" / "oci" / "runc"
    out = subprocess.run(
        ["runc", "--root", str(root), "state", cid], capture_output=True, text=True, check=True
    ).stdout
    return int(json.loads(out)["pid"])
