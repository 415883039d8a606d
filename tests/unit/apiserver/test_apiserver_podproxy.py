"""pods/{name}/log, exec and attach through the API server to a real kubelet server.

The API server (the real application, the pod proxy routed in) checks what kube-apiserver
checks, then talks to a kubelet server on loopback, which has a fake container locator,
CRI log files in a temporary directory and scripted exec sessions behind it. Clients
speak both protocols kubectl uses: WebSocket v5 and SPDY/3.1.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.apiserver.podproxy_harness import (
    API_TOKEN,
    api_app,
    api_objects,
    node,
    pod,
    running,
    running_kubelet,
    spdy_exec,
    waiting,
)
from tests.unit.kubelet.server_fakes import FakeContainers, FakeRuntime, ScriptedSession, cri_line

from kubeproc.apiserver.kubeletclient import KubeletRefused, log_error
from kubeproc.apiserver.podcontainers import log_status_error, validate_container
from kubeproc.kubelet.locator import PodContainers
from kubeproc.kubelet.runtime.types import Runtime

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
PODS = "/api/v1/namespaces/default/pods"
V5 = "v5.channel.k8s.io"


@dataclass
class Cluster:
    api: TestClient[Any, Any]
    containers: FakeContainers
    runtime: FakeRuntime
    logs: Path

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {**AUTH}
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        async with self.api.request(method, path, json=body, headers=headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def add_pod(
        self,
        name: str,
        containers: list[str],
        *,
        statuses: list[dict[str, Any]] | None = None,
        init: list[str] | None = None,
        bind: bool = True,
    ) -> None:
        code, body = await self.call("POST", PODS, pod(name, containers, init=init))
        assert code == 201, body
        if bind:
            binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                       "target": {"name": "node-1"}}  # fmt: skip
            code, body = await self.call("POST", f"{PODS}/{name}/binding", binding)
            assert code == 201, body
        if statuses is not None:
            patch = {"status": {"phase": "Running", "containerStatuses": statuses}}
            code, body = await self.call("PATCH", f"{PODS}/{name}/status", patch)
            assert code == 200, body

    def log_file(self, name: str, *lines: str) -> Path:
        path = self.logs / f"{name}.log"
        with path.open("a") as f:
            f.write("".join(lines))
        return path


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    containers, runtime = FakeContainers(), FakeRuntime()
    async with (
        api_objects(tmp_path) as objects,
        running_kubelet(cast(PodContainers, containers), cast(Runtime, runtime)) as port,
        TestClient(TestServer(api_app(objects))) as api,
    ):
        c = Cluster(api, containers, runtime, tmp_path)
        code, body = await c.call("POST", "/api/v1/nodes", node("node-1", 0))
        assert code == 201, body
        patch = {"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}
        code, body = await c.call("PATCH", "/api/v1/nodes/node-1/status", patch)
        assert code == 200, body
        yield c


# -- pure checks -----------------------------------------------------------------------


def test_container_defaulting_and_validation() -> None:
    """One container is the default; several need a name; init containers are listed."""
    one = {"metadata": {"name": "p"}, **pod("p", ["a"])}
    assert validate_container(one, "") == "a"
    two = pod("p", ["a", "b"], init=["i"])
    with pytest.raises(Exception, match=r"^a container name must be specified for pod p, "
                       r"choose one of: \[i a b\]$"):  # fmt: skip
        validate_container(two, "")
    assert validate_container(two, "i") == "i"
    with pytest.raises(Exception, match=r"^container c is not valid for pod p$"):
        validate_container(two, "c")
    none = {"metadata": {"name": "p"}, "spec": {"containers": []}}
    with pytest.raises(Exception, match=r"^a container name must be specified for pod p$"):
        validate_container(none, "")


@pytest.mark.parametrize(
    ("status", "previous", "message"),
    [
        (None, False, 'container "c" in pod "p" is waiting to start: ContainerCreating'),
        (waiting("c", "ContainerCreating"), False,
         'container "c" in pod "p" is waiting to start: ContainerCreating'),
        (waiting("c", "ErrImagePull"), False,
         'container "c" in pod "p" is waiting to start: image can\'t be pulled'),
        (waiting("c", "ImagePullBackOff"), False,
         'container "c" in pod "p" is waiting to start: trying and failing to pull image'),
        (running("c"), True, 'previous terminated container "c" in pod "p" not found'),
        (running("c"), False, None),
        ({"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
          "lastState": {"terminated": {"exitCode": 1}}}, False, None),
        ({"name": "c", "state": {"running": {}},
          "lastState": {"terminated": {"exitCode": 1}}}, True, None),
        ({"name": "c", "state": {}}, False,
         'container "c" in pod "p" is waiting to start - no logs yet'),
    ],
)  # fmt: skip
def test_log_status_checks_follow_the_kubelet(
    status: dict[str, Any] | None, previous: bool, message: str | None
) -> None:
    """The container's published state decides, in the kubelet's order and words."""
    p: dict[str, Any] = {"metadata": {"name": "p"}, "status": {}}
    if status is not None:
        p["status"]["containerStatuses"] = [status]
    err = log_status_error(p, "c", previous=previous)
    assert (err.message if err else None) == message


def test_kubelet_refusals_become_kube_apiserver_statuses() -> None:
    """400 is BadRequest with the text; 404 is the generic "could not find" NotFound."""
    assert log_error(KubeletRefused(400, "x"), "web").status()["message"] == "x"
    not_found = log_error(KubeletRefused(404, 'pod "web" does not exist'), "web").status()
    assert not_found["reason"] == "NotFound"
    assert (
        not_found["message"] == "the server could not find the requested resource ( pods/log web)"
    )
    assert log_error(KubeletRefused(500, "boom"), "web").status()["message"] == (
        "Internal error occurred: boom"
    )


# -- logs ------------------------------------------------------------------------------


async def test_logs_pass_through_with_options(cluster: Cluster) -> None:
    """The kubelet's log reaches the client, with the options forwarded."""
    await cluster.add_pod("web", ["app"], statuses=[running("app")])
    path = cluster.log_file("app", *(cri_line(f"line {i}", seconds=i) for i in range(3)))
    cluster.containers.add("default", "web", "app", path, running=False)
    assert await cluster.call("GET", f"{PODS}/web/log") == (200, "line 0\nline 1\nline 2\n")
    assert await cluster.call("GET", f"{PODS}/web/log?container=app&tailLines=1&timestamps=1") == (
        200,
        "2026-01-01T00:00:02.000000000Z line 2\n",
    )


