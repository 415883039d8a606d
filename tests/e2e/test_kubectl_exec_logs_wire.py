"""Real kubectl exec and logs against the API server's pod proxy and the kubelet server.

No node here: the API server (pod proxy routed in) and the kubelet server run in the test,
with a fake container locator, a CRI log file written by the test, and exec commands run
as plain processes of the test. What is real is the wire: kubectl 1.33 (WebSocket v5) and
1.29 (SPDY/3.1) against our framing, our upgrade handling and our error texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web

from kubeproc.cluster.node import server_ssl
from kubeproc.cluster.pki import ensure_credentials, kubeconfig
from kubeproc.kubelet.locator import PodContainers
from kubeproc.kubelet.runtime.types import Runtime
from tests.e2e.harness import Result, kubectl_binaries
from tests.unit.apiserver.podproxy_harness import (
    API_TOKEN,
    api_app,
    api_objects,
    node,
    pod,
    running,
    running_kubelet,
)
from tests.unit.kubelet.server_fakes import FakeContainers, HostRuntime, cri_line

pytestmark = pytest.mark.e2e

BINARIES = kubectl_binaries(min_minor=29)
VERSIONS = [v for v in ("1.33", "1.29") if v in BINARIES]


@dataclass
class Wire:
    server: str
    home: Path
    containers: FakeContainers
    logs: Path

    async def kubectl(self, version: str, *args: str, stdin: bytes | None = None) -> Result:
        kubeconfig = self.home / "kubeconfig"
        proc = await asyncio.create_subprocess_exec(
            str(BINARIES[version]),
            f"--kubeconfig={kubeconfig}",
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "HOME": str(self.home)},
        )
        out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())


async def _call(server: str, ca: Path, method: str, path: str, body: Any) -> None:
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    if method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
    tls = ssl.create_default_context(cafile=str(ca))
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server + path, json=body, headers=headers, ssl=tls) as resp,
    ):
        assert resp.status in (200, 201), await resp.text()


@pytest.fixture
async def wire(tmp_path: Path) -> AsyncIterator[Wire]:
    containers = FakeContainers()
    async with (
        api_objects(tmp_path) as objects,
        running_kubelet(cast(PodContainers, containers), cast(Runtime, HostRuntime())) as port,
    ):
        # kubectl sends its bearer token only over TLS, so the API server serves HTTPS.
        creds = ensure_credentials(tmp_path / "pki")
        runner = web.AppRunner(api_app(objects), handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(
            runner, "127.0.0.1", 0, ssl_context=server_ssl(creds.server_cert, creds.server_key)
        )
        await site.start()
        try:
            api_port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
            server = f"https://127.0.0.1:{api_port}"
            home = tmp_path / "home"
            home.mkdir()
            (home / "kubeconfig").write_text(kubeconfig(server, creds.ca_cert, API_TOKEN))

            async def call(method: str, path: str, body: Any) -> None:
                await _call(server, creds.ca_cert, method, path, body)

            await call("POST", "/api/v1/nodes", node("node-1", port))
            await call("PATCH", "/api/v1/nodes/node-1/status",
                       {"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}})  # fmt: skip
            pods = "/api/v1/namespaces/default/pods"
            await call("POST", pods, pod("web", ["app"]))
            binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web"},
                       "target": {"name": "node-1"}}  # fmt: skip
            await call("POST", f"{pods}/web/binding", binding)
            status = {"status": {"phase": "Running", "containerStatuses": [running("app")]}}
            await call("PATCH", f"{pods}/web/status", status)
            logs = tmp_path / "app.log"
            logs.write_text(
                cri_line("first line", seconds=1) + cri_line("oops", "stderr", seconds=2)
            )
            containers.add("default", "web", "app", logs)
            yield Wire(server, home, containers, logs)
        finally:
            with contextlib.suppress(Exception):
                await runner.cleanup()


@pytest.mark.parametrize("version", VERSIONS)
async def test_exec_output_and_exit_code(wire: Wire, version: str) -> None:
    """stdout and stderr come back apart and kubectl exits with the command's code."""
    res = await wire.kubectl(
        version, "exec", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3"
    )
    assert res.out == "out\n", res
    assert res.err == "err\ncommand terminated with exit code 3\n"
    assert res.rc == 3


