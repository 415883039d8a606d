"""Pod networking: a network namespace per pod, wired by the standard CNI plugins.

``ip netns add`` makes the namespace (a bind mount under /run/netns, so it outlives any
process); the ``loopback`` plugin brings up ``lo`` and the ``bridge`` plugin, with
``host-local`` IPAM over the node's pod CIDR, adds a veth pair to the node's bridge and
gives the pod one address and a default route via the gateway. Teardown is CNI DEL (which
releases the address even when the namespace is already gone), then ``ip netns del``;
deleting the namespace destroys the pod end of the veth, and with it the host end.

The bridge plugin runs with ``isGateway: false`` and kubeproc puts the gateway address on
the bridge itself: ``isGateway: true`` would also turn on ``net.ipv4.ip_forward`` for the
whole machine, and nothing here needs forwarding. The gateway address gives the host a
connected route for the *whole* pod CIDR through the bridge, so every pod address is
reachable from the host and none is ever sent to the default route; with forwarding off
(and no masquerade) nothing a pod sends leaves the machine.

The plugins are run as the CNI spec says (config on stdin, ``CNI_*`` in the environment,
a JSON result or error on stdout), by this module alone.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeproc.kubelet.runtime.oci import proc
from kubeproc.kubelet.runtime.oci.layout import Layout
from kubeproc.kubelet.runtime.types import SandboxError

log = logging.getLogger(__name__)

CNI_VERSION = "1.0.0"
CNI_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
PLUGINS = ("bridge", "host-local", "loopback")
NETNS_DIR = Path("/run/netns")


def find_cni_dir() -> str | None:
    """The first directory holding every plugin kubeproc uses."""
    for directory in CNI_DIRS:
        if all(os.access(Path(directory, p), os.X_OK) for p in PLUGINS):
            return directory
    return None


def bridge_config(layout: Layout) -> dict[str, Any]:
    """The CNI network config of a node (pure)."""
    return {
        "cniVersion": CNI_VERSION,
        "name": layout.network_name,
        "type": "bridge",
        "bridge": layout.bridge,
        "isGateway": False,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "ranges": [
                [
                    {
                        "subnet": str(layout.pod_cidr),
                        "gateway": str(layout.gateway),
                        # The last usable address is the service proxy's (Layout.proxy_source).
                        "rangeEnd": str(layout.ipam_range_end),
                    }
                ]
            ],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": str(layout.ipam_dir),
        },
    }


def loopback_config(layout: Layout) -> dict[str, Any]:
    return {"cniVersion": CNI_VERSION, "name": f"{layout.network_name}-lo", "type": "loopback"}


def overlapping_routes(routes: list[dict[str, Any]], layout: Layout) -> list[str]:
    """Routes on other devices that overlap the pod CIDR (pure; from ``ip -j route``)."""
    clashes = []
    for route in routes:
        dst, dev = route.get("dst", ""), route.get("dev", "")
        if dst == "default" or dev == layout.bridge:
            continue
        with contextlib.suppress(ValueError):
            if ipaddress.ip_network(dst, strict=False).overlaps(layout.pod_cidr):
                clashes.append(f"{dst} dev {dev}")
    return clashes


@dataclass(frozen=True)
class Network:
    layout: Layout
    cni_dir: str

    async def setup(self, sandbox_id: str, netns: str) -> str:
        """Create the namespace and wire it; returns the pod IP. Undone on failure."""
        try:
            await _ip("netns", "add", netns)
            await self._plugin("ADD", loopback_config(self.layout), sandbox_id, netns, "lo")
            result = await self._plugin("ADD", bridge_config(self.layout), sandbox_id, netns)
            await self.ensure_gateway()
            return _pod_ip(result)
        except BaseException:
            await self.teardown(sandbox_id, netns)
            raise

    async def ensure_gateway(self) -> None:
        """Put the gateway address on the bridge (idempotent); this routes the pod CIDR.

        Checked again here, not only at startup: a route for an overlapping network that
        appeared since (another node, a VPN) must not be shadowed or shadow ours.
        """
        done = await proc.run(["ip", "-j", "route"])
        clashes = overlapping_routes(json.loads(done.stdout or b"[]"), self.layout)
        if clashes:
            raise SandboxError(f"pod CIDR {self.layout.pod_cidr} overlaps routes: {clashes}")
        address = f"{self.layout.gateway}/{self.layout.pod_cidr.prefixlen}"
        await _ip("addr", "replace", address, "dev", self.layout.bridge)

    async def teardown(self, sandbox_id: str, netns: str) -> None:
        """CNI DEL, then the namespace; idempotent, and tolerant of a half-made sandbox."""
        exists = (NETNS_DIR / netns).exists()
        for config, ifname in (
            (bridge_config(self.layout), "eth0"),
            (loopback_config(self.layout), "lo"),
        ):
            try:
                await self._plugin("DEL", config, sandbox_id, netns if exists else "", ifname)
            except SandboxError as exc:
                log.warning("CNI DEL failed sandbox=%s netns=%s: %s", sandbox_id, netns, exc)
        if exists:
            with contextlib.suppress(SandboxError):
                await _ip("netns", "del", netns)
        with contextlib.suppress(FileNotFoundError):
            (NETNS_DIR / netns).unlink()  # a file left by a failed `ip netns add`

    async def remove_bridge(self) -> None:
        """Delete the node's bridge and forget every address host-local handed out."""
        done = await proc.run(["ip", "link", "del", self.layout.bridge])
        if not done.ok and "Cannot find device" not in done.error_text():
            raise SandboxError(f"ip link del {self.layout.bridge}: {done.error_text()}")
        shutil.rmtree(self.layout.ipam_dir, ignore_errors=True)

    async def _plugin(
        self,
        command: str,
        config: dict[str, Any],
        sandbox_id: str,
        netns: str,
        ifname: str = "eth0",
    ) -> dict[str, Any]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": sandbox_id,
            "CNI_NETNS": str(NETNS_DIR / netns) if netns else "",
            "CNI_IFNAME": ifname,
            "CNI_PATH": self.cni_dir,
        }
        plugin = str(Path(self.cni_dir, config["type"]))
        done = await proc.run([plugin], input=json.dumps(config).encode(), env=env)
        if not done.ok:
            raise SandboxError(f"CNI {config['type']} {command} failed: {_cni_error(done)}")
        if command != "ADD":
            return {}
        parsed: dict[str, Any] = json.loads(done.stdout or b"{}")
        return parsed


def _pod_ip(result: dict[str, Any]) -> str:
    for entry in result.get("ips", []):
        address = ipaddress.ip_interface(entry["address"])
        if address.version == 4:
            return str(address.ip)
    raise SandboxError(f"CNI bridge returned no IPv4 address: {json.dumps(result)}")


def _cni_error(done: proc.Completed) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        error = json.loads(done.stdout)
        return f"{error.get('msg', '')} {error.get('details', '')}".strip()
    return done.error_text()


async def _ip(*args: str) -> None:
    done = await proc.run(["ip", *args])
    if not done.ok:
        raise SandboxError(f"ip {' '.join(args)}: {done.error_text()}")
