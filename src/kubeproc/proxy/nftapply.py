"""The nftables backend: one ``nft -f -`` transaction per sync, and the host's routes.

Decides nothing: ``nftrules`` renders the table, ``routes`` prepares the host, this module
runs them. The first sync (and the first after a failed one, when what the kernel holds
is uncertain) replaces the table whole, which also clears a table a crashed node left;
later ones move it from the last applied ruleset, keeping the affinity sets' entries.
``nft`` runs through ``util.nft`` (a deadline, killed and reaped when late); its error
text becomes a ``ProxyError`` message (one log line, no traceback).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from kubeproc.proxy.backend import BackendContext, ProxyError, ProxyMode
from kubeproc.proxy.model import ServicePortMap
from kubeproc.proxy.nftrules import (
    NftConfig,
    Ruleset,
    delete_script,
    full_script,
    render,
    update_script,
)
from kubeproc.proxy.routes import HostRoutes
from kubeproc.util.nft import NftError, run_nft

log = logging.getLogger(__name__)


class NftablesBackend:
    """Kernel DNAT through the node's own nftables table."""

    protocols = frozenset({"TCP", "UDP", "SCTP"})

    def __init__(self, ctx: BackendContext) -> None:
        if ctx.runtime != "oci":
            raise ProxyError("the nftables proxy needs the oci runtime (pods on the bridge)")
        self.ctx = ctx
        self.config = NftConfig(
            table=ctx.table_name,
            bridge=ctx.bridge,
            pod_cidr=ctx.pod_cidr,
            service_cidr=ctx.service_cidr,
            gateway=ctx.gateway,
            proxy_source=ctx.proxy_source,
        )
        self.routes = HostRoutes(ctx, ProxyMode.NFTABLES)
        self._applied: Ruleset | None = None

    async def __aenter__(self) -> Self:
        await self.routes.install()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._remove()

    async def _remove(self) -> None:
        # Runs while the node is being cancelled: the cancellation was delivered already,
        # so these awaits complete (a second cancellation cuts them short; the next start
        # replaces whatever is left).
        try:
            await run_nft(delete_script(self.config.table))
        except NftError as err:
            log.warning("cannot remove nftables table table=%s error=%s", self.config.table, err)
        self._applied = None
        await self.routes.remove()

    async def apply(self, ports: ServicePortMap) -> None:
        ruleset = render(ports, self.config)
        previous, self._applied = self._applied, None
        script = full_script(ruleset) if previous is None else update_script(previous, ruleset)
        try:
            await run_nft(script)
        except NftError as err:
            raise ProxyError(str(err)) from err
        self._applied = ruleset
