"""After ``kubeproc down`` nothing of a node that ran pods is left on the host.

No process (conmon, the containers), no mount under its data dir, no network namespace,
veth or bridge, no ``kubeproc-<tag>`` cgroup in any hierarchy, no nftables table. The
oci runtime names its host objects ``kp<tag>`` (tag = 6 hex of sha256(data dir)), so
each check first proves the object existed while the node ran: a check that can never
fail proves nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import Node, wait_for
from tests.e2e.test_kubelet_support import (
    container,
    kubectl_for,
    pod_yaml,
    require_oci,
    wait_running,
)

pytestmark = pytest.mark.e2e


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10).stdout


def _processes_of(data_dir: Path, tag: str) -> dict[int, str]:
    """Host processes that belong to the node: in its cgroups or naming its data dir."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cgroups = (entry / "cgroup").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"kubeproc-{tag}" in cgroups or str(data_dir) in cmdline:
            found[int(entry.name)] = cmdline
    return found


def _cgroups_of(tag: str) -> list[Path]:
    root = Path("/sys/fs/cgroup")
    return [p for p in root.glob("*/kubeproc-*") if p.name == f"kubeproc-{tag}"] + [
        p for p in root.glob(f"kubeproc-{tag}") if p.is_dir()
    ]


def _mounts_under(data_dir: Path) -> list[str]:
    return [
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if str(data_dir) in line
    ]


def _links() -> str:
    return _run("ip", "-o", "link", "show")


def test_down_leaves_no_process_mount_netns_veth_bridge_or_cgroup(
    fresh_node: Node, tmp_path: Path
) -> None:
    """A node with running pods (volumes, a crash-looper) goes down and leaves nothing."""
    node = fresh_node
    res = node.up()
    assert res.rc == 0, res.err
    require_oci(node)
    data_dir = node.data_dir.resolve()
    tag = hashlib.sha256(str(data_dir).encode()).hexdigest()[:6]
    bridge = f"kp{tag}"
    kubectl = kubectl_for(node, tmp_path / "kubectl-home")
    kubectl.ok("create", "configmap", "cfg", "--from-literal=k=v")
    volumes = [
        {"name": "scratch", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "cfg"}},
    ]
    mounts = [
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "cfg", "mountPath": "/cfg"},
    ]
    kubectl.ok(
        "apply",
        "-f",
        "-",
        stdin=pod_yaml(
            "vols", "default", [container("app", "sleep 600", volumeMounts=mounts)], volumes=volumes
        ),
    )
    kubectl.ok(
        "apply",
        "-f",
        "-",
        stdin=pod_yaml(
            "two", "default", [container("a", "sleep 600"), container("b", "sleep 600")]
        ),
    )
    kubectl.ok("apply", "-f", "-", stdin=pod_yaml("crash", "default", [container("app", "exit 1")]))
    wait_running(kubectl, "default", "vols")
    wait_running(kubectl, "default", "two")

    # While it runs: the objects each check looks for are there.
    veths = [
        line.split(":")[1].strip().split("@")[0]
        for line in _run("ip", "-o", "link", "show", "master", bridge).splitlines()
    ]
    assert len(veths) >= 2, _links()
    netns = [n.split()[0] for n in _run("ip", "netns", "list").splitlines() if bridge in n]
    assert len(netns) >= 2
    before = _processes_of(data_dir, tag)
    assert any("conmon" in cmd for cmd in before.values()), before
    assert sum("sleep 600" in cmd for cmd in before.values()) >= 3, before
    assert _cgroups_of(tag)

    down = node.down()
    assert down.rc == 0, down.err

    # The node's own processes may take a moment to be reaped after ``down`` returns.
    wait_for(lambda: not _processes_of(data_dir, tag), timeout=10, what="no process of the node")
    assert _mounts_under(data_dir) == []
    links = _links()
    assert bridge not in links
    assert not [v for v in veths if f" {v}@" in links or f" {v}:" in links], links
    assert not [n for n in _run("ip", "netns", "list").splitlines() if bridge in n]
    assert not [n for n in netns if Path(f"/run/netns/{n}").exists()]
    assert _cgroups_of(tag) == []
    if shutil.which("nft"):
        assert tag not in _run("nft", "list", "tables")


def test_down_cuts_long_grace_periods_at_the_shutdown_grace_period(
    fresh_node: Node, tmp_path: Path
) -> None:
    """A pod with a 300 s grace period that ignores SIGTERM: down kills it at the cut.

    ``down`` SIGKILLs a node that has not stopped within 60 s; without the cut the node
    would die mid-drain and leave the container and its conmon running for good.
    """
    node = fresh_node
    res = node.up("--shutdown-grace-period", "3")
    assert res.rc == 0, res.err
    require_oci(node)
    data_dir = node.data_dir.resolve()
    tag = hashlib.sha256(str(data_dir).encode()).hexdigest()[:6]
    kubectl = kubectl_for(node, tmp_path / "kubectl-home")
    stubborn = container("app", "trap '' TERM; while :; do sleep 1; done")
    kubectl.ok("apply", "-f", "-", stdin=pod_yaml("stubborn", "default", [stubborn], grace=300))
    wait_running(kubectl, "default", "stubborn")
    assert any("conmon" in cmd for cmd in _processes_of(data_dir, tag).values())

    started = time.monotonic()
    down = node.down()
    took = time.monotonic() - started
    assert down.rc == 0, down.err
    assert "killed" not in down.out, down.out  # the node stopped by itself, after its purge
    assert 3 <= took < 30, took
    wait_for(lambda: not _processes_of(data_dir, tag), timeout=10, what="no process of the node")
    assert _cgroups_of(tag) == []
