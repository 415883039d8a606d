"""Serves metrics.k8s.io/v1beta1 (what metrics-server serves), from the kubelets' reports.

Owns the paths under ``/apis/metrics.k8s.io``: the group and version discovery
documents, and ``get``/``list`` of ``nodes`` and of ``pods`` (in one namespace or all,
with ``labelSelector`` and ``fieldSelector``). Each request asks the kubelet of every
node concerned for ``GET /stats/resource`` (``kubeproc.kubelet.server_stats`` documents
the body; the address and token are the ones ``kubeletclient`` uses for logs and exec)
and builds the objects with ``metricsobjects``. As metrics-server does, a pod or node
without figures yet (too young for a full window, or its kubelet unreachable) is left out
of a list, and a ``get`` of it is a ``NotFound`` of ``podmetrics.metrics.k8s.io`` named
``namespace/name`` (``nodemetrics.metrics.k8s.io`` and the node's name for nodes). Any
verb but get, list, and a watch, is refused with 405, as the aggregated API refuses it.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web

from kubeproc.api.errors import GroupResource, MethodNotAllowed, NotFound
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.apiserver import metricsobjects as mo
from kubeproc.apiserver.kubeletclient import KubeletEndpoint, KubeletUnavailable, endpoint
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.requestinfo import not_found_path
from kubeproc.apiserver.requestoptions import selectors
from kubeproc.apiserver.responses import json_response, wants_table
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

PREFIX = f"/apis/{mo.GROUP}"
STATS_TIMEOUT = 5.0
POD_METRICS = GroupResource(mo.GROUP, "podmetrics")
NODE_METRICS = GroupResource(mo.GROUP, "nodemetrics")


class MetricsApi:
    """The handler of every path under ``/apis/metrics.k8s.io``; one per API server."""

    def __init__(
        self, objects: ObjectStore, registry: Registry, clock: Clock, *, kubelet_token: str
    ) -> None:
        self.objects = objects
        self.clock = clock
        self._token = kubelet_token
        nodes, pods = registry.get("", "v1", "nodes"), registry.get("", "v1", "pods")
        assert nodes is not None and pods is not None, "the core registry serves nodes and pods"
        self._nodes: ResourceType = nodes
        self._pods: ResourceType = pods

    async def handle(self, request: web.Request) -> web.Response:
        parts = [p for p in request.path.removeprefix(PREFIX).split("/") if p]
        if request.method != "GET" or request.query.get("watch") in ("1", "true"):
            raise MethodNotAllowed(
                "the server does not allow this method on the requested resource", details={}
            )
        if not parts:
            return json_response(mo.api_group())
        if parts[0] != mo.VERSION:
            raise not_found_path()
        if parts[1:] == []:
            return json_response(mo.api_resource_list())
        body = await self._resource(request, parts[1:])
        if wants_table(request):
            items = body.get("items", [body])
            return json_response(mo.metrics_table(items, request.query.get("includeObject", "")))
        return json_response(body)

    async def _resource(self, request: web.Request, rest: list[str]) -> dict[str, Any]:
        match rest:
            case ["nodes"]:
                return await self._list_nodes(request)
            case ["nodes", name]:
                return await self._get_node(name)
            case ["pods"]:
                return await self._list_pods(request, None)
            case ["namespaces", namespace, "pods"]:
                return await self._list_pods(request, namespace)
            case ["namespaces", namespace, "pods", name]:
                return await self._get_pod(namespace, name)
        raise not_found_path()

    # -- nodes -------------------------------------------------------------------------------

    async def _list_nodes(self, request: web.Request) -> dict[str, Any]:
        labels, fields = selectors(request, self._nodes)
        nodes = self.objects.list(self._nodes, None, labels=labels, fields=fields).items
        items = [m for node in nodes if (m := await self._node_metrics(node)) is not None]
        return mo.metrics_list("NodeMetricsList", items)

    async def _get_node(self, name: str) -> dict[str, Any]:
        node = self.objects.get(self._nodes, None, name)
        found = await self._node_metrics(node)
        if found is None:
            raise NotFound.of(NODE_METRICS, name)
        return found

    async def _node_metrics(self, node: dict[str, Any]) -> dict[str, Any] | None:
        report = await self._report(node["metadata"]["name"], {})
        return mo.node_metrics(node, report, self.clock.now())

    # -- pods --------------------------------------------------------------------------------

    async def _list_pods(self, request: web.Request, namespace: str | None) -> dict[str, Any]:
        labels, fields = selectors(request, self._pods)
        pods = self.objects.list(self._pods, namespace, labels=labels, fields=fields).items
        reports: dict[str, dict[str, Any] | None] = {}
        items = []
        for pod in pods:
            found = await self._pod_metrics(pod, reports)
            if found is not None:
                items.append(found)
        return mo.metrics_list("PodMetricsList", items)

    async def _get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self.objects.get(self._pods, namespace, name)
        found = await self._pod_metrics(pod, {})
        if found is None:
            raise NotFound.of(POD_METRICS, f"{namespace}/{name}")
        return found

    async def _pod_metrics(
        self, pod: dict[str, Any], reports: dict[str, dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if not node_name:
            return None
        return mo.pod_metrics(pod, await self._report(node_name, reports), self.clock.now())

    # -- kubelets ----------------------------------------------------------------------------

    async def _report(
        self, node_name: str, cache: dict[str, dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        """The kubelet's ``/stats/resource`` (once per request per node); None if unreachable."""
        if node_name not in cache:
            try:
                target = endpoint(node_name, self.objects.try_get(self._nodes, None, node_name))
            except (KubeletUnavailable, NotFound) as err:
                log.info("no resource metrics node=%s reason=%s", node_name, err)
                cache[node_name] = None
            else:
                cache[node_name] = await self._fetch(target)
        return cache[node_name]

    async def _fetch(self, target: KubeletEndpoint) -> dict[str, Any] | None:
        url = f"{target.base_url}/stats/resource"
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = aiohttp.ClientTimeout(total=STATS_TIMEOUT)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, headers=headers) as resp,
            ):
                if resp.status != 200:
                    log.info("kubelet refused stats node=%s status=%d", target.node, resp.status)
                    return None
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            log.info("kubelet stats unreachable node=%s error=%s", target.node, err)
            return None
        return body if isinstance(body, dict) else None
