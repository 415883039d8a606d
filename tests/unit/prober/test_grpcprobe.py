"""The gRPC probe handler against real sockets, plus its pure protobuf/status helpers.

The health server is examples/apps/grpchealth.py run by Debian's /usr/bin/python3, so
the handler is checked against an h2 server that is not our own client code.
"""

from __future__ import annotations

import asyncio
import http.server
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import h2.config
import h2.connection
import pytest

from kubeproc.kubelet.prober.grpcprobe import grpc_probe
from kubeproc.kubelet.prober.grpcwire import (
    CallResult,
    RpcStatus,
    decode_grpc_message,
    decode_health_check_response,
    encode_grpc_timeout,
    encode_health_check_request,
    evaluate_call,
    frame_message,
    render_outcome,
)
from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome

APP = Path(__file__).resolve().parents[3] / "examples" / "apps" / "grpchealth.py"
SYSTEM_PYTHON = "/usr/bin/python3"
UA = "kube-probe/1.36"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_accepting(port: int, proc: subprocess.Popen[bytes], limit: float = 10.0) -> None:
    """Poll until the port accepts a connection (or the process died, or time ran out)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, "grpchealth.py exited before listening"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.02)
        else:
            return
    pytest.fail(f"grpchealth.py did not listen on {port} within {limit}s")


class App:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    async def probe(self, service: str = "", seconds: float = 1.0) -> Outcome:
        return await grpc_probe(
            host="127.0.0.1", port=self.port, service=service, timeout=seconds, user_agent=UA
        )


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[..., App]]:
    """Start grpchealth.py with extra arguments; every process gets SIGTERM and is reaped."""
    # scripts/setup installs Debian's python3 and python3-h2 (the example apps' image):
    # without them setup is broken, which must fail, not skip.
    assert Path(SYSTEM_PYTHON).exists(), f"{SYSTEM_PYTHON} missing: run scripts/setup"
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> App:
        port = free_port()
        log = tmp_path / f"grpchealth-{port}.log"
        with log.open("wb") as out:
            cmd = [SYSTEM_PYTHON, str(APP), "--host", "127.0.0.1", "--port", str(port), *args]
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        wait_accepting(port, proc)
        return App(proc, port, log)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- against the example health server ---------------------------------------------


async def test_serving_server_is_healthy(start_app: Callable[..., App]) -> None:
    """A SERVING server gives Success with output ``service healthy``."""
    app = start_app()
    assert await app.probe() == Outcome(HandlerResult.SUCCESS, "service healthy")


async def test_request_carries_service_and_user_agent(start_app: Callable[..., App]) -> None:
    """The server sees one Check on the health path with our user agent and service."""
    app = start_app("--service", "db=SERVING")
    assert (await app.probe("db")).result is HandlerResult.SUCCESS
    lines = app.log.read_text().splitlines()
    assert any(
        "/grpc.health.v1.Health/Check service='db' user-agent='kube-probe/1.36'" in line
        for line in lines
    ), lines


async def test_not_serving_is_failure_with_status_name(start_app: Callable[..., App]) -> None:
    """NOT_SERVING gives Failure ``service unhealthy (responded with "NOT_SERVING")``."""
    app = start_app("--status", "NOT_SERVING")
    outcome = await app.probe()
    assert outcome == Outcome(
        HandlerResult.FAILURE, 'service unhealthy (responded with "NOT_SERVING")'
    )


@pytest.mark.parametrize("status", ["UNKNOWN", "SERVICE_UNKNOWN"])
async def test_other_statuses_are_failures(start_app: Callable[..., App], status: str) -> None:
    """UNKNOWN (sent as an empty message) and SERVICE_UNKNOWN are failures by name."""
    app = start_app("--status", status)
    outcome = await app.probe()
    assert outcome == Outcome(
        HandlerResult.FAILURE, f'service unhealthy (responded with "{status}")'
    )


async def test_named_service_has_its_own_status(start_app: Callable[..., App]) -> None:
    """A named service answers its own status, independent of the server-wide one."""
    app = start_app("--service", "billing=NOT_SERVING", "--service", "auth=SERVING")
    assert await app.probe("auth") == Outcome(HandlerResult.SUCCESS, "service healthy")
    billing = await app.probe("billing")
    assert billing.output == 'service unhealthy (responded with "NOT_SERVING")'


async def test_unknown_service_name_is_rpc_failure(start_app: Callable[..., App]) -> None:
    """An unregistered service name gets NOT_FOUND, rendered as grpc-go prints a status."""
    app = start_app()
    outcome = await app.probe("nope")
    assert outcome == Outcome(
        HandlerResult.FAILURE,
        "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service",
    )


async def test_server_without_health_service(start_app: Callable[..., App]) -> None:
    """A server without grpc.health.v1 gives the Unimplemented text with the message."""
    app = start_app("--no-health")
    outcome = await app.probe()
    assert outcome == Outcome(
        HandlerResult.FAILURE,
        "error: this server does not implement the grpc health protocol "
        "(grpc.health.v1.Health): unknown service grpc.health.v1.Health",
    )


async def test_example_app_exits_zero_on_sigterm(start_app: Callable[..., App]) -> None:
    """grpchealth.py stops with exit status 0 on SIGTERM, even after serving a probe."""
    app = start_app()
    await app.probe()
    app.proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(app.proc.wait, 5) == 0


# --- against peers that are not gRPC servers ---------------------------------------


async def _timed_probe(port: int, seconds: float) -> tuple[Outcome, float]:
    started = time.monotonic()
    outcome = await grpc_probe(
        host="127.0.0.1", port=port, service="", timeout=seconds, user_agent=UA
    )
    return outcome, time.monotonic() - started


def _connect_timeout_text(port: int, duration: str) -> str:
    return (
        f'timeout: failed to connect service "127.0.0.1:{port}" within {duration}: '
        "context deadline exceeded"
    )


async def test_nothing_listening_is_connect_failure() -> None:
    """A refused port keeps the blocking dial retrying until the deadline, as grpc-go."""
    port = free_port()
    outcome, elapsed = await _timed_probe(port, 0.5)
    assert outcome == Outcome(HandlerResult.FAILURE, _connect_timeout_text(port, "500ms"))
    assert elapsed < 1.5


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts and never writes a byte."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client goes away
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_silent_peer_times_out_within_deadline(silent_server: int) -> None:
    """A peer that never sends SETTINGS gives the connect timeout text, on time."""
    outcome, elapsed = await _timed_probe(silent_server, 0.5)
    assert outcome == Outcome(HandlerResult.FAILURE, _connect_timeout_text(silent_server, "500ms"))
    assert 0.45 <= elapsed < 1.0


@pytest.fixture
def http11_server() -> Iterator[int]:
    """Python's HTTP/1.1 server, which answers the HTTP/2 preface with a 505 and closes."""

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