async def test_log_errors_are_kube_apiservers(cluster: Cluster) -> None:
    """Missing pod, container choice, waiting, previous and bad options, as kubectl sees them."""
    await cluster.add_pod("two", ["a", "b"], statuses=[running("a"), running("b")])
    await cluster.add_pod("new", ["app"], statuses=[waiting("app", "ContainerCreating")])
    cases = [
        (f"{PODS}/nope/log", 404, "NotFound", 'pods "nope" not found'),
        (f"{PODS}/two/log", 400, "BadRequest",
         "a container name must be specified for pod two, choose one of: [a b]"),
        (f"{PODS}/two/log?container=c", 400, "BadRequest", "container c is not valid for pod two"),
        (f"{PODS}/new/log", 400, "BadRequest",
         'container "app" in pod "new" is waiting to start: ContainerCreating'),
        (f"{PODS}/two/log?container=a&previous=true", 400, "BadRequest",
         'previous terminated container "a" in pod "two" not found'),
        (f"{PODS}/two/log?container=a&tailLines=-1", 422, "Invalid",
         'PodLogOptions "two" is invalid: tailLines: Invalid value: -1: '
         "must be greater than or equal to 0"),
        (f"{PODS}/two/log?container=a&tailLines=x", 400, "BadRequest",
         'strconv.ParseInt: parsing "x": invalid syntax'),
    ]  # fmt: skip
    for path, code, reason, message in cases:
        got_code, body = await cluster.call("GET", path)
        assert (got_code, body["reason"], body["message"]) == (code, reason, message), path


