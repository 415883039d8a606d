"""``GET /api/v1/namespaces/{ns}/pods/{name}/probehistory``: every recent probe attempt.

A read-only, kubeproc-specific subresource of pods, so it sits where a Kubernetes user
looks for things about one pod (beside ``log`` and ``status``), takes the same token, and
fails the same way (``pods "x" not found`` as a 404 ``Status``). It is not advertised in
discovery (kubectl has no verb for it); ``kubectl get --raw`` and ``kubeproc probes``
read it. Query: ``container`` narrows it to one container (one the pod does not have is
a 400, ``container c is not valid for pod p``, as for logs).

The pod is checked here; the attempts come from the pod's kubelet
(``GET /probeHistory/{ns}/{pod}?uid=`` over ``kubeletclient``, the UID making sure a
deleted pod's successor of the same name is not mixed in). The answer::

    {"kind": "PodProbeHistory", "apiVersion": "kubeproc.dev/v1alpha1",
     "metadata": {"name", "namespace", "uid"},
     "probes": [{"container", "probe": "readiness", "podUID", "capacity",
                 "totals": {"success": n, "failure": n, "unknown": n},
                 "attempts": [{"start": RFC 3339 µs, "durationSeconds", "result",
                               "code"?, "output"}]}]}

``totals`` count every attempt since the kubelet began probing the pod (what
``prober_probe_total`` reports); ``attempts`` holds the last ``capacity`` of them, oldest
first. A pod not yet on a node has no probes.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from kubeproc.api.errors import StatusError
from kubeproc.api.resources import Registry
from kubeproc.apiserver.kubeletclient import (
    KubeletClient,
    KubeletRefused,
    KubeletUnavailable,
    endpoint,
)
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.podcontainers import validate_container
from kubeproc.apiserver.responses import json_response

PATH = "/api/v1/namespaces/{namespace}/pods/{name}/probehistory"
KIND = "PodProbeHistory"
API_VERSION = "kubeproc.dev/v1alpha1"


class ProbeHistoryHandler:
    def __init__(self, objects: ObjectStore, registry: Registry, *, kubelet_token: str) -> None:
        self.objects = objects
        self.registry = registry
        self._token = kubelet_token

    async def handle(self, request: web.Request) -> web.Response:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        pods_rt = self.registry.get("", "v1", "pods")
        assert pods_rt is not None
        pod = self.objects.get(pods_rt, namespace, name)
        meta = pod["metadata"]
        container = request.query.get("container", "")
        if container:
            validate_container(pod, container)  # 400: container c is not valid for pod p
        probes = await self._from_kubelet(pod, container)
        return json_response(
            {
                "kind": KIND,
                "apiVersion": API_VERSION,
                "metadata": {"name": name, "namespace": namespace, "uid": meta.get("uid", "")},
                "probes": probes,
            }
        )

    async def _from_kubelet(self, pod: dict[str, Any], container: str) -> list[Any]:
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if not node_name:
            return []
        nodes_rt = self.registry.get("", "v1", "nodes")
        node = self.objects.try_get(nodes_rt, None, node_name) if nodes_rt else None
        meta = pod["metadata"]
        query = [("uid", meta.get("uid", ""))]
        if container:
            query.append(("container", container))
        path = f"/probeHistory/{meta.get('namespace', '')}/{meta['name']}"
        try:
            async with KubeletClient(endpoint(node_name, node), self._token) as kubelet:
                body = await kubelet.fetch(path, query)
        except KubeletUnavailable as err:
            raise StatusError(f"error dialing backend: {err}") from None
        except KubeletRefused as refused:
            raise StatusError(f"the kubelet refused: {refused.text}") from None
        probes = json.loads(body).get("probes", [])
        return probes if isinstance(probes, list) else []
