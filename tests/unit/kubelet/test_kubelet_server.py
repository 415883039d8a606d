"""The kubelet's server: container logs, exec and attach, behind the bearer token.

Runs the real aiohttp application in-process against a fake container locator, real CRI
log files in a temporary directory, and scripted exec sessions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.kubelet.server_fakes import FakeContainers, FakeRuntime, ScriptedSession, cri_line

from kubeproc.api.remotecommand import StreamOptions
from kubeproc.kubelet.locator import PodContainers
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, Runtime
from kubeproc.kubelet.server import KubeletServer
from kubeproc.kubelet.server_exec import TOKEN_TTL, StreamTokens
from kubeproc.kubelet.server_session import PendingSession
from kubeproc.util.clock import FakeClock

TOKEN = "kubelet-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
V5 = "v5.channel.k8s.io"

Client = TestClient[Any, Any]


@pytest.fixture
def containers(tmp_path: Path) -> FakeContainers:
    """Pod default/web with one running container, app, whose log is still empty."""
    fake = FakeContainers()
    fake.add("default", "web", "app", write_log(tmp_path / "app.log"))
    return fake


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
async def client(containers: FakeContainers, runtime: FakeRuntime) -> AsyncIterator[Client]:
    server = KubeletServer(cast(PodContainers, containers), cast(Runtime, runtime), token=TOKEN)
    async with TestClient(TestServer(server.app())) as test_client:
        yield test_client


def write_log(path: Path, *lines: str) -> Path:
    with path.open("a") as f:
        f.write("".join(lines))
    return path


async def get_text(client: Client, path: str, **params: str) -> tuple[int, str]:
    async with client.get(path, params=params, headers=AUTH) as resp:
        return resp.status, await resp.text()


async def converse(
    ws: aiohttp.ClientWebSocketResponse, send: list[bytes] | None = None
) -> tuple[dict[int, bytes], dict[str, Any] | None]:
    """Send frames, then read until the server closes: output by channel, and the status."""
    for message in send or []:
        await ws.send_bytes(message)
    out: dict[int, bytes] = {}
    status: dict[str, Any] | None = None
    async for msg in ws:
        assert msg.type is aiohttp.WSMsgType.BINARY
        channel, payload = msg.data[0], msg.data[1:]
        if channel == 3:
            status = json.loads(payload)
        else:
            out[channel] = out.get(channel, b"") + payload
    return out, status


async def open_exec(
    client: Client, query: str, kind: str = "exec"
) -> aiohttp.ClientWebSocketResponse:
    async with client.post(f"/{kind}/default/web/app?{query}", headers=AUTH) as resp:
        assert resp.status == 200, await resp.text()
        url = (await resp.json())["url"]
    return await client.ws_connect(url, protocols=(V5,), headers=AUTH)


# -- authentication --------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic a2V5"])
async def test_requests_without_the_token_are_refused(client: Client, header: str | None) -> None:
    """Every path needs the kubelet token, compared as a bearer token."""
    headers = {"Authorization": header} if header else {}
    async with client.get("/containerLogs/default/web/app", headers=headers) as resp:
        assert (resp.status, await resp.text()) == (401, "Unauthorized")


def test_the_server_needs_a_token(containers: FakeContainers, runtime: FakeRuntime) -> None:
    """An empty token would let anyone in, so it is refused up front."""
    with pytest.raises(ValueError, match="token"):
        KubeletServer(cast(PodContainers, containers), cast(Runtime, runtime), token="")


# -- logs ------------------------------------------------------------------------------


async def test_logs_are_the_output_lines_of_the_log_file(
    client: Client, containers: FakeContainers, tmp_path: Path
) -> None:
    """The body is what the container printed, both streams, in order."""
    log = write_log(tmp_path / "0.log", cri_line("one"), cri_line("two", "stderr"))
    containers.add("default", "web", "app", log, running=False)
    assert await get_text(client, "/containerLogs/default/web/app") == (200, "one\ntwo\n")


async def test_log_options_are_applied(
    client: Client, containers: FakeContainers, tmp_path: Path
) -> None:
    """tailLines, timestamps and limitBytes shape the output as the kubelet does."""
    log = write_log(tmp_path / "0.log", *(cri_line(f"line {i}", seconds=i) for i in range(5)))
    containers.add("default", "web", "app", log, running=False)
    status, text = await get_text(
        client, "/containerLogs/default/web/app", tailLines="2", timestamps="true"
    )
    assert status == 200
    assert text == (
        "2026-01-01T00:00:03.000000000Z line 3\n2026-01-01T00:00:04.000000000Z line 4\n"
    )
    assert await get_text(client, "/containerLogs/default/web/app", limitBytes="8") == (
        200,
        "line 0\nl",
    )


async def test_previous_reads_the_instance_before(
    client: Client, containers: FakeContainers, tmp_path: Path
) -> None:
    """With previous=true the last exited instance's file is read."""
    containers.add("default", "web", "app", write_log(tmp_path / "1.log", cri_line("now")))
    old = write_log(tmp_path / "0.log", cri_line("before"))
    containers.add("default", "web", "app", old, previous=True, running=False)
    assert await get_text(client, "/containerLogs/default/web/app", previous="true") == (
        200,
        "before\n",
    )


