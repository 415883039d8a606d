"""Helpers for the oci runtime's tests: a private node per test, and a sweep that leaves nothing.

Each test gets its own names (bridge ``kp<6 hex>``, netns prefix, cgroup parent) and a
random /24 from 10.160.0.0/11 that no route on this machine covers yet, so tests run in
parallel with each other and with real nodes. Teardown is ``purge()``, then a sweep that
removes by those names whatever a failure left (conmon processes found by the node's
unique state dir, network namespaces, the bridge, cgroups, skeleton dirs), then checks
that nothing is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from kubeproc.kubelet.runtime.oci import OciRuntime, available
from kubeproc.kubelet.runtime.oci.cgroups import Cgroups
from kubeproc.kubelet.runtime.types import (
    ContainerConfig,
    ContainerPhase,
    ContainerStatus,
    SandboxConfig,
    SandboxStatus,
)

UNAVAILABLE = available()
TEST_RANGE = ipaddress.ip_network("10.160.0.0/11")


def free_pod_cidr() -> str:
    """A random /24 of the test range that no existing route overlaps."""
    routes = json.loads(
        subprocess.run(["ip", "-j", "route"], capture_output=True, check=True).stdout
    )
    taken = [
        ipaddress.ip_network(r["dst"], strict=False)
        for r in routes
        if r.get("dst", "default") != "default"
    ]
    subnets = list(TEST_RANGE.subnets(new_prefix=24))
    for _ in range(100):
        candidate = random.choice(subnets)
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    raise RuntimeError("no free /24 in the test range")


@dataclass
class Node:
    runtime: OciRuntime
    state_dir: Path
    log_dir: Path
    bridge: str
    netns_prefix: str
    cgroup_parent: str

    def reopen(self) -> OciRuntime:
        """A second runtime on the same state dir, as after a kubeproc restart."""
        layout = self.runtime.layout
        return OciRuntime.create(
            self.state_dir,
            pod_cidr=str(layout.pod_cidr),
            bridge=self.bridge,
            netns_prefix=self.netns_prefix,
            cgroup_parent=self.cgroup_parent,
        )

    async def sandbox(self, name: str = "web-0") -> SandboxStatus:
        return await self.runtime.run_sandbox(
            SandboxConfig(
                pod_uid=str(uuid.uuid4()),
                pod_name=name,
                namespace="default",
                hostname=name,
                log_dir=str(self.log_dir / name),
            )
        )

    async def run(self, sandbox_id: str, *argv: str, name: str = "c", **fields: object) -> str:
        """Create and start a container; returns its id."""
        config = ContainerConfig(
            name=name,
            attempt=0,
            argv=argv,
            log_path=str(self.log_dir / sandbox_id / name / "0.log"),
            **fields,  # type: ignore[arg-type]
        )
        container_id = await self.runtime.create_container(sandbox_id, config)
        await self.runtime.start_container(container_id)
        return container_id

    def log(self, sandbox_id: str, name: str = "c") -> str:
        path = self.log_dir / sandbox_id / name / "0.log"
        return path.read_text() if path.exists() else ""

    async def wait_exited(self, container_id: str, within: float = 15) -> ContainerStatus:
        async with asyncio.timeout(within):
            while True:
                status = await self.runtime.container_status(container_id)
                if status.phase is ContainerPhase.EXITED:
                    return status
                await asyncio.sleep(0.02)

    def leftovers(self) -> list[str]:
        """Everything of this node still on the machine (empty once it is gone)."""
        found = [f"netns {n}" for n in netns_names() if n.startswith(self.netns_prefix + "-")]
        found += [f"link {name}" for name in links_on(self.bridge)]
        if Path("/sys/class/net", self.bridge).exists():
            found.append(f"bridge {self.bridge}")
        markers = (str(self.state_dir), str(self.runtime.layout.skeleton_root), self.netns_prefix)
        found += [
            f"mount {line}"
            for line in Path("/proc/mounts").read_text().splitlines()
            if any(m in line for m in markers)
        ]
        found += [f"cgroup {d}" for d in Cgroups.read().dirs(self.cgroup_parent) if d.exists()]
        found += [f"process {pid}" for pid in processes_mentioning(str(self.state_dir))]
        if self.runtime.layout.skeleton_root.exists():
            found.append(f"dir {self.runtime.layout.skeleton_root}")
        return found


def netns_names() -> list[str]:
    out = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, check=False).stdout
    return [n["name"] for n in json.loads(out or b"[]")]


def links_on(bridge: str) -> list[str]:
    """Interfaces enslaved to the bridge (the host ends of pod veths)."""
    out = subprocess.run(
        ["ip", "-j", "link", "show", "master", bridge], capture_output=True, check=False
    )
    return (
        [link["ifname"] for link in json.loads(out.stdout or b"[]")] if out.returncode == 0 else []
    )


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line contains marker (conmon carries the state dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
    return pids


def sweep(node: Node) -> None:
    """Remove by name whatever a failed test left; never touches another node's things."""
    for pid in processes_mentioning(str(node.state_dir)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for name in netns_names():
        if name.startswith(node.netns_prefix + "-"):
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
    subprocess.run(["ip", "link", "del", node.bridge], check=False, capture_output=True)
    shutil.rmtree(node.runtime.layout.skeleton_root, ignore_errors=True)


@contextlib.asynccontextmanager
async def oci_node(tmp_path: Path) -> AsyncIterator[Node]:
    tag = uuid.uuid4().hex[:6]
    state_dir = tmp_path / "state"
    node = Node(
        runtime=OciRuntime.create(
            state_dir,
            pod_cidr=free_pod_cidr(),
            bridge=f"kp{tag}",
            netns_prefix=f"kpt-{tag}",
            cgroup_parent=f"/kubeproc-test-{tag}",
        ),
        state_dir=state_dir,
        log_dir=tmp_path / "logs",
        bridge=f"kp{tag}",
        netns_prefix=f"kpt-{tag}",
        cgroup_parent=f"/kubeproc-test-{tag}",
    )
    try:
        yield node
    finally:
        try:
            await node.runtime.purge()
        finally:
            sweep(node)
            with contextlib.suppress(Exception):
                await Cgroups.read().remove_tree(node.cgroup_parent, patience=2)
        try:
            await poll_until(lambda: not node.leftovers(), within=5)
        except TimeoutError:
            raise AssertionError(f"left behind: {node.leftovers()}") from None


async def poll_until(check: Callable[[], bool], within: float = 5) -> None:
    """Poll a condition every 20 ms until it holds, within a deadline."""
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


async def http_get(host: str, port: int, path: str = "/") -> bytes:
    """One HTTP/1.0 GET with a raw socket: the status line and headers."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def until_http_ok(host: str, port: int, within: float = 10) -> bytes:
    async with asyncio.timeout(within):
        while True:
            with contextlib.suppress(OSError):
                reply = await http_get(host, port)
                if reply.startswith(b"HTTP/1.0 200"):
                    return reply
            await asyncio.sleep(0.02)
