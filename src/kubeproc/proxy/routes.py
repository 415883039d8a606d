"""The host side of the service proxy: the bridge, the proxy's address, the service route.

Both proxy modes route the whole service CIDR to the node's bridge, never to the default
route, so a packet to a stale or unallocated service address stays on this machine:

- ``nftables``: ``<service-cidr> dev <bridge> src <proxy-source>``. The host's packets to
  a VIP leave from the proxy source address, then the nat output hook DNATs them to a pod;
  the kubelet's probes use the gateway address, so the two never share a source (the
  stalls of perf-baselines §6). Forwarding is turned on for the bridge alone (pods reach
  VIPs through the host); the nftables forward chain drops anything from the bridge bound
  elsewhere, and the machine-wide ``ip_forward`` is left as it is.
- ``userspace``: ``local <service-cidr> dev <bridge>`` in the local table, so listeners
  can bind any VIP.

With the oci runtime the bridge may not exist yet (the CNI bridge plugin makes it for the
first pod, and accepts one that exists): it is created here, with a MAC of its own that
ports coming and going do not change, up, with the gateway address
(which routes the pod CIDR) and the proxy source as a /32 (kept out of IPAM by the CNI
config's ``rangeEnd``). ``remove`` undoes what ``install`` added; the bridge itself and the
gateway belong to the runtime, which deletes them on ``kubeproc down``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from pathlib import Path

from kubeproc.proxy.backend import BackendContext, ProxyError, ProxyMode

log = logging.getLogger(__name__)

SYSCTL_CONF = Path("/proc/sys/net/ipv4/conf")
IP_TIMEOUT = 10.0
ADDR_SET = "3"
"""``addr_assign_type`` of an interface whose MAC was set explicitly (``NET_ADDR_SET``)."""


async def ip(*args: str, tolerate: tuple[str, ...] = ()) -> None:
    """Run ``ip args``; an error whose text holds one of ``tolerate`` counts as done."""
    proc = await asyncio.create_subprocess_exec(
        "ip",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(IP_TIMEOUT):
            _, err = await proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    text = err.decode(errors="replace").strip()
    if proc.returncode != 0 and not any(t in text for t in tolerate):
        raise ProxyError(f"ip {' '.join(args)}: {text or f'exit {proc.returncode}'}")


class HostRoutes:
    """Routes, addresses and the bridge's forwarding sysctl for one proxy mode."""

    def __init__(self, ctx: BackendContext, mode: ProxyMode) -> None:
        self.ctx = ctx
        self.mode = mode
        self._forwarding_before: str | None = None

    @property
    def _on_bridge(self) -> bool:
        return self.ctx.runtime == "oci"

    @property
    def _forwarding(self) -> Path:
        return SYSCTL_CONF / self.ctx.bridge / "forwarding"

    async def install(self) -> None:
        """Prepare the host; on failure, undo what was done and raise ``ProxyError``."""
        try:
            if self._on_bridge:
                await self._ensure_bridge()
            if self.mode == ProxyMode.NFTABLES:
                await ip(
                    "route", "replace", self.ctx.service_cidr,
                    "dev", self.ctx.bridge, "src", self.ctx.proxy_source,
                )  # fmt: skip
                self._enable_forwarding()
            else:
                await ip(
                    "route", "replace", "local", self.ctx.service_cidr,
                    "dev", self.ctx.bridge, "table", "local",
                )  # fmt: skip
        except BaseException:
            await self.remove()
            raise
        log.info(
            "service routes installed mode=%s service_cidr=%s dev=%s source=%s",
            self.mode,
            self.ctx.service_cidr,
            self.ctx.bridge,
            self.ctx.proxy_source,
        )

    async def _ensure_bridge(self) -> None:
        bridge = self.ctx.bridge
        await ip("link", "add", "name", bridge, "type", "bridge", tolerate=("File exists",))
        await self._pin_bridge_address()
        await ip("link", "set", bridge, "up")
        prefix = ipaddress.ip_network(self.ctx.pod_cidr).prefixlen
        await ip("addr", "replace", f"{self.ctx.gateway}/{prefix}", "dev", bridge)
        await ip("addr", "replace", f"{self.ctx.proxy_source}/32", "dev", bridge)

    async def _pin_bridge_address(self) -> None:
        """Give the bridge its own MAC for good, as the CNI bridge plugin does for one it makes.

        A bridge whose address the kernel chose takes the lowest MAC among its ports and
        changes it as pods come and go; pods keep the old one for the gateway and the proxy
        source in their ARP caches, and their replies go nowhere until those expire (a
        scale-down then up under load timed out every request to the pod that stayed).
        """
        sysfs = Path("/sys/class/net") / self.ctx.bridge
        try:
            if (sysfs / "addr_assign_type").read_text().strip() == ADDR_SET:
                return
            mac = (sysfs / "address").read_text().strip()
        except OSError as err:
            raise ProxyError(f"cannot read the address of {self.ctx.bridge}: {err}") from err
        await ip("link", "set", "dev", self.ctx.bridge, "address", mac)

    def _enable_forwarding(self) -> None:
        try:
            before = self._forwarding.read_text().strip()
            if before != "1":
                self._forwarding.write_text("1\n")
                self._forwarding_before = before
        except OSError as err:
            raise ProxyError(f"cannot turn on forwarding for {self.ctx.bridge}: {err}") from err

    async def remove(self) -> None:
        """Undo ``install``; tolerant of what is already gone (the bridge, a route)."""
        gone = ("No such", "Cannot find device", "Cannot assign")
        try:
            if self.mode == ProxyMode.NFTABLES:
                await ip(
                    "route", "del", self.ctx.service_cidr, "dev", self.ctx.bridge, tolerate=gone
                )
            else:
                await ip(
                    "route", "del", "local", self.ctx.service_cidr,
                    "dev", self.ctx.bridge, "table", "local", tolerate=gone,
                )  # fmt: skip
            if self._on_bridge:
                address = f"{self.ctx.proxy_source}/32"
                await ip("addr", "del", address, "dev", self.ctx.bridge, tolerate=gone)
        except ProxyError as err:
            log.warning("cannot remove service routes error=%s", err)
        if self._forwarding_before is not None:
            with contextlib.suppress(OSError):  # the bridge is gone, and its sysctl with it
                self._forwarding.write_text(f"{self._forwarding_before}\n")
            self._forwarding_before = None