async def test_a_missing_previous_instance_is_the_kubelets_400(
    client: Client, containers: FakeContainers
) -> None:
    """No previous instance: 400 with the kubelet's text, which kubectl shows verbatim."""
    containers.current.clear()
    assert await get_text(client, "/containerLogs/default/web/app", previous="true") == (
        400,
        'previous terminated container "app" in pod "web" not found',
    )
    assert await get_text(client, "/containerLogs/default/web/app") == (
        400,
        'container "app" in pod "web" is not available',
    )


async def test_bad_log_options_are_refused(client: Client) -> None:
    """A query that does not parse is a 400; one that does not validate a 422."""
    status, text = await get_text(client, "/containerLogs/default/web/app", tailLines="x")
    assert (status, text) == (400, 'strconv.ParseInt: parsing "x": invalid syntax')
    status, _ = await get_text(client, "/containerLogs/default/web/app", limitBytes="0")
    assert status == 422


async def test_follow_streams_new_lines_and_ends_when_the_container_exits(
    client: Client, containers: FakeContainers, tmp_path: Path
) -> None:
    """follow=true sends lines as they are written and ends once the instance has exited."""
    log = write_log(tmp_path / "0.log", cri_line("first"))
    located = containers.add("default", "web", "app", log)
    async with client.get(
        "/containerLogs/default/web/app", params={"follow": "true"}, headers=AUTH
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert await asyncio.wait_for(resp.content.readline(), 5) == b"first\n"
        write_log(log, cri_line("second"))
        assert await asyncio.wait_for(resp.content.readline(), 5) == b"second\n"
        write_log(log, cri_line("last words"))
        containers.stop(located.container_id)
        rest = await asyncio.wait_for(resp.content.read(), 5)
    assert rest == b"last words\n"


# -- exec ------------------------------------------------------------------------------


async def test_exec_sends_output_then_success(client: Client, runtime: FakeRuntime) -> None:
    """stdout and stderr arrive on channels 1 and 2, then Success on channel 3."""
    runtime.make = lambda argv: ScriptedSession([b"out\n"], [b"err\n"])
    ws = await open_exec(client, "command=echo&command=hi&stdout=1&stderr=1")
    assert ws.protocol == V5
    out, status = await converse(ws)
    assert out == {1: b"out\n", 2: b"err\n"}
    assert status == {"metadata": {}, "status": "Success"}
    call = runtime.calls[0]
    assert (call.container_id, call.argv, call.tty, call.stdin) == (
        "default-web-app-cur",
        ("echo", "hi"),
        False,
        False,
    )


async def test_exec_reports_the_exit_code(client: Client, runtime: FakeRuntime) -> None:
    """A non-zero exit is NonZeroExitCode with the code as the ExitCode cause."""
    runtime.make = lambda argv: ScriptedSession(exit_code=3)
    ws = await open_exec(client, "command=sh&command=-c&command=exit+3&stdout=1")
    _, status = await converse(ws)
    assert status is not None
    assert status["status"] == "Failure"
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"] == {"causes": [{"reason": "ExitCode", "message": "3"}]}
    assert status["message"].startswith("command terminated with non-zero exit code")


async def test_exec_stdin_resize_and_close_signal(client: Client, runtime: FakeRuntime) -> None:
    """Channel 0 feeds stdin, channel 4 resizes, [255, 0] closes stdin (v5)."""
    runtime.make = lambda argv: ScriptedSession(echo=True)
    ws = await open_exec(client, "command=cat&stdin=1&stdout=1&tty=1")
    out, status = await converse(
        ws, [b"\x00abc", b'\x04{"Width":100,"Height":30}', b"\x00def", b"\xff\x00"]
    )
    assert out == {1: b"abcdef"}
    assert status == {"metadata": {}, "status": "Success"}
    session = cast(ScriptedSession, runtime.calls[0].session)
    assert session.stdin_closed
    assert session.resizes == [(100, 30)]
    assert runtime.calls[0].tty


async def test_a_client_that_leaves_kills_the_command(client: Client, runtime: FakeRuntime) -> None:
    """Closing the WebSocket mid-command kills the exec session."""
    runtime.make = lambda argv: ScriptedSession([b"started\n"], hold=True)
    ws = await open_exec(client, "command=sleep&command=100&stdout=1")
    msg = await ws.receive()
    assert msg.data == b"\x01started\n"
    await ws.close()
    session = cast(ScriptedSession, runtime.calls[0].session)
    for _ in range(100):
        if session.killed:
            break
        await asyncio.sleep(0.01)
    assert session.killed


async def test_exec_into_a_stopped_container_is_the_kubelets_500(
    client: Client, containers: FakeContainers, tmp_path: Path
) -> None:
    """No running instance: 500 ``container not found ("app")``, before any upgrade."""
    containers.add("default", "web", "app", tmp_path / "0.log", running=False)
    async with client.post("/exec/default/web/app?command=ls&stdout=1", headers=AUTH) as resp:
        assert (resp.status, await resp.text()) == (500, 'container not found ("app")')
    async with client.post("/attach/default/web/app?stdout=1", headers=AUTH) as resp:
        assert (resp.status, await resp.text()) == (
            500,
            "container app not found in pod web_default",
        )


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("command=ls", "you must specify at least 1 of stdin, stdout, stderr"),
        ("stdout=1", "you must specify at least one command for the container"),
    ],
)
async def test_exec_options_are_checked(
    client: Client, containers: FakeContainers, tmp_path: Path, query: str, text: str
) -> None:
    """Streams and a command are required; the answer is a plain-text 400."""
    containers.add("default", "web", "app", tmp_path / "0.log")
    async with client.post(f"/exec/default/web/app?{query}", headers=AUTH) as resp:
        assert (resp.status, await resp.text()) == (400, text)


