"""httpGet probe handler against real asyncio servers on 127.0.0.1 (spec §3.2, AT-40..50)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome
from kubeproc.kubelet.prober.httpprobe import canonical_header_key, http_probe

UA = "kube-probe/1.33"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, str], Awaitable[None]]


class Server:
    def __init__(self) -> None:
        self.port = 0
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []
        self.written = 0
        self.closed = 0
        self.expect_closed = 0
        self.all_closed = asyncio.Event()
        self.finished = asyncio.Event()


@asynccontextmanager
async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """Serve ``handler`` on an ephemeral port; every request line and header is recorded."""
    server = Server()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode().rstrip("\r\n")
            headers: list[tuple[str, str]] = []
            while (h := (await reader.readline()).decode().rstrip("\r\n")) != "":
                name, _, value = h.partition(":")
                headers.append((name, value.strip()))
            server.requests.append((line, headers))
            await handler(reader, writer, line.split(" ")[1])
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            server.finished.set()
            writer.close()
            server.closed += 1
            if server.closed == server.expect_closed:
                server.all_closed.set()

    srv = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=tls)
    server.port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield server


def reply(status: int, body: bytes = b"", extra: str = "") -> Handler:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _p: str) -> None:
        w.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
        )
        await w.drain()

    return handler


async def probe(port: int, path: str = "/", **kw: object) -> Outcome:
    args: dict[str, object] = {
        "scheme": "http",
        "host": "127.0.0.1",
        "port": port,
        "path": path,
        "headers": [],
        "timeout": 2.0,
        "user_agent": UA,
    }
    args.update(kw)
    return await http_probe(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [200, 204, 399])
async def test_2xx_and_3xx_are_healthy(status: int) -> None:
    """200 and 204 succeed with the body as output; a final 399 is a warning (AT-40)."""
    body = b"" if status == 204 else b"ok"
    async with serve(reply(status, body)) as srv:
        outcome = await probe(srv.port)
    if status == 399:
        assert outcome == Outcome(
            HandlerResult.WARNING, "Probe terminated redirects, Response body: ok"
        )
    else:
        assert outcome == Outcome(HandlerResult.SUCCESS, body.decode())


@pytest.mark.parametrize("status", [400, 404, 500])
async def test_error_statuses_fail_without_the_body(status: int) -> None:
    """4xx/5xx fail with the status code and never the body (AT-41)."""
    async with serve(reply(status, b"secret")) as srv:
        outcome = await probe(srv.port)
    assert outcome == Outcome(HandlerResult.FAILURE, f"HTTP probe failed with statuscode: {status}")


async def test_default_request_headers() -> None:
    """GET path?query, Host ip:port, UA, Accept */*, Connection close, no Accept-Encoding (AT-44)."""
    async with serve(reply(200)) as srv:
        await probe(
            srv.port,
            "/healthz?x=1%2F2#frag",
            headers=[("x-custom-thing", "v1"), ("X-CUSTOM-THING", "v2")],
        )
    line, headers = srv.requests[0]
    assert line == "GET /healthz?x=1%2F2 HTTP/1.1"
    assert headers == [
        ("Host", f"127.0.0.1:{srv.port}"),
        ("User-Agent", UA),
        ("Accept", "*/*"),
        ("X-Custom-Thing", "v1"),
        ("X-Custom-Thing", "v2"),
        ("Connection", "close"),
    ]


async def test_user_headers_override_defaults() -> None:
    """User UA replaces ours, empty Accept removes it, Host is the virtual host (AT-45)."""
    user = [("User-Agent", "x"), ("Accept", ""), ("Host", "svc.local")]
    async with serve(reply(200)) as srv:
        assert (await probe(srv.port, headers=user)).result is HandlerResult.SUCCESS
    assert dict(srv.requests[0][1]) == {
        "Host": "svc.local",
        "User-Agent": "x",
        "Connection": "close",
    }


def test_header_names_are_canonicalised_as_go_does() -> None:
    """``textproto.CanonicalMIMEHeaderKey``: title-case per dash, invalid names untouched."""
    assert canonical_header_key("x-forwarded-FOR") == "X-Forwarded-For"
    assert canonical_header_key("bad name") == "bad name"


async def test_same_host_redirect_is_followed_to_a_500() -> None:
    """/redirect → 302 /healthz on the same host is followed; the 500 fails (AT-46)."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, path: str) -> None:
        if path == "/redirect":
            await reply(302, extra="Location: /healthz\r\n")(r, w, path)
        else:
            await reply(500)(r, w, path)

    async with serve(handler) as srv:
        outcome = await probe(srv.port, "/redirect", headers=[("Host", "svc.local")])
    assert outcome == Outcome(HandlerResult.FAILURE, "HTTP probe failed with statuscode: 500")
    assert [line for line, _ in srv.requests] == ["GET /redirect HTTP/1.1", "GET /healthz HTTP/1.1"]
    followed = dict(srv.requests[1][1])
    assert followed["Host"] == "svc.local"
    assert followed["Referer"] == f"http://127.0.0.1:{srv.port}/redirect"


async def test_off_host_redirect_is_a_warning() -> None:
    """A redirect to another host is not followed; the 302 itself is a warning (AT-47)."""
    body = b'<a href="http://0.0.0.0/">Found</a>.'
    async with serve(reply(302, body, "Location: http://0.0.0.0/\r\n")) as srv:
        outcome = await probe(srv.port, "/redirect")
    assert outcome == Outcome(
        HandlerResult.WARNING,
        'Probe terminated redirects, Response body: <a href="http://0.0.0.0/">Found</a>.',
    )
    assert len(srv.requests) == 1


async def test_redirect_loop_stops_after_ten() -> None:
    """/loop → /loop fails with Go's ``stopped after 10 redirects`` text (AT-48)."""
    async with serve(reply(302, extra="Location: /loop\r\n")) as srv:
        outcome = await probe(srv.port, "/loop")
    assert outcome == Outcome(HandlerResult.FAILURE, 'Get "/loop": stopped after 10 redirects')
    assert len(srv.requests) == 10