async def test_http11_server_is_failure_not_exception(http11_server: int) -> None:
    """An HTTP/1.1 server never becomes ready: Failure with the connect timeout text."""
    outcome, elapsed = await _timed_probe(http11_server, 0.5)
    assert outcome == Outcome(HandlerResult.FAILURE, _connect_timeout_text(http11_server, "500ms"))
    assert elapsed < 1.0


@pytest.fixture
async def h2_stub() -> AsyncIterator[Callable[[str], Awaitable[int]]]:
    """An HTTP/2 server that sends its SETTINGS, then ``hang``s or ``close``s on a call."""
    servers: list[asyncio.Server] = []

    async def start(mode: str) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            writer.write(conn.data_to_send())
            while data := await reader.read(65536):
                events = conn.receive_data(data)
                writer.write(conn.data_to_send())
                if mode == "close" and any(hasattr(e, "stream_id") for e in events):
                    break
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()


async def test_unanswered_call_is_rpc_timeout(h2_stub: Callable[[str], Awaitable[int]]) -> None:
    """A ready server that never answers the Check gives the RPC deadline text."""
    port = await h2_stub("hang")
    outcome, elapsed = await _timed_probe(port, 0.5)
    assert outcome == Outcome(
        HandlerResult.FAILURE, "timeout: health rpc did not complete within 500ms"
    )
    assert elapsed < 1.0


