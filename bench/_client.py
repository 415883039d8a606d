"""Timed HTTPS requests: one aiohttp session per server, latency taken around each request.

A latency is from just before the request is written to just after the last byte of the
response body is read (the body is not decoded), so a large list costs what a client
reading it costs. Both the node and the baseline are reached through this one class with
the same connector settings, so their numbers differ only by the server.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp

REQUEST_TIMEOUT = 120.0


class BadStatus(Exception):
    """A request answered with a status the bench did not expect."""


@dataclass(frozen=True)
class Timed:
    seconds: float
    body: bytes


class TimedSession:
    """Keep-alive connections to one server, at most ``connections`` at once."""

    def __init__(
        self, base_url: str, ssl_context: ssl.SSLContext, connections: int, token: str
    ) -> None:
        self.base_url = base_url
        self._connector = aiohttp.TCPConnector(limit=connections, ssl=ssl_context)
        self._session = aiohttp.ClientSession(
            connector=self._connector,
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        )

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._session

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: int = 200,
    ) -> Timed:
        start = time.perf_counter()
        async with self._session.request(
            method, self.base_url + path, data=body, headers=headers
        ) as response:
            data = await response.read()
        elapsed = time.perf_counter() - start
        if response.status != expect:
            raise BadStatus(f"{method} {path}: {response.status} {data[:300]!r}")
        return Timed(elapsed, data)
