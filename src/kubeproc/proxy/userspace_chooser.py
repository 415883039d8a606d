"""Which endpoint takes a new proxied connection: round robin, or sticky per client IP.

The userspace proxy keeps one ``EndpointChooser`` per Service port, as kube-proxy's
userspace load balancer keeps one round-robin state per service. It holds no sockets and
reads no clock: the caller passes ``now`` (monotonic seconds) and the endpoints it has
already tried for this connection, so a refused or timed-out connect is retried on the
next endpoint in turn, and the whole policy is tested with plain tables.

Affinity (``sessionAffinity: ClientIP``) follows kube-proxy: a client IP keeps the
endpoint it last got while it keeps connecting within ``affinity_timeout`` seconds of its
previous connection; when that endpoint leaves the set or fails to connect, the client
is re-pinned to whichever endpoint round robin gives next.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

Address = tuple[str, int]
"""An endpoint as the proxy dials it: (ip, port)."""

# How often, at most, expired affinity records are swept (seconds), so a Service with many
# short-lived clients does not keep one record per client forever.
SWEEP_INTERVAL = 60.0


@dataclass
class _Sticky:
    address: Address
    last_used: float


class EndpointChooser:
    """Round-robin over a Service port's usable endpoints, with optional ClientIP affinity."""

    def __init__(
        self, endpoints: Sequence[Address] = (), affinity_timeout: float | None = None
    ) -> None:
        self._endpoints: tuple[Address, ...] = ()
        self._members: frozenset[Address] = frozenset()
        self._next = 0
        self._affinity_timeout: float | None = None
        self._sticky: dict[str, _Sticky] = {}
        self._next_sweep = 0.0
        self.update(endpoints, affinity_timeout)

    @property
    def endpoints(self) -> tuple[Address, ...]:
        return self._endpoints

    @property
    def affinity_timeout(self) -> float | None:
        return self._affinity_timeout

    @property
    def pinned_clients(self) -> int:
        """How many client IPs hold an affinity record (expired ones until swept)."""
        return len(self._sticky)

    def update(self, endpoints: Sequence[Address], affinity_timeout: float | None) -> None:
        """Take a new endpoint set; affinity to endpoints that left is forgotten.

        The rotation carries on where it was (modulo the new size) rather than restarting
        at the first endpoint, so frequent endpoint changes do not pile new connections
        onto whichever endpoint sorts first.
        """
        new = tuple(dict.fromkeys(endpoints))
        if affinity_timeout != self._affinity_timeout:
            self._affinity_timeout = affinity_timeout
            self._sticky.clear()
        if new == self._endpoints:
            return
        self._endpoints = new
        self._members = frozenset(new)
        self._next = self._next % len(new) if new else 0
        self._sticky = {
            client: sticky
            for client, sticky in self._sticky.items()
            if sticky.address in self._members
        }

    def choose(self, client_ip: str, now: float, tried: Collection[Address] = ()) -> Address | None:
        """The endpoint for a new connection from ``client_ip``, never one in ``tried``.

        None when every endpoint has been tried (or there is none): the caller gives up.
        """
        timeout = self._affinity_timeout
        if timeout is not None:
            self._sweep(now, timeout)
            sticky = self._sticky.get(client_ip)
            if (
                sticky is not None
                and sticky.address not in tried
                and now - sticky.last_used <= timeout
                and sticky.address in self._members
            ):
                sticky.last_used = now
                return sticky.address
        chosen = self._round_robin(tried)
        if chosen is not None and timeout is not None:
            self._sticky[client_ip] = _Sticky(chosen, now)
        return chosen

    def _round_robin(self, tried: Collection[Address]) -> Address | None:
        endpoints = self._endpoints
        count = len(endpoints)
        for step in range(count):
            index = (self._next + step) % count
            candidate = endpoints[index]
            if candidate not in tried:
                self._next = (index + 1) % count
                return candidate
        return None

    def _sweep(self, now: float, timeout: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + min(timeout, SWEEP_INTERVAL)
        expired = [c for c, s in self._sticky.items() if now - s.last_used > timeout]
        for client in expired:
            del self._sticky[client]
