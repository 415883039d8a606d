"""The tcpSocket probe handler: healthy when a TCP handshake completes in time.

Nothing is sent or read: an application that accepts and closes at once, or that would
answer HTTP 500, is still healthy (spec §3.3). The connection is dropped the moment the
handshake completes, through :mod:`netdial`, which also words a failed connect as the Go
kubelet does (``dial tcp 10.1.2.3:8080: connect: connection refused``). Success carries no
output.
"""

from __future__ import annotations

import asyncio

from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome
from kubeproc.kubelet.prober.netdial import DialError, dial

__all__ = ["tcp_probe"]


async def tcp_probe(
    host: str,
    port: int,
    timeout: float,  # noqa: ASYNC109 (timeoutSeconds is the probe's input; it bounds the dial)
) -> Outcome:
    """Dial ``host:port`` within ``timeout`` seconds; close at once on success."""
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        sock = await dial(host, port, deadline)
    except DialError as err:
        return Outcome(HandlerResult.FAILURE, str(err))
    sock.close()
    return Outcome(HandlerResult.SUCCESS)
