"""The kubelet server's probe routes: Prometheus text and a pod's history, behind the token."""

from __future__ import annotations

from typing import Any, cast

from aiohttp.test_utils import TestClient, TestServer
from tests.unit.kubelet.server_fakes import FakeContainers, FakeRuntime

from kubeproc.kubelet.locator import PodContainers
from kubeproc.kubelet.prober import HandlerResult, Outcome, ProbeType, Result
from kubeproc.kubelet.prober.history import ProbeHistory
from kubeproc.kubelet.runtime.types import Runtime
from kubeproc.kubelet.server import KubeletServer
from kubeproc.util.prometheus import CONTENT_TYPE, parse

TOKEN = "kubelet-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def server_with_history() -> KubeletServer:
    server = KubeletServer(
        cast(PodContainers, FakeContainers()), cast(Runtime, FakeRuntime()), token=TOKEN
    )
    history = ProbeHistory()
    for uid, container in (("u1", "app"), ("u1", "side"), ("u0", "app")):
        s = history.series(
            uid=uid, namespace="default", pod="web", container=container,
            probe_type=ProbeType.READINESS, handler="httpGet",
        )  # fmt: skip
        s.record(1_700_000_000.5, 0.25, Result.FAILURE, Outcome(HandlerResult.FAILURE, "no", 503))
    server.probes.history = history
    return server


async def test_probe_history_is_served_per_pod_uid_and_container() -> None:
    """Only the asked UID's series, narrowed by container; attempts carry code and start."""
    async with TestClient(TestServer(server_with_history().app())) as client:
        resp = await client.get("/probeHistory/default/web?uid=u1&container=app", headers=AUTH)
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        (probe,) = body["probes"]
        assert (probe["container"], probe["probe"], probe["handler"]) == (
            "app",
            "readiness",
            "httpGet",
        )
        assert probe["totals"] == {"success": 0, "failure": 1, "unknown": 0}
        assert probe["attempts"] == [
            {"start": "2023-11-14T22:13:20.500000Z", "durationSeconds": 0.25,
             "result": "failure", "code": 503, "output": "no"},
        ]  # fmt: skip
        resp = await client.get("/probeHistory/default/web?uid=u1", headers=AUTH)
        assert [p["container"] for p in (await resp.json())["probes"]] == ["app", "side"]
        resp = await client.get("/probeHistory/default/other", headers=AUTH)
        assert (await resp.json()) == {"probes": []}


async def test_metrics_need_the_token_and_speak_the_text_format() -> None:
    """401 without the token; with it, prober_probe_total in exposition 0.0.4."""
    async with TestClient(TestServer(server_with_history().app())) as client:
        assert (await client.get("/metrics")).status == 401
        resp = await client.get("/metrics", headers=AUTH)
        assert resp.headers["Content-Type"] == CONTENT_TYPE
        samples = parse(await resp.text())
        failed = [
            v for (name, labels), v in samples.items()
            if name == "prober_probe_total" and ("result", "failed") in labels
        ]  # fmt: skip
        assert failed == [1.0, 1.0, 1.0]
