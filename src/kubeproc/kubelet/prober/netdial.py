"""Opening probe connections, and the Go-shaped error texts users see when that fails.

The HTTP and TCP handlers both dial through :func:`dial`. It owns two things the kubelet's
users can observe: how a failed connect is worded (the Go kubelet's ``dial tcp A: connect:
connection refused`` family, which lands verbatim in events), and what a finished probe
connection leaves behind in the kernel.

On the second point: the Go kubelet sets ``SO_LINGER`` on with a 1 s timeout. On Linux that
only bounds how long ``close()`` may wait for unsent data; the side that closes first still
enters TIME_WAIT for 60 s, so a node probing many pods still piles them up. Measured here
with ``ss -tan state time-wait``: 200 HTTP probes against one local server with linger 1 s
left 200 TIME_WAIT entries, all on the server's side (with ``Connection: close`` it closes
first); with linger 0 they left none on either side. So we set linger on with a **0 s**
timeout: closing the socket sends RST and drops it at once. The usual cost of an abortive
close, losing unsent data, does not apply, since a probe closes only after it has its
answer (HTTP) or has sent nothing at all (TCP). Peers may see a reset instead of a FIN;
that is the trade.

Only numeric addresses and names resolvable through ``getaddrinfo`` are dialled; name
lookup failures are worded like Go's (``dial tcp: lookup <host>: no such host``) without
the resolver address Go's pure resolver adds.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import struct

__all__ = ["DialError", "dial", "go_errno_text", "join_host_port"]

_LINGER_ABORT = struct.pack("ii", 1, 0)

# Go prints syscall errors from its own table; these are the ones a connect can produce.
_GO_ERRNO_TEXT: dict[int, str] = {
    errno.ECONNREFUSED: "connection refused",
    errno.ETIMEDOUT: "connection timed out",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network is unreachable",
    errno.ENETDOWN: "network is down",
    errno.EHOSTDOWN: "host is down",
    errno.ECONNRESET: "connection reset by peer",
    errno.ECONNABORTED: "software caused connection abort",
    errno.EADDRNOTAVAIL: "cannot assign requested address",
    errno.EADDRINUSE: "address already in use",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EINVAL: "invalid argument",
    errno.EAFNOSUPPORT: "address family not supported by protocol",
    errno.EMFILE: "too many open files",
    errno.ENOBUFS: "no buffer space available",
}


class DialError(Exception):
    """A connect that failed; ``str()`` is the Go kubelet's text for it."""

    def __init__(self, text: str, *, timeout: bool = False) -> None:
        super().__init__(text)
        self.timeout = timeout
        """The deadline expired (Go's ``i/o timeout``) rather than the peer refusing."""


def go_errno_text(code: int | None) -> str:
    """The lower-case text Go's ``syscall.Errno`` prints for ``code``."""
    if code is None:
        return "unknown error"
    text = _GO_ERRNO_TEXT.get(code)
    if text is None:
        raw = os.strerror(code)
        text = raw[:1].lower() + raw[1:]
    return text


def join_host_port(host: str, port: int | str) -> str:
    """``host:port``, bracketing IPv6 literals as Go's ``net.JoinHostPort`` does."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


async def dial(host: str, port: int, deadline: float) -> socket.socket:
    """Connect to ``host:port`` by ``deadline`` (loop time); the socket closes abortively.

    Raises :class:`DialError` worded as Go's dialer words it. The caller owns the returned
    non-blocking socket and must close it.
    """
    loop = asyncio.get_running_loop()
    targets = await _resolve(host, port, deadline)
    first_error: DialError | None = None
    for family, address in targets:
        try:
            return await _connect_one(loop, family, address, deadline)
        except DialError as err:
            first_error = first_error or err
            if err.timeout:
                break
    assert first_error is not None
    raise first_error


async def _resolve(
    host: str, port: int, deadline: float
) -> list[tuple[socket.AddressFamily, tuple[str, int]]]:
    literal = host.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        pass
    else:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        return [(family, (host, port))]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(deadline):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise DialError(f"dial tcp: lookup {host}: i/o timeout", timeout=True) from None
    except (OSError, UnicodeError):
        raise DialError(f"dial tcp: lookup {host}: no such host") from None
    return [(socket.AddressFamily(info[0]), (str(info[4][0]), port)) for info in infos]


async def _connect_one(
    loop: asyncio.AbstractEventLoop,
    family: socket.AddressFamily,
    address: tuple[str, int],
    deadline: float,
) -> socket.socket:
    shown = join_host_port(address[0], address[1])
    if loop.time() >= deadline:
        raise DialError(f"dial tcp {shown}: i/o timeout", timeout=True)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ABORT)
        async with asyncio.timeout_at(deadline):
            await loop.sock_connect(sock, address)
    except TimeoutError:
        sock.close()
        raise DialError(f"dial tcp {shown}: i/o timeout", timeout=True) from None
    except OSError as err:
        sock.close()
        raise DialError(f"dial tcp {shown}: connect: {go_errno_text(err.errno)}") from None
    except BaseException:
        sock.close()
        raise
    return sock
