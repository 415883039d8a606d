"""The seam between the proxy's bookkeeping and the mechanism that moves the packets.

``Proxier`` keeps the Service port map current and hands every version of it, whole, to
one ``ProxyBackend``: the nftables backend (kernel DNAT) or the userspace one (an asyncio
proxy). A backend is an async context manager: entering it prepares the host (routes,
addresses, sysctls), leaving it removes everything it made, and ``apply`` is called
serially, never concurrently. Both backends take the same ``BackendContext``, the runtime
facts the node knows and the proxy must not look up itself (the layering keeps the proxy
away from the kubelet's runtime), and ``make_backend`` picks one by mode name. The
userspace module is found by name when asked for, so either backend can be built and
tested without the other.
"""

from __future__ import annotations

import importlib
import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self, cast

from kubeproc.proxy.model import ServicePortMap


class ProxyMode(StrEnum):
    NFTABLES = "nftables"
    USERSPACE = "userspace"


class ProxyError(Exception):
    """A backend could not set up or apply; the message is for the log, in one line."""


@dataclass(frozen=True)
class BackendContext:
    """What a backend needs to know about the node it serves.

    With the oci runtime ``bridge`` is the node's pod bridge, ``gateway`` its address (the
    source of the kubelet's probes) and ``proxy_source`` a second address on it, the last
    one of the pod CIDR, kept out of IPAM: service traffic leaves from there, so the host
    never reaches a pod both directly and through a DNAT from one address (see
    perf-baselines §6). With the process runtime pods are host processes: ``bridge`` is
    ``lo`` and both addresses are 127.0.0.1.
    """

    bridge: str
    gateway: str
    pod_cidr: str
    service_cidr: str
    proxy_source: str
    table_name: str
    """The node's own nftables table (``ip`` family); unique per node on a machine."""
    runtime: str
    """``oci`` or ``process``."""


def resolve_mode(mode: str, runtime: str) -> ProxyMode:
    """``auto`` is nftables with the oci runtime (pods on a bridge), else userspace."""
    if mode == "auto":
        return ProxyMode.NFTABLES if runtime == "oci" else ProxyMode.USERSPACE
    try:
        return ProxyMode(mode)
    except ValueError:
        raise ProxyError(f"unknown proxy mode {mode!r}") from None


def proxy_source_address(pod_cidr: str) -> str:
    """The last usable address of the pod CIDR: the source of the proxy's traffic."""
    network = ipaddress.ip_network(pod_cidr, strict=True)
    return str(network.broadcast_address - 1)


class ProxyBackend(Protocol):
    protocols: frozenset[str]
    """The Service protocols it carries (``TCP``, ``UDP``, ``SCTP``)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def apply(self, ports: ServicePortMap) -> None:
        """Make the host serve exactly ``ports``; raises ``ProxyError`` when it cannot."""


class BackendFactory(Protocol):
    def __call__(self, ctx: BackendContext) -> ProxyBackend: ...


def make_backend(mode: str, ctx: BackendContext) -> ProxyBackend:
    """The backend of ``mode`` for ``ctx``; the userspace module is imported only here."""
    if mode == ProxyMode.NFTABLES:
        from kubeproc.proxy.nftapply import NftablesBackend  # noqa: PLC0415 (light start)

        return NftablesBackend(ctx)
    if mode == ProxyMode.USERSPACE:
        try:
            module = importlib.import_module("kubeproc.proxy.userspace")
        except ImportError as err:
            raise ProxyError(f"the userspace proxy is not available: {err}") from err
        factory = cast(BackendFactory, module.userspace_backend)
        return factory(ctx)
    raise ProxyError(f"unknown proxy mode {mode!r}")
