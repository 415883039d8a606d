"""A ``ProxyBackend`` for tests: records what it is given instead of touching the host."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from kubeproc.proxy.backend import ProxyError
from kubeproc.proxy.model import ServicePortMap


class FakeBackend:
    protocols = frozenset({"TCP", "UDP", "SCTP"})

    def __init__(self) -> None:
        self.applied: list[ServicePortMap] = []
        """Every map ``apply`` accepted, in order."""
        self.entered = 0
        self.exited = 0
        self.fail_next = 0
        """How many coming ``apply`` calls raise ``ProxyError``."""

    @property
    def active(self) -> bool:
        return self.entered > self.exited

    @property
    def current(self) -> ServicePortMap | None:
        return self.applied[-1] if self.applied else None

    async def __aenter__(self) -> Self:
        self.entered += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.exited += 1

    async def apply(self, ports: ServicePortMap) -> None:
        if not self.active:
            raise ProxyError("apply outside the backend's context")
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ProxyError("injected failure")
        self.applied.append(dict(ports))