async def test_body_is_truncated_to_10_kib() -> None:
    """A 10 241-byte body succeeds with the first 10 240 bytes as output (AT-49)."""
    async with serve(reply(200, b"a" * 10240 + b"b")) as srv:
        outcome = await probe(srv.port)
    assert outcome == Outcome(HandlerResult.SUCCESS, "a" * 10240)


async def test_a_gigabyte_body_is_not_read() -> None:
    """A server streaming 1 GB costs one 10 KiB read: the probe returns and resets the stream."""

    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _p: str) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
        chunk = b"z" * 65536
        while srv.written < 1 << 30:
            w.write(chunk)
            await w.drain()
            srv.written += len(chunk)

    async with serve(handler) as srv:
        loop = asyncio.get_running_loop()
        start = loop.time()
        outcome = await probe(srv.port)
        elapsed = loop.time() - start
        await asyncio.wait_for(srv.finished.wait(), 5)
    assert outcome == Outcome(HandlerResult.SUCCESS, "z" * 10240)
    assert elapsed < 1.0
    assert srv.written < 64 << 20


async def test_chunked_body() -> None:
    """A chunked body is decoded."""

    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _p: str) -> None:
        w.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        await w.drain()

    async with serve(handler) as srv:
        assert await probe(srv.port) == Outcome(HandlerResult.SUCCESS, "abcde")


async def test_body_delimited_by_close() -> None:
    """Without a length the body runs until the server closes."""

    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _p: str) -> None:
        w.write(b"HTTP/1.0 200 OK\r\n\r\nuntil close")
        await w.drain()

    async with serve(handler) as srv:
        assert await probe(srv.port) == Outcome(HandlerResult.SUCCESS, "until close")


async def test_silent_server_times_out_awaiting_headers() -> None:
    """A server that never answers fails with Go's header-timeout text after ≈ timeout (AT-42)."""

    async def handler(r: asyncio.StreamReader, _w: asyncio.StreamWriter, _p: str) -> None:
        await r.read()

    async with serve(handler) as srv:
        loop = asyncio.get_running_loop()
        start = loop.time()
        outcome = await probe(srv.port, "/healthz", timeout=0.3)
        elapsed = loop.time() - start
    assert outcome == Outcome(
        HandlerResult.FAILURE,
        f'Get "http://127.0.0.1:{srv.port}/healthz": context deadline exceeded'
        " (Client.Timeout exceeded while awaiting headers)",
    )
    assert 0.28 <= elapsed < 0.6


async def test_stalled_body_is_an_error() -> None:
    """A body that stalls past the deadline is a read error (discarded), worded as Go's."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _p: str) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await w.drain()
        await r.read()

    async with serve(handler) as srv:
        outcome = await probe(srv.port, timeout=0.3)
    assert outcome == Outcome(
        HandlerResult.ERROR,
        "context deadline exceeded (Client.Timeout or context cancellation while reading body)",
    )


async def test_connection_refused() -> None:
    """Nothing listening fails with Go's dial text (AT-43)."""
    outcome = await probe(1)
    assert outcome == Outcome(
        HandlerResult.FAILURE,
        'Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused',
    )


async def test_malformed_response() -> None:
    """A non-HTTP answer fails with Go's transport text."""

    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _p: str) -> None:
        w.write(b"SSH-2.0-OpenSSH\r\n")
        await w.drain()

    async with serve(handler) as srv:
        outcome = await probe(srv.port)
    assert outcome == Outcome(
        HandlerResult.FAILURE,
        f'Get "http://127.0.0.1:{srv.port}/": net/http: HTTP/1.x transport connection broken:'
        ' malformed HTTP response "SSH-2.0-OpenSSH"',
    )


async def test_bad_host_cannot_build_a_request() -> None:
    """A host that is not a URL host is an error, not a failure."""
    outcome = await probe(80, host="a b")
    assert outcome == Outcome(
        HandlerResult.ERROR, 'parse "http://a b:80/": invalid character " " in host name'
    )


def self_signed_context(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


async def test_https_with_a_self_signed_certificate(tmp_path: Path) -> None:
    """HTTPS succeeds against a self-signed certificate: it is not verified (AT-50)."""
    async with serve(reply(200, b"tls ok"), tls=self_signed_context(tmp_path)) as srv:
        outcome = await probe(srv.port, scheme="https")
    assert outcome == Outcome(HandlerResult.SUCCESS, "tls ok")


async def time_wait_count(port: int) -> int:
    """Sockets in TIME_WAIT with ``port`` at either end, as ``ss`` reports them."""
    proc = await asyncio.create_subprocess_exec(
        *["ss", "-tanH", "state", "time-wait", f"( sport = :{port} or dport = :{port} )"],
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return len(out.splitlines())


async def test_probes_leave_no_time_wait() -> None:
    """200 probes against one server leave (almost) no TIME_WAIT sockets on either side."""
    async with serve(reply(200, b"ok")) as srv:
        srv.expect_closed = 200
        for _ in range(200):
            assert (await probe(srv.port)).result is HandlerResult.SUCCESS
        # The server's own closes race our resets: wait until every handler has closed,
        # then sample a few times (TIME_WAIT would persist for 60 s, so none may appear).
        await asyncio.wait_for(srv.all_closed.wait(), 5)
        counts = [await time_wait_count(srv.port) for _ in range(5)]
    assert len(srv.requests) == 200
    assert max(counts) <= 2, counts