async def test_the_kubelets_refusal_is_passed_on(cluster: Cluster) -> None:
    """A container the status calls running but the kubelet cannot find: its 400."""
    await cluster.add_pod("web", ["app"], statuses=[running("app")])
    code, body = await cluster.call("GET", f"{PODS}/web/log")
    assert (code, body["reason"], body["message"]) == (
        400,
        "BadRequest",
        'container "app" in pod "web" is not available',
    )


async def test_logs_of_an_unscheduled_pod_are_empty(cluster: Cluster) -> None:
    """kube-apiserver answers an empty log for a pod no node has yet."""
    await cluster.add_pod("pending", ["app"], bind=False)
    assert await cluster.call("GET", f"{PODS}/pending/log") == (200, "")


async def test_logs_when_the_kubelet_does_not_serve(cluster: Cluster) -> None:
    """A node whose kubelet publishes no port: an error without a reason, not a hang."""
    await cluster.call("PATCH", "/api/v1/nodes/node-1/status",
                       {"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": 0}}}})  # fmt: skip
    await cluster.add_pod("web", ["app"], statuses=[running("app")])
    code, body = await cluster.call("GET", f"{PODS}/web/log")
    assert code == 500
    assert "reason" not in body
    assert body["message"] == 'the kubelet of node "node-1" is not serving yet'


# -- exec over WebSocket ---------------------------------------------------------------


async def ws_exec(
    cluster: Cluster, query: str, send: list[bytes] | None = None, name: str = "web"
) -> tuple[dict[int, bytes], dict[str, Any] | None]:
    ws = await cluster.api.ws_connect(f"{PODS}/{name}/exec?{query}", protocols=(V5,), headers=AUTH)
    assert ws.protocol == V5
    for message in send or []:
        await ws.send_bytes(message)
    out: dict[int, bytes] = {}
    status = None
    async for msg in ws:
        assert msg.type is aiohttp.WSMsgType.BINARY
        if msg.data[0] == 3:
            status = json.loads(msg.data[1:])
        else:
            out[msg.data[0]] = out.get(msg.data[0], b"") + msg.data[1:]
    return out, status


async def running_web(cluster: Cluster) -> None:
    await cluster.add_pod("web", ["app"], statuses=[running("app")])
    cluster.containers.add("default", "web", "app", cluster.log_file("app"))


async def test_websocket_exec_relays_both_ways(cluster: Cluster) -> None:
    """stdin reaches the command, output and the exit status come back (v5)."""
    await running_web(cluster)
    cluster.runtime.make = lambda argv: ScriptedSession(
        [b"hello\n"], [b"warn\n"], echo=True, exit_code=3
    )
    out, status = await ws_exec(
        cluster,
        "command=sh&command=-c&command=cat&stdin=true&stdout=true&stderr=true",
        [b"\x00typed", b"\xff\x00"],
    )
    assert out == {1: b"hello\ntyped", 2: b"warn\n"}
    assert status is not None
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert cluster.runtime.calls[0].argv == ("sh", "-c", "cat")


async def test_websocket_exec_into_a_stopped_container(cluster: Cluster) -> None:
    """v5: upgraded, then the kubelet's refusal as an InternalError (kube-apiserver 1.33)."""
    await cluster.add_pod("web", ["app"], statuses=[running("app")])
    out, status = await ws_exec(cluster, "command=ls&stdout=true")
    assert out == {}
    assert status is not None
    assert (status["reason"], status["code"]) == ("InternalError", 500)
    assert status["message"] == (
        'Internal error occurred: unable to upgrade connection: container not found ("app")'
    )


