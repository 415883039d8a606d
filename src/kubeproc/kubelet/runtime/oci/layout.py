"""Every name and path one ``oci`` node uses, derived from its construction parameters.

Two nodes on one machine (and tests running in parallel) must never share a bridge, a
network namespace, a cgroup or a file, so nothing here is a fixed name: the bridge, the
netns prefix and the cgroup parent are the caller's, and everything else lives under the
caller's state dir. Pure: no I/O, so the naming rules can be read and tested in one place.

On disk::

    <state>/node.json                   the parameters, checked again on restart
    <state>/runc/                       runc's --root (its own container state)
    <state>/ipam/                       host-local IPAM's dataDir
    <state>/sock/                       conmon's --socket-dir-path (attach sockets)
    <state>/sandboxes/<id>/             sandbox.json, hostname, hosts, resolv.conf
    <state>/containers/<id>/            container.json, config.json (the OCI bundle),
                                        rootfs/, tmp/, work/, persist/{exit,oom}
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

IFNAMSIZ = 15
_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check(value: str, what: str, pattern: re.Pattern[str], max_len: int) -> str:
    if not value or len(value) > max_len or not pattern.match(value):
        raise ValueError(f"invalid {what} {value!r}")
    return value


@dataclass(frozen=True)
class Layout:
    state_dir: Path
    pod_cidr: ipaddress.IPv4Network
    bridge: str
    netns_prefix: str
    cgroup_parent: str
    """Absolute below each hierarchy's root, e.g. ``/kubeproc-node1``."""

    @classmethod
    def build(
        cls, state_dir: Path, *, pod_cidr: str, bridge: str, netns_prefix: str, cgroup_parent: str
    ) -> Layout:
        network = ipaddress.ip_network(pod_cidr, strict=True)
        if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen > 29:
            raise ValueError(f"pod CIDR {pod_cidr!r}: need an IPv4 network of /29 or larger")
        parent = "/" + cgroup_parent.strip("/")
        for part in parent.strip("/").split("/"):
            _check(part, "cgroup parent", _NAME, 200)
        return cls(
            state_dir=state_dir.absolute(),
            pod_cidr=network,
            bridge=_check(bridge, "bridge name", _IFNAME, IFNAMSIZ),
            netns_prefix=_check(netns_prefix, "netns prefix", _NAME, 64),
            cgroup_parent=parent,
        )

    def params(self) -> dict[str, str]:
        """What ``node.json`` records, so a restart with other parameters is refused."""
        return {
            "podCIDR": str(self.pod_cidr),
            "bridge": self.bridge,
            "netnsPrefix": self.netns_prefix,
            "cgroupParent": self.cgroup_parent,
        }

    # Network.
    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.pod_cidr.network_address + 1

    @property
    def proxy_source(self) -> ipaddress.IPv4Address:
        """The service proxy's own address on the bridge: the pod CIDR's last usable one.

        The host's service traffic leaves from it, apart from the gateway the kubelet's
        probes use; IPAM never hands it to a pod (``ipam_range_end``).
        """
        return self.pod_cidr.broadcast_address - 1

    @property
    def ipam_range_end(self) -> ipaddress.IPv4Address:
        """The last address host-local IPAM may give a pod (the proxy's is after it)."""
        return self.proxy_source - 1

    @property
    def network_name(self) -> str:
        """The CNI network name (host-local keys its allocations by it)."""
        return f"kubeproc-{self.bridge}"

    def netns_name(self, sandbox_id: str, pod_uid: str) -> str:
        uid8 = re.sub(r"[^A-Za-z0-9]", "", pod_uid)[:8] or "pod"
        return f"{self.netns_prefix}-{uid8}-{sandbox_id[:6]}"

    # Files.
    @property
    def node_file(self) -> Path:
        return self.state_dir / "node.json"

    @property
    def runc_root(self) -> Path:
        return self.state_dir / "runc"

    @property
    def ipam_dir(self) -> Path:
        return self.state_dir / "ipam"

    @property
    def socket_dir(self) -> Path:
        return self.state_dir / "sock"

    @property
    def sandboxes_dir(self) -> Path:
        return self.state_dir / "sandboxes"

    @property
    def containers_dir(self) -> Path:
        return self.state_dir / "containers"

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.sandboxes_dir / sandbox_id

    def container_dir(self, container_id: str) -> Path:
        return self.containers_dir / container_id

    @property
    def skeleton_root(self) -> Path:
        """Mount-point skeletons live on /dev/shm (a tmpfs), see ``fsview``."""
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12]
        return Path("/dev/shm") / f"kubeproc-{digest}"  # noqa: S108 (a private dir per node)

    # cgroups.
    def pod_cgroup(self, sandbox_id: str) -> str:
        return f"{self.cgroup_parent}/pod-{sandbox_id}"

    def container_cgroup(self, sandbox_id: str, container_id: str) -> str:
        return f"{self.pod_cgroup(sandbox_id)}/{container_id}"
