"""A small asynchronous Kubernetes REST client, the only way components reach the API.

Controllers, the scheduler and the kubelet talk to the API server through this client
exactly as they would to a real cluster (HTTPS, bearer token), so each could be pointed
at one. HTTP-library errors are translated once, here, into the API error tree.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from kubeproc.api import errors
from kubeproc.api.resources import ResourceType

_BY_REASON: dict[str, type[errors.StatusError]] = {
    cls.reason: cls
    for cls in (
        errors.BadRequest,
        errors.Unauthorized,
        errors.Forbidden,
        errors.NotFound,
        errors.MethodNotAllowed,
        errors.AlreadyExists,
        errors.Conflict,
        errors.Gone,
        errors.Invalid,
        errors.InternalError,
        errors.ServiceUnavailable,
        errors.RequestEntityTooLarge,
        errors.UnsupportedMediaType,
        errors.TooManyRequests,
    )
}


def status_error(code: int, body: bytes) -> errors.StatusError:
    """The API error a non-2xx response stands for."""
    try:
        status = json.loads(body)
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    reason = str(status.get("reason", ""))
    message = str(status.get("message", body[:200].decode(errors="replace")))
    cls = _BY_REASON.get(reason)
    if cls is None:
        cls = next((c for c in _BY_REASON.values() if c.code == code), errors.InternalError)
    return cls(message, details=status.get("details"))


@dataclass(frozen=True)
class WatchEvent:
    type: str
    object: dict[str, Any]


class ApiClient(Protocol):
    """What components need from the API (the consumer-side seam)."""

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]: ...

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]: ...

    async def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        *,
        subresource: str = "",
        name: str = "",
    ) -> dict[str, Any]: ...

    async def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]: ...

    async def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        patch_type: str = "application/merge-patch+json",
        subresource: str = "",
    ) -> dict[str, Any]: ...

    async def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[WatchEvent]: ...


def path_for(rt: ResourceType, namespace: str | None, name: str = "", subresource: str = "") -> str:
    base = f"/api/{rt.version}" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    if rt.namespaced and namespace is not None:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{rt.plural}"
    if name:
        base += f"/{quote(name, safe='')}"
    if subresource:
        base += f"/{subresource}"
    return base


REQUEST_CONNECTIONS = 32
"""Short requests in flight at once per client; more wait for a free connection."""


class RestClient:
    """``ApiClient`` over HTTPS with a bearer token."""

    def __init__(self, server: str, token: str, *, ca_file: str | None, user_agent: str) -> None:
        self._server = server.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {token}",
            "User-Agent": user_agent,
            "Accept": "application/json",
        }
        self._ssl: ssl.SSLContext | bool = False
        if ca_file:
            self._ssl = ssl.create_default_context(cafile=ca_file)
        self._session: aiohttp.ClientSession | None = None
        self._watch_session: aiohttp.ClientSession | None = None

    def _new_session(self, limit: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            headers=self._headers,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            connector=aiohttp.TCPConnector(ssl=self._ssl, limit=limit),
        )

    async def __aenter__(self) -> RestClient:
        # Watches hold their connection for minutes, one per informer: in the request pool
        # they would take every slot and starve the short requests (binds, status writes).
        # They get a pool of their own, unbounded, as each informer holds exactly one.
        self._session = self._new_session(REQUEST_CONNECTIONS)
        self._watch_session = self._new_session(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for session in (self._session, self._watch_session):
            if session is not None:
                await session.close()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        assert self._session is not None, "use RestClient as an async context manager"
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else None
        try:
            async with self._session.request(
                method,
                self._server + path,
                params=params,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=60),
            ) as resp:
                raw = await resp.read()
                if resp.status >= 300:
                    raise status_error(resp.status, raw)
                result: dict[str, Any] = json.loads(raw) if raw else {}
                return result
        except aiohttp.ClientError as err:
            raise errors.ServiceUnavailable(f"the API server could not be reached: {err}") from err

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return await self._request("GET", path_for(rt, namespace, name))

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        return await self._request("GET", path_for(rt, namespace), params=params)

    async def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        *,
        subresource: str = "",
        name: str = "",
    ) -> dict[str, Any]:
        return await self._request("POST", path_for(rt, namespace, name, subresource), body=body)

    async def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        return await self._request("PUT", path_for(rt, namespace, name, subresource), body=body)

    async def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        patch_type: str = "application/merge-patch+json",
        subresource: str = "",
    ) -> dict[str, Any]:
        return await self._request(
            "PATCH", path_for(rt, namespace, name, subresource), body=patch, content_type=patch_type
        )

    async def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._request("DELETE", path_for(rt, namespace, name), body=options or {})

    async def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[WatchEvent]:
        assert self._watch_session is not None, "use RestClient as an async context manager"
        query = dict(params or {})
        query["watch"] = "true"
        try:
            async with self._watch_session.get(
                self._server + path_for(rt, namespace), params=query
            ) as resp:
                if resp.status >= 300:
                    raise status_error(resp.status, await resp.read())
                async for line in resp.content:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        obj = event.get("object", {})
                        raise status_error(int(obj.get("code", 500)), json.dumps(obj).encode())
                    yield WatchEvent(event["type"], event["object"])
        except aiohttp.ClientError as err:
            raise errors.ServiceUnavailable(f"the watch was interrupted: {err}") from err
