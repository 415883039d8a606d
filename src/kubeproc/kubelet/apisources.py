"""The kubelet's views of the API: a field-scoped client for its informer, and config sources.

``ScopedClient`` adds fixed list/watch parameters (``fieldSelector=spec.nodeName=<node>``)
to every list and watch, since ``Informer`` takes none of its own. ``ApiSources`` reads
ConfigMaps and Secrets when a container or volume needs them (the kubelet's ``Get``
change-detection strategy), answering None for a missing object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.client import ApiClient, WatchEvent


def resource_of(registry: Registry, group: str, plural: str) -> ResourceType:
    rt = registry.get(group, "v1", plural)
    assert rt is not None, plural
    return rt


class ScopedClient:
    """The client with fixed list/watch parameters (the Informer takes none of its own)."""

    def __init__(self, client: ApiClient, params: Mapping[str, str]) -> None:
        self._client = client
        self._params = dict(params)

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return await self._client.get(rt, namespace, name)

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        return await self._client.list(rt, namespace, params={**self._params, **(params or {})})

    async def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        *,
        subresource: str = "",
        name: str = "",
    ) -> dict[str, Any]:
        return await self._client.create(rt, namespace, body, subresource=subresource, name=name)

    async def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        return await self._client.update(rt, namespace, name, body, subresource=subresource)

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
        return await self._client.patch(
            rt, namespace, name, patch, patch_type=patch_type, subresource=subresource
        )

    async def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._client.delete(rt, namespace, name, options=options)

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[WatchEvent]:
        return self._client.watch(rt, namespace, params={**self._params, **(params or {})})


class ApiSources:
    """ConfigMaps and Secrets read from the API at use (the kubelet's ``Get`` strategy)."""

    def __init__(self, client: ApiClient, registry: Registry) -> None:
        self.client = client
        self.config_maps = resource_of(registry, "", "configmaps")
        self.secrets = resource_of(registry, "", "secrets")

    async def config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.client.get(self.config_maps, namespace, name)
        except errors.NotFound:
            return None

    async def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.client.get(self.secrets, namespace, name)
        except errors.NotFound:
            return None
