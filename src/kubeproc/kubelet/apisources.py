"""Config sources for the kubelet: ConfigMaps and Secrets as containers and volumes need them.

``ApiSources`` reads them when a container or volume needs them (the kubelet's ``Get``
change-detection strategy), answering None for a missing object.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.client import ApiClient


def resource_of(registry: Registry, group: str, plural: str) -> ResourceType:
    rt = registry.get(group, "v1", plural)
    assert rt is not None, plural
    return rt


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
