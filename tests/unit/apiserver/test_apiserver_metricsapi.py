"""metrics.k8s.io/v1beta1 served from a kubelet's report: lists, gets, selectors, errors.

The real API application against a stand-in kubelet that answers ``/stats/resource``
with a fixed report (the shape ``kubeproc.kubelet.server_stats`` serves).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.apiserver.podproxy_harness import API_TOKEN, KUBELET_TOKEN, api_objects, node

from kubeproc.api.resources import REGISTRY
from kubeproc.apiserver.app import build_app
from kubeproc.util.clock import SystemClock

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
METRICS = "/apis/metrics.k8s.io/v1beta1"


@dataclass
class FakeKubelet:
    report: dict[str, Any] = field(default_factory=lambda: {"node": None, "pods": []})
    seen_tokens: list[str] = field(default_factory=list)

    async def stats(self, request: web.Request) -> web.Response:
        self.seen_tokens.append(request.headers.get("Authorization", ""))
        return web.json_response(self.report)


def usage(cpu: int, memory: int) -> dict[str, Any]:
    return {
        "timestamp": "2026-01-01T00:00:10.500000Z",
        "windowSeconds": 10.0,
        "cpuNanoCores": cpu,
        "memoryWorkingSetBytes": memory,
    }


@dataclass
class Api:
    client: TestClient[Any, Any]
    kubelet: FakeKubelet

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {**AUTH}
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        async with self.client.request(method, path, json=body, headers=headers) as resp:
            return resp.status, json.loads(await resp.text())

    async def add_pod(self, ns: str, name: str, labels: dict[str, str], cpu: int | None) -> None:
        """A pod bound to node-1; with ``cpu``, the kubelet reports figures for it."""
        if ns != "default":
            await self.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "app", "image": "x", "command": ["sh"]}]},
        }
        code, created = await self.call("POST", f"/api/v1/namespaces/{ns}/pods", body)
        assert code == 201, created
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                   "target": {"name": "node-1"}}  # fmt: skip
        code, _ = await self.call("POST", f"/api/v1/namespaces/{ns}/pods/{name}/binding", binding)
        assert code == 201
        if cpu is not None:
            self.kubelet.report["pods"].append(
                {
                    "namespace": ns,
                    "name": name,
                    "uid": created["metadata"]["uid"],
                    "containers": [{"name": "app", **usage(cpu, 1024 * 1024)}],
                }
            )


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield int(port)
    finally:
        await runner.cleanup()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    kubelet = FakeKubelet()
    kubelet_app = web.Application()
    kubelet_app.router.add_get("/stats/resource", kubelet.stats)
    async with api_objects(tmp_path) as objects, serving(kubelet_app) as port:
        app = build_app(
            objects, REGISTRY, SystemClock(), token=API_TOKEN, kubelet_token=KUBELET_TOKEN
        )
        async with TestClient(TestServer(app)) as client:
            a = Api(client, kubelet)
            code, body = await a.call("POST", "/api/v1/nodes", node("node-1", 0))
            assert code == 201, body
            patch = {"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}
            code, body = await a.call("PATCH", "/api/v1/nodes/node-1/status", patch)
            assert code == 200, body
            yield a


async def test_pods_listed_by_namespace_and_label(api: Api) -> None:
    """A namespace's pods with figures, filtered by labelSelector; pods without are left out."""
    await api.add_pod("default", "web", {"app": "web"}, cpu=250_000_000)
    await api.add_pod("default", "db", {"app": "db"}, cpu=5_000_000)
    await api.add_pod("default", "young", {"app": "web"}, cpu=None)
    code, listed = await api.call("GET", f"{METRICS}/namespaces/default/pods")
    assert code == 200
    assert listed["kind"] == "PodMetricsList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["db", "web"]
    code, selected = await api.call(
        "GET", f"{METRICS}/namespaces/default/pods?labelSelector=app%3Dweb"
    )
    assert [i["metadata"]["name"] for i in selected["items"]] == ["web"]
    assert selected["items"][0]["containers"] == [
        {"name": "app", "usage": {"cpu": "250m", "memory": "1Mi"}}
    ]
    assert api.kubelet.seen_tokens[-1] == f"Bearer {KUBELET_TOKEN}"


async def test_pods_of_every_namespace(api: Api) -> None:
    """``/pods`` lists every namespace's pods, sorted by namespace then name."""
    await api.add_pod("default", "web", {}, cpu=1)
    await api.add_pod("other", "api", {}, cpu=2)
    code, listed = await api.call("GET", f"{METRICS}/pods")
    assert code == 200
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed["items"]] == [
        ("default", "web"),
        ("other", "api"),
    ]