async def test_exec_start_failure_is_an_internal_error_status(
    client: Client, containers: FakeContainers, runtime: FakeRuntime, tmp_path: Path
) -> None:
    """A command the runtime cannot start ends with an InternalError on channel 3."""
    containers.add("default", "web", "app", tmp_path / "0.log")
    runtime.fail = ContainerRuntimeError('exec: "nope": executable file not found in $PATH')
    ws = await open_exec(client, "command=nope&stdout=1")
    _, status = await converse(ws)
    assert status is not None
    assert status["reason"] == "InternalError"
    assert status["message"] == (
        "Internal error occurred: error executing command in container: "
        'exec: "nope": executable file not found in $PATH'
    )


async def test_stream_tokens_are_single_use(
    client: Client, containers: FakeContainers, tmp_path: Path
) -> None:
    """A stream URL works once; a second or unknown token is a 404."""
    containers.add("default", "web", "app", tmp_path / "0.log")
    async with client.post("/exec/default/web/app?command=ls&stdout=1", headers=AUTH) as resp:
        url = (await resp.json())["url"]
    ws = await client.ws_connect(url, protocols=(V5,), headers=AUTH)
    await converse(ws)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect(url, protocols=(V5,), headers=AUTH)
    assert err.value.status == 404


def test_stream_tokens_expire() -> None:
    """An unclaimed session is forgotten after the TTL."""
    clock = FakeClock()
    tokens = StreamTokens(clock)
    pending = PendingSession("exec", "ns", "p", "c", "id", "", ("ls",), StreamOptions(stdout=True))
    early, late = tokens.add(pending), tokens.add(pending)
    assert tokens.claim(early) == pending
    clock._mono += TOKEN_TTL + 1
    assert tokens.claim(late) is None


async def test_direct_websocket_exec(
    client: Client, containers: FakeContainers, runtime: FakeRuntime, tmp_path: Path
) -> None:
    """GET /exec/... with a WebSocket upgrade checks and runs in one request (v4 too)."""
    containers.add("default", "web", "app", tmp_path / "0.log")
    runtime.make = lambda argv: ScriptedSession([b"hi\n"])
    ws = await client.ws_connect(
        "/exec/default/web/app?command=echo&stdout=1",
        protocols=("v4.channel.k8s.io",),
        headers=AUTH,
    )
    assert ws.protocol == "v4.channel.k8s.io"
    out, status = await converse(ws)
    assert out == {1: b"hi\n"}
    assert status == {"metadata": {}, "status": "Success"}


# -- attach ----------------------------------------------------------------------------


async def test_attach_follows_new_output_until_the_container_exits(
    client: Client, containers: FakeContainers, tmp_path: Path
) -> None:
    """attach shows what is written from now on, streams apart, and ends with Success."""
    log = write_log(tmp_path / "0.log", cri_line("old"))
    located = containers.add("default", "web", "app", log)
    ws = await open_exec(client, "stdout=1&stderr=1", kind="attach")
    await asyncio.sleep(0.3)  # the followers are at the end of the file
    write_log(log, cri_line("new out"), cri_line("new err", "stderr"))
    await asyncio.sleep(0.3)
    containers.stop(located.container_id)
    out, status = await asyncio.wait_for(converse(ws), 5)
    assert out == {1: b"new out\n", 2: b"new err\n"}
    assert status == {"metadata": {}, "status": "Success"}