async def test_connection_closed_mid_call_is_unavailable(
    h2_stub: Callable[[str], Awaitable[int]],
) -> None:
    """A server closing the connection under the call gives grpc-go's Unavailable EOF."""
    port = await h2_stub("close")
    outcome, _ = await _timed_probe(port, 1.0)
    assert outcome == Outcome(
        HandlerResult.FAILURE,
        "error: health rpc probe failed: rpc error: code = Unavailable "
        "desc = error reading from server: EOF",
    )


# --- pure helpers -------------------------------------------------------------------


def test_request_encoding() -> None:
    """HealthCheckRequest: empty service is an empty message; a name is field 1."""
    assert encode_health_check_request("") == b""
    assert encode_health_check_request("foo") == b"\x0a\x03foo"
    long_name = "s" * 200
    assert encode_health_check_request(long_name) == b"\x0a\xc8\x01" + long_name.encode()
    assert frame_message(b"\x0a\x03foo") == b"\x00\x00\x00\x00\x05\x0a\x03foo"


@pytest.mark.parametrize(
    ("message", "status"),
    [
        (b"", 0),
        (b"\x08\x01", 1),
        (b"\x08\x02", 2),
        (b"\x08\x03", 3),
        (b"\x12\x02hi\x08\x01", 1),  # an unknown length-delimited field is skipped
        (b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", -1),  # a negative int32 enum
    ],
)
def test_response_decoding(message: bytes, status: int) -> None:
    """HealthCheckResponse's status decodes from field 1, past unknown fields."""
    assert decode_health_check_response(message) == status


@pytest.mark.parametrize("message", [b"\x08", b"\x12\x05ab", b"\x0f"])
def test_malformed_response_raises_value_error(message: bytes) -> None:
    """Truncated or invalid messages raise ValueError for the caller to render."""
    with pytest.raises(ValueError, match=r"unexpected EOF|reserved wire type"):
        decode_health_check_response(message)


def test_grpc_timeout_and_message_codecs() -> None:
    """grpc-timeout uses the finest unit that fits 8 digits; grpc-message is %-decoded."""
    assert encode_grpc_timeout(1.0) == "1000000u"
    assert encode_grpc_timeout(0.05) == "50000000n"
    assert encode_grpc_timeout(0) == "0n"
    assert decode_grpc_message("unknown%20service%3A x") == "unknown service: x"
    assert decode_grpc_message("100%") == "100%"


def _ok_headers() -> dict[str, str]:
    return {":status": "200", "content-type": "application/grpc"}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            CallResult(_ok_headers(), bytearray(frame_message(b"\x08\x01")), {"grpc-status": "0"}),
            1,
        ),
        (
            CallResult({**_ok_headers(), "grpc-status": "12", "grpc-message": "a%20b"}),
            RpcStatus(12, "a b"),
        ),
        (
            CallResult({":status": "404", "content-type": "text/html"}),
            RpcStatus(
                12,
                "unexpected HTTP status code received from server: 404 (Not Found); "
                'transport: received unexpected content-type "text/html"',
            ),
        ),
        (
            CallResult({":status": "200"}),
            RpcStatus(2, "malformed header: missing HTTP content-type"),
        ),
    ],
)
def test_evaluate_call(result: CallResult, expected: RpcStatus | int) -> None:
    """Responses are judged as grpc-go does: HTTP status, content type, then grpc-status."""
    assert evaluate_call(result) == expected


@pytest.mark.parametrize(
    ("verdict", "output"),
    [
        (3, 'service unhealthy (responded with "SERVICE_UNKNOWN")'),
        (7, 'service unhealthy (responded with "7")'),
        (RpcStatus(4, "deadline"), "timeout: health rpc did not complete within 5s"),
        (
            RpcStatus(20, "odd"),
            "error: health rpc probe failed: rpc error: code = Code(20) desc = odd",
        ),
    ],
)
def test_render_outcome(verdict: RpcStatus | int, output: str) -> None:
    """Verdicts map to the spec §3.4 outputs, always as Failure unless SERVING."""
    assert render_outcome(verdict, 5.0) == Outcome(HandlerResult.FAILURE, output)


def test_example_app_imports_no_kubeproc() -> None:
    """The example app stands alone: it never imports kubeproc."""
    assert "kubeproc" not in APP.read_text()
