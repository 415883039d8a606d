"""The oci runtime's pods, for real: network, filesystem view, volumes, teardown.

Needs root, runc, conmon and the CNI plugins (skipped otherwise, with the reason). Each
test builds a private node (own bridge, netns prefix, cgroup parent and /24) and leaves
nothing behind, failure or not (``ocikit.oci_node``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from ocikit import UNAVAILABLE, Node, links_on, netns_names, oci_node, until_http_ok

from kubeproc.kubelet.runtime.oci.cgroups import Cgroups
from kubeproc.kubelet.runtime.types import ContainerPhase, Mount, Security, TerminationReason

pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"oci runtime unavailable: {UNAVAILABLE}"
)

CHECK_VIEW = """
set -e
echo "hostname=$(hostname)"
if touch /etc/kubeproc-x 2>/dev/null; then echo "etc=writable"; else echo "etc=read-only"; fi
echo hi > /tmp/probe && echo "tmp=$(cat /tmp/probe)"
echo "data=$(cat /data/in.txt)"
echo out > /data/out.txt
echo "config=$(cat /etc/kubeproc-test/config/key)"
if touch /etc/kubeproc-test/config/x 2>/dev/null; then echo "config=writable"; else echo "config=read-only"; fi
echo "pwd=$(pwd)"
echo scratch > work.txt && echo "work=$(cat work.txt)"
"""


def host_has(*paths: str) -> bool:
    """Whether any of these exists on the host (a container must not create them there)."""
    return any(Path(p).exists() for p in paths)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def own_bounding_set() -> str:
    """kubeproc's own CapBnd: what "all capabilities" can mean for its containers."""
    status = Path("/proc/self/status").read_text()
    return next(line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:"))


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def mounted(marker: str) -> bool:
    return marker in Path("/proc/mounts").read_text()


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    async with oci_node(tmp_path) as n:
        yield n


async def test_containers_share_the_pod_network_and_the_host_reaches_the_pod_ip(node: Node) -> None:
    """Two containers share localhost; the pod IP is reachable from the host."""
    sandbox = await node.sandbox()
    assert sandbox.ready
    assert ipaddress.ip_address(sandbox.ip) in node.runtime.layout.pod_cidr
    assert sandbox.netns_path is not None
    assert Path(sandbox.netns_path).name in netns_names()
    await node.run(
        sandbox.id, "python3", "-m", "http.server", "8080", "--bind", "127.0.0.1", name="local"
    )
    other = await node.run(
        sandbox.id, "python3", "-m", "http.server", "8081", "--bind", "0.0.0.0", name="public"
    )

    reply = await until_http_ok(sandbox.ip, 8081)
    assert b"Directory listing" in reply

    fetch = (
        "import urllib.request as u; print(u.urlopen('http://localhost:8080/', timeout=5).status)"
    )
    async with asyncio.timeout(15):  # the server in the other container may still be starting
        while True:
            result = await node.runtime.exec_sync(
                other, ("python3", "-c", fetch), timeout_seconds=10, output_limit=4096
            )
            if result.exit_code == 0:
                break
            await asyncio.sleep(0.05)
    assert result.output.strip() == b"200", result.output


async def test_container_sees_a_read_only_host_with_its_own_tmp_volumes_and_workdir(
    node: Node, tmp_path: Path
) -> None:
    """Hostname is the pod name; / is read-only; /tmp, a rw volume and the workdir are writable."""
    volume = tmp_path / "vol"
    volume.mkdir()
    (volume / "in.txt").write_text("from-host\n")
    config = tmp_path / "config"
    config.mkdir()
    (config / "key").write_text("value\n")
    sandbox = await node.sandbox("view-0")
    container = await node.run(
        sandbox.id,
        "sh",
        "-c",
        CHECK_VIEW,
        mounts=(
            Mount(str(volume), "/data"),
            Mount(str(config), "/etc/kubeproc-test/config", read_only=True),
        ),
        working_dir="/srv/kubeproc-work",
    )
    status = await node.wait_exited(container)
    log = node.log(sandbox.id)
    assert (status.exit_code, status.reason) == (0, TerminationReason.COMPLETED.value), log
    for line in (
        "hostname=view-0",
        "etc=read-only",
        "tmp=hi",
        "data=from-host",
        "config=value",
        "config=read-only",
        "pwd=/srv/kubeproc-work",
        "work=scratch",
    ):
        assert f"stdout F {line}\n" in log, log
    assert (volume / "out.txt").read_text() == "out\n"
    assert not host_has("/etc/kubeproc-x", "/srv/kubeproc-work", "/etc/kubeproc-test")


async def test_remove_sandbox_leaves_no_netns_veth_cgroup_or_mount(node: Node) -> None:
    """After remove_sandbox: no netns, no veth on the bridge, no pod cgroup, no record."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    netns = Path(sandbox.netns_path or "").name
    assert netns in netns_names()
    [veth] = links_on(node.bridge)
    pod_cgroups = Cgroups.read().dirs(node.runtime.layout.pod_cgroup(sandbox.id))
    assert any(d.exists() for d in pod_cgroups)

    await node.runtime.remove_sandbox(sandbox.id)

    assert netns not in netns_names()
    assert links_on(node.bridge) == []
    assert not link_exists(veth)
    assert not any(d.exists() for d in pod_cgroups)
    assert not mounted(netns)
    assert await node.runtime.list_sandboxes() == []
    assert await node.runtime.list_containers() == []
    assert not node.runtime.layout.container_dir(container).exists()
    await node.runtime.remove_sandbox(sandbox.id)  # idempotent


async def test_stop_sandbox_kills_its_containers_and_keeps_the_record(node: Node) -> None:
    """stop_sandbox: containers exit, network goes, the sandbox is listed not ready."""
    sandbox = await node.sandbox()
    container = await node.run(sandbox.id, "sleep", "600")
    await node.runtime.stop_sandbox(sandbox.id)
    await node.runtime.stop_sandbox(sandbox.id)  # idempotent
    status = await node.runtime.container_status(container)
    assert (status.phase, status.exit_code) == (ContainerPhase.EXITED, 137)
    [listed] = await node.runtime.list_sandboxes()
    assert not listed.ready
    assert links_on(node.bridge) == []


@pytest.fixture
def host_project() -> Iterator[Path]:
    """A project directory on the host outside /tmp (a container's /tmp is its own)."""
    path = Path("/var/tmp") / f"kubeproc-test-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    (path / "app.txt").write_text("app\n")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def test_an_existing_working_dir_is_the_hosts_made_writable_privately(
    node: Node, host_project: Path
) -> None:
    """workingDir on a host directory: its files are there, writes stay in the container."""
    sandbox = await node.sandbox()
    container = await node.run(
        sandbox.id,
        "sh",
        "-c",
        "cat app.txt && echo new > new.txt && cat new.txt",
        working_dir=str(host_project),
    )
    status = await node.wait_exited(container)
    assert status.exit_code == 0, node.log(sandbox.id)
    assert "stdout F app\n" in node.log(sandbox.id)
    assert "stdout F new\n" in node.log(sandbox.id)
    assert listing(host_project) == ["app.txt"]


async def test_read_only_root_filesystem_makes_tmp_read_only_but_not_volumes(
    node: Node, tmp_path: Path
) -> None:
    """readOnlyRootFilesystem: /tmp is not writable either; a writable volume still is."""
    volume = tmp_path / "scratch"
    volume.mkdir()
    sandbox = await node.sandbox()
    script = "touch /tmp/x 2>/dev/null && echo tmp=writable || echo tmp=read-only; touch /scratch/x && echo vol=ok"
    container = await node.run(
        sandbox.id,
        "sh",
        "-c",
        script,
        mounts=(Mount(str(volume), "/scratch"),),
        security=Security(read_only_root_filesystem=True),
    )
    await node.wait_exited(container)
    log = node.log(sandbox.id)
    assert "stdout F tmp=read-only\n" in log
    assert "stdout F vol=ok\n" in log


async def test_privileged_gets_every_capability_and_capabilities_add_drop_apply(node: Node) -> None:
    """privileged: the full bounding set; otherwise the default set with add and drop."""
    sandbox = await node.sandbox()
    privileged = await node.run(
        sandbox.id, "sleep", "600", name="p", security=Security(privileged=True)
    )
    tuned = await node.run(
        sandbox.id,
        "sleep",
        "600",
        name="t",
        security=Security(capabilities_add=("NET_ADMIN",), capabilities_drop=("CHOWN", "KILL")),
    )
    read = ("grep", "CapBnd", "/proc/1/status")
    full = await node.runtime.exec_sync(privileged, read, timeout_seconds=5, output_limit=200)
    some = await node.runtime.exec_sync(tuned, read, timeout_seconds=5, output_limit=200)
    assert full.output.split()[1] == own_bounding_set().encode()
    mask = int(some.output.split()[1], 16)
    assert mask & (1 << 12)  # CAP_NET_ADMIN
    assert not mask & (1 << 0)  # CAP_CHOWN
    assert not mask & (1 << 5)  # CAP_KILL
    assert mask & (1 << 10)  # CAP_NET_BIND_SERVICE, a default