async def test_get_pod_and_its_not_found_forms(api: Api) -> None:
    """A pod without figures is a NotFound podmetrics; a missing pod is a NotFound pod."""
    await api.add_pod("default", "web", {}, cpu=1_000_000_000)
    await api.add_pod("default", "young", {}, cpu=None)
    code, found = await api.call("GET", f"{METRICS}/namespaces/default/pods/web")
    assert code == 200
    assert (found["kind"], found["window"], found["timestamp"]) == (
        "PodMetrics",
        "10s",
        "2026-01-01T00:00:10Z",
    )
    assert found["containers"][0]["usage"]["cpu"] == "1"
    code, missing = await api.call("GET", f"{METRICS}/namespaces/default/pods/young")
    assert code == 404
    assert missing["reason"] == "NotFound"
    assert missing["message"] == 'podmetrics.metrics.k8s.io "default/young" not found'
    assert missing["details"] == {
        "name": "default/young",
        "group": "metrics.k8s.io",
        "kind": "podmetrics",
    }
    code, gone = await api.call("GET", f"{METRICS}/namespaces/default/pods/nope")
    assert code == 404
    assert gone["message"] == 'pods "nope" not found'


async def test_nodes(api: Api) -> None:
    """The node's figures once the kubelet has them; NotFound nodemetrics before."""
    code, missing = await api.call("GET", f"{METRICS}/nodes/node-1")
    assert code == 404
    assert missing["message"] == 'nodemetrics.metrics.k8s.io "node-1" not found'
    code, listed = await api.call("GET", f"{METRICS}/nodes")
    assert listed["items"] == []
    api.kubelet.report["node"] = usage(1_500_000_000, 2 * 1024**3)
    code, found = await api.call("GET", f"{METRICS}/nodes/node-1")
    assert code == 200
    assert found["usage"] == {"cpu": "1500m", "memory": "2Gi"}
    code, listed = await api.call("GET", f"{METRICS}/nodes")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["node-1"]


async def test_an_unreachable_kubelet_means_no_figures(api: Api) -> None:
    """With the kubelet gone, lists are empty and gets are NotFound, not errors."""
    await api.add_pod("default", "web", {}, cpu=1)
    patch = {"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": 1}}}}
    code, _ = await api.call("PATCH", "/api/v1/nodes/node-1/status", patch)
    assert code == 200
    code, listed = await api.call("GET", f"{METRICS}/namespaces/default/pods")
    assert (code, listed["items"]) == (200, [])
    code, _ = await api.call("GET", f"{METRICS}/namespaces/default/pods/web")
    assert code == 404


async def test_only_get_and_list(api: Api) -> None:
    """Writes and watches are refused with 405; unknown paths are 404."""
    code, body = await api.call("POST", f"{METRICS}/namespaces/default/pods", {})
    assert (code, body["reason"]) == (405, "MethodNotAllowed")
    code, body = await api.call("GET", f"{METRICS}/pods?watch=true")
    assert code == 405
    code, body = await api.call("GET", "/apis/metrics.k8s.io/v1/pods")
    assert code == 404
    code, body = await api.call("GET", f"{METRICS}/services")
    assert code == 404


async def test_discovery(api: Api) -> None:
    """The group, its version's resources, and its place in /apis."""
    code, group = await api.call("GET", "/apis/metrics.k8s.io")
    assert (code, group["kind"]) == (200, "APIGroup")
    code, resources = await api.call("GET", METRICS)
    assert [r["name"] for r in resources["resources"]] == ["nodes", "pods"]
    code, groups = await api.call("GET", "/apis")
    assert "metrics.k8s.io" in [g["name"] for g in groups["groups"]]


async def test_tables_for_kubectl_get(api: Api) -> None:
    """``as=Table``: Name, cpu, memory (summed over containers) and Window, as metrics-server."""
    await api.add_pod("default", "web", {"app": "web"}, cpu=250_000_000)
    api.kubelet.report["pods"][0]["containers"].append({"name": "side", **usage(5_000_000, 1024)})
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    headers = {**AUTH, "Accept": accept}
    async with api.client.get(f"{METRICS}/namespaces/default/pods", headers=headers) as resp:
        table = await resp.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
    (row,) = table["rows"]
    assert row["cells"] == ["web", "255m", "1025Ki", "10s"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["labels"] == {"app": "web"}