async def test_checks_before_the_upgrade_are_status_errors(cluster: Cluster) -> None:
    """An unknown container is refused before any upgrade, for both protocols alike."""
    await running_web(cluster)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await cluster.api.ws_connect(
            f"{PODS}/web/exec?command=ls&container=nope&stdout=true", protocols=(V5,), headers=AUTH
        )
    assert err.value.status == 400
    host, port = cluster.api.host, cluster.api.port
    got = await spdy_exec(host, port, f"{PODS}/web/exec?command=ls&container=nope&stdout=true", [])
    assert got.status == 400
    assert json.loads(got.body)["message"] == "container nope is not valid for pod web"


async def test_exec_needs_an_upgrade(cluster: Cluster) -> None:
    """A plain request to exec is a 400."""
    await running_web(cluster)
    code, body = await cluster.call("POST", f"{PODS}/web/exec?command=ls&stdout=true")
    assert (code, body["message"]) == (400, "Upgrade request required")


# -- exec over SPDY --------------------------------------------------------------------


async def test_spdy_exec_relays_both_ways(cluster: Cluster) -> None:
    """SPDY streams map to channels: stdin in, stdout/stderr out, the status on error."""
    await running_web(cluster)
    cluster.runtime.make = lambda argv: ScriptedSession(
        [b"out\n"], [b"err\n"], echo=True, exit_code=2
    )
    got = await spdy_exec(
        cluster.api.host,
        cluster.api.port,
        f"{PODS}/web/exec?command=cat&stdin=true&stdout=true&stderr=true",
        ["error", "stdin", "stdout", "stderr"],
        stdin=[b"abc"],
        protocols="v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io",
    )
    assert got.status == 101
    assert got.headers["upgrade"] == "SPDY/3.1"
    assert got.headers["x-stream-protocol-version"] == "v4.channel.k8s.io"
    assert got.streams["stdout"] == b"out\nabc"
    assert got.streams["stderr"] == b"err\n"
    status = json.loads(got.streams["error"])
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "2"}]
    assert {"stdout", "stderr", "error"} <= got.finished
    session = cast(ScriptedSession, cluster.runtime.calls[0].session)
    assert session.stdin_closed


async def test_spdy_v2_gets_the_error_as_text(cluster: Cluster) -> None:
    """Protocols before v4 carry a failure's message, not a Status, on the error stream."""
    await running_web(cluster)
    cluster.runtime.make = lambda argv: ScriptedSession(exit_code=1)
    got = await spdy_exec(
        cluster.api.host, cluster.api.port, f"{PODS}/web/exec?command=false&stdout=true",
        ["error", "stdout"], protocols="v2.channel.k8s.io",
    )  # fmt: skip
    assert got.headers["x-stream-protocol-version"] == "v2.channel.k8s.io"
    assert got.streams["error"].decode().startswith("command terminated with non-zero exit code")


async def test_spdy_exec_into_a_stopped_container_is_the_kubelets_text(cluster: Cluster) -> None:
    """SPDY: the kubelet's plain-text 500 reaches kubectl, which prints
    ``unable to upgrade connection: container not found ("app")``."""
    await cluster.add_pod("web", ["app"], statuses=[running("app")])
    got = await spdy_exec(
        cluster.api.host, cluster.api.port, f"{PODS}/web/exec?command=ls&stdout=true", []
    )
    assert (got.status, got.body) == (500, b'container not found ("app")')


async def test_spdy_without_a_common_protocol_is_refused(cluster: Cluster) -> None:
    """No protocol in common: 403 in the streaming server's words."""
    await running_web(cluster)
    got = await spdy_exec(
        cluster.api.host, cluster.api.port, f"{PODS}/web/exec?command=ls&stdout=true", [],
        protocols="channel.k8s.io",
    )  # fmt: skip
    assert got.status == 403
    assert got.body.startswith(b"unable to upgrade: unable to negotiate protocol")
