"""Registers this machine as the Node and heartbeats its Lease, as the kubelet does.

Capacity comes from the machine (CPUs, memory, disk under the data dir, 110 pods). Until
the kubelet runs pods (``set_runtime_ready``) the node reports ``Ready=False`` with reason
``KubeletNotReady`` and says why; then ``Ready=True``, ``KubeletReady``, written at once
so ``kubeproc up`` can return as soon as the node can run pods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import shutil
from pathlib import Path
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient
from kubeproc.kubelet.timing import wait_event
from kubeproc.util.clock import Clock, rfc3339, rfc3339_micro
from kubeproc.version import KUBE_GIT_VERSION, KUBEPROC_VERSION

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10.0
NOT_READY_MESSAGE = "container runtime is not running pods yet: pods are scheduled but not started"
READY_REASON = "KubeletReady"
READY_MESSAGE = "kubelet is posting ready status"


def _memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _os_image() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def machine_resources(data_dir: Path) -> dict[str, str]:
    """Capacity (= allocatable) of this machine, as quantities."""
    disk = shutil.disk_usage(data_dir).total
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{_memory_bytes() // 1024}Ki",
        "ephemeral-storage": f"{disk // 1024}Ki",
        "pods": "110",
    }


def ready_condition(ready: bool) -> tuple[str, str, str, str]:
    if ready:
        return ("Ready", "True", READY_REASON, READY_MESSAGE)
    return ("Ready", "False", "KubeletNotReady", NOT_READY_MESSAGE)


def node_object(
    name: str, data_dir: Path, now: str, *, ready: bool = False, kubelet_port: int = 0
) -> dict[str, Any]:
    """The Node as registered: capacity, addresses, info and conditions."""
    resources = machine_resources(data_dir)
    conditions = [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ready_condition(ready),
    ]
    uname = platform.uname()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/control-plane": "",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {},
        "status": {
            "capacity": resources,
            "allocatable": dict(resources),
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
            "conditions": [
                {
                    "type": t,
                    "status": s,
                    "reason": r,
                    "message": m,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
                for t, s, r, m in conditions
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
            "nodeInfo": {
                "machineID": _read("/etc/machine-id"),
                "systemUUID": _read("/etc/machine-id"),
                "bootID": _read("/proc/sys/kernel/random/boot_id"),
                "kernelVersion": uname.release,
                "osImage": _os_image(),
                "containerRuntimeVersion": f"kubeproc://{KUBEPROC_VERSION}",
                "kubeletVersion": KUBE_GIT_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def merge_status(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The new status, keeping each condition's transition time while its status holds."""
    before = {c.get("type"): c for c in old.get("conditions") or []}
    merged = dict(new)
    conditions = []
    for cond in new.get("conditions") or []:
        prev = before.get(cond.get("type"))
        if prev is not None and prev.get("status") == cond.get("status"):
            conditions.append({**cond, "lastTransitionTime": prev.get("lastTransitionTime")})
        else:
            conditions.append(cond)
    merged["conditions"] = conditions
    return merged


class NodeStatus:
    """Registers the node once, then renews its Lease every ten seconds."""

    def __init__(
        self,
        client: ApiClient,
        registry: Registry,
        clock: Clock,
        *,
        node_name: str,
        data_dir: Path,
        kubelet_port: int = 0,
    ) -> None:
        nodes = registry.get("", "v1", "nodes")
        leases = registry.get("coordination.k8s.io", "v1", "leases")
        assert nodes is not None and leases is not None
        self.nodes_rt = nodes
        self.leases_rt = leases
        self.client = client
        self.clock = clock
        self.node_name = node_name
        self.data_dir = data_dir
        self.kubelet_port = kubelet_port
        """Where the API server reaches this node's kubelet (logs, exec, attach)."""
        self.registered = False
        self.runtime_ready = False
        self._reported_ready: bool | None = None
        self._wake = asyncio.Event()

    def set_runtime_ready(self, ready: bool) -> None:
        """The kubelet runs pods (or stopped): report Ready accordingly, now."""
        self.runtime_ready = ready
        self._wake.set()

    async def register(self) -> dict[str, Any]:
        now = rfc3339(self.clock.now())
        ready = self.runtime_ready
        body = node_object(
            self.node_name, self.data_dir, now, ready=ready, kubelet_port=self.kubelet_port
        )
        try:
            node = await self.client.create(
                self.nodes_rt, None, {k: v for k, v in body.items() if k != "status"}
            )
        except errors.AlreadyExists:
            node = await self.client.get(self.nodes_rt, None, self.node_name)
        node["status"] = merge_status(node.get("status") or {}, body["status"])
        node = await self.client.update(
            self.nodes_rt, None, self.node_name, node, subresource="status"
        )
        self.registered = True
        self._reported_ready = ready
        log.info("node registered node=%s", self.node_name)
        return node

    async def run(self) -> None:
        if not self.registered:
            await self.register()
        while True:
            if self._reported_ready != self.runtime_ready:
                await self._post_ready()
            await self._renew_lease()
            await wait_event(self._wake, self.clock, HEARTBEAT_SECONDS)
            self._wake.clear()

    async def _post_ready(self) -> None:
        ready = self.runtime_ready
        node = await self.client.get(self.nodes_rt, None, self.node_name)
        now = rfc3339(self.clock.now())
        kind, status, reason, message = ready_condition(ready)
        condition = {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }
        old = node.get("status") or {}
        others = [c for c in old.get("conditions") or [] if c.get("type") != "Ready"]
        node["status"] = merge_status(old, {**old, "conditions": [*others, condition]})
        await self.client.update(self.nodes_rt, None, self.node_name, node, subresource="status")
        self._reported_ready = ready
        log.info("node readiness node=%s ready=%s reason=%s", self.node_name, status, reason)

    async def _renew_lease(self) -> None:
        now = rfc3339_micro(self.clock.now())
        try:
            lease = await self.client.get(self.leases_rt, "kube-node-lease", self.node_name)
        except errors.NotFound:
            node = await self.client.get(self.nodes_rt, None, self.node_name)
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": self.node_name,
                    "namespace": "kube-node-lease",
                    "ownerReferences": [
                        {
                            "apiVersion": "v1",
                            "kind": "Node",
                            "name": self.node_name,
                            "uid": node["metadata"]["uid"],
                        }
                    ],
                },
                "spec": {
                    "holderIdentity": self.node_name,
                    "leaseDurationSeconds": 40,
                    "renewTime": now,
                },
            }
            await self.client.create(self.leases_rt, "kube-node-lease", body)
            return
        lease.setdefault("spec", {})["renewTime"] = now
        with contextlib.suppress(errors.Conflict):
            await self.client.update(self.leases_rt, "kube-node-lease", self.node_name, lease)
