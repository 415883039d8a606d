"""The nftables backend: one ``nft -f -`` transaction per sync, and the host's routes.

Decides nothing: ``nftrules`` renders the table, ``routes`` prepares the host, this module
runs them. The first sync (and the first after a failed one, when what the kernel holds
is uncertain) replaces the table whole, which also clears a table a crashed node left;
later ones move it from the last applied ruleset, keeping the affinity sets' entries.
``nft`` runs with a deadline and, when cancelled or late, is killed and reaped; its error
text becomes a ``ProxyError`` message (one log line, no traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
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

log = logging.getLogger(__name__)

NFT_TIMEOUT = 10.0


async def run_nft(script: str, *, check: bool = False, limit: float = NFT_TIMEOUT) -> None:
    """Run ``script`` as one nft transaction (``check``: validate only, change nothing)."""
    argv = ["nft", *(["-c"] if check else []), "-f", "-"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as err:
        raise ProxyError(f"cannot run nft: {err.strerror or err}") from err
    try:
        async with asyncio.timeout(limit):
            out, err_text = await proc.communicate(script.encode())
    except TimeoutError:
        await _kill(proc)
        raise ProxyError(f"nft did not finish within {limit:.0f}s") from None
    except BaseException:
        await _kill(proc)
        raise
    if proc.returncode != 0:
        text = (err_text or out).decode(errors="replace").strip()
        raise ProxyError(f"nft failed (exit {proc.returncode}): {_brief(text)}")


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()


def _brief(text: str, limit: int = 2000) -> str:
    """nft's error, on one line and bounded (it quotes the offending script line)."""
    flat = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[:limit] + "..."


class NftablesBackend:
    """Kernel DNAT through the node's own nftables table."""

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
        except ProxyError as err:
            log.warning("cannot remove nftables table table=%s error=%s", self.config.table, err)
        self._applied = None
        await self.routes.remove()

    async def apply(self, ports: ServicePortMap) -> None:
        ruleset = render(ports, self.config)
        previous, self._applied = self._applied, None
        script = full_script(ruleset) if previous is None else update_script(previous, ruleset)
        await run_nft(script)
        self._applied = ruleset