@pytest.mark.parametrize("version", VERSIONS)
async def test_exec_with_stdin(wire: Wire, version: str) -> None:
    """kubectl exec -i feeds stdin to the command and closes it at end of input."""
    res = await wire.kubectl(version, "exec", "-i", "web", "--", "cat", stdin=b"hello\nworld\n")
    assert (res.rc, res.out) == (0, "hello\nworld\n"), res.err


@pytest.mark.parametrize("version", VERSIONS)
async def test_exec_into_a_stopped_container(wire: Wire, version: str) -> None:
    """The kubelet's refusal, as kubectl prints it for each protocol."""
    wire.containers.stop(wire.containers.current["default", "web", "app"].container_id)
    res = await wire.kubectl(version, "exec", "web", "--", "ls")
    expected = (
        'error: Internal error occurred: unable to upgrade connection: container not found ("app")\n'
        if version != "1.29"
        else 'error: unable to upgrade connection: container not found ("app")\n'
    )
    assert (res.rc, res.err) == (1, expected)


@pytest.mark.parametrize("version", VERSIONS)
async def test_exec_into_an_unknown_container(wire: Wire, version: str) -> None:
    """A container the pod does not have is refused on the client or the server alike."""
    res = await wire.kubectl(version, "exec", "web", "-c", "nope", "--", "ls")
    assert res.rc == 1
    assert "container nope is not valid for pod web" in res.err


@pytest.mark.parametrize("version", VERSIONS)
async def test_logs(wire: Wire, version: str) -> None:
    """logs, --tail --timestamps, and --previous with no previous instance."""
    res = await wire.kubectl(version, "logs", "web")
    assert (res.rc, res.out) == (0, "first line\noops\n"), res.err
    res = await wire.kubectl(version, "logs", "web", "--tail=1", "--timestamps")
    assert res.out == "2026-01-01T00:00:02.000000000Z oops\n"
    res = await wire.kubectl(version, "logs", "web", "--previous")
    assert (res.rc, res.err) == (
        1,
        'Error from server (BadRequest): previous terminated container "app" in pod "web" '
        "not found\n",
    )


@pytest.mark.parametrize("version", VERSIONS)
async def test_logs_follow_ends_when_the_container_exits(wire: Wire, version: str) -> None:
    """logs -f shows new lines as written and exits 0 once the container has exited."""
    follow = asyncio.create_task(wire.kubectl(version, "logs", "-f", "web"))
    await asyncio.sleep(1.0)
    with wire.logs.open("a") as f:
        f.write(cri_line("later", seconds=3))
    await asyncio.sleep(0.5)
    wire.containers.stop(wire.containers.current["default", "web", "app"].container_id)
    res = await asyncio.wait_for(follow, 30)
    assert (res.rc, res.out) == (0, "first line\noops\nlater\n"), res.err


@pytest.mark.parametrize("version", VERSIONS)
async def test_attach_shows_new_output_until_the_container_exits(wire: Wire, version: str) -> None:
    """attach prints what the container writes from now on, and ends when it exits."""
    attach = asyncio.create_task(wire.kubectl(version, "attach", "web"))
    await asyncio.sleep(1.5)
    with wire.logs.open("a") as f:
        f.write(cri_line("attached out", seconds=3) + cri_line("attached err", "stderr", seconds=4))
    await asyncio.sleep(0.5)
    wire.containers.stop(wire.containers.current["default", "web", "app"].container_id)
    res = await asyncio.wait_for(attach, 30)
    assert (res.rc, res.out) == (0, "attached out\n"), res
    assert "attached err\n" in res.err


@pytest.mark.parametrize("version", VERSIONS)
async def test_exec_moves_megabytes_both_ways(wire: Wire, version: str) -> None:
    """Several megabytes of stdin and of stdout arrive whole."""
    size = 3 * 1024 * 1024
    res = await wire.kubectl(version, "exec", "-i", "web", "--", "wc", "-c", stdin=b"x" * size)
    assert (res.rc, res.out.strip()) == (0, str(size)), res.err
    res = await wire.kubectl(version, "exec", "web", "--", "head", "-c", str(size), "/dev/zero")
    assert (res.rc, len(res.out)) == (0, size), res.err
