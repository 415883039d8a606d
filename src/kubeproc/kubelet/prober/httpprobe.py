"""The httpGet probe handler: one GET over a fresh connection, judged by its status.

Owns the request the kubelet sends (URL, headers, redirects) and the verdict, and talks to
the network only through :mod:`netdial`. It is a small HTTP/1.1 client written on asyncio
streams rather than a library because nearly every observable detail is Go's: the header
set and order, the Host rules, same-host redirect following, a 10 KiB body cap, and error
texts such as ``Get "<url>": dial tcp A: connect: connection refused`` that users read in
events. One deadline covers the whole exchange; each phase maps its expiry to Go's words.

Verdicts (spec §2.10, §3.2): anything that goes wrong before the response head is read is
a ``FAILURE`` carrying Go's ``url.Error`` text; a body that breaks part-way is an ``ERROR``
(Go's kubelet returns that read error as an error, so the attempt is discarded, not
counted); a request that cannot be built at all is an ``ERROR``. Body bytes are decoded as
UTF-8 with replacement, since the truncation may split a character.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome
from kubeproc.kubelet.prober.netdial import DialError, dial, join_host_port

__all__ = ["MAX_BODY_BYTES", "canonical_header_key", "http_probe"]

MAX_BODY_BYTES = 10 * 1024
MAX_REDIRECTS = 10
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_HOST_CHARS = frozenset(_TOKEN_CHARS | set("-._~!$&'()*+,;=:[]<>\"%")) - {"#", "^", "`", "|"}
_WRITE_EXCLUDED = frozenset(
    {"Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer"}
)
_BODY_TIMEOUT = (
    "context deadline exceeded (Client.Timeout or context cancellation while reading body)"
)
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


class _RequestError(Exception):
    """The exchange failed before a response head: a ``url.Error`` text, → FAILURE."""


class _BodyError(Exception):
    """Reading the body failed part-way: Go's bare reader error text, → ERROR."""


@dataclass(frozen=True)
class _URL:
    scheme: str
    host: str
    """Go's ``URL.Host``: the authority as written, port included when present."""
    path: str
    query: str | None

    @property
    def hostname(self) -> str:
        if self.host.startswith("["):
            return self.host[1 : self.host.find("]")]
        return self.host.rsplit(":", 1)[0] if ":" in self.host else self.host

    @property
    def port(self) -> int:
        tail = self.host.rsplit("]", 1)[-1]
        if ":" in tail and tail.rsplit(":", 1)[1]:
            return int(tail.rsplit(":", 1)[1])
        return 443 if self.scheme == "https" else 80

    @property
    def target(self) -> str:
        """The request-target: escaped path (``/`` when empty) plus the raw query."""
        query = "" if self.query is None else f"?{self.query}"
        return (self.path or "/") + query

    def __str__(self) -> str:
        path = self.path
        if path and not path.startswith("/"):
            path = "/" + path
        query = "" if self.query is None else f"?{self.query}"
        return f"{self.scheme}://{self.host}{path}{query}"


@dataclass
class _Request:
    url: _URL
    host: str
    """The Host header to send; empty means the URL's host."""
    headers: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes = b""


def canonical_header_key(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``x-foo-bar`` → ``X-Foo-Bar``."""
    if not name or any(c not in _TOKEN_CHARS for c in name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _make_url(scheme: str, host: str, reference: str) -> _URL:
    """Go's URL for ``reference`` (path, ``?query``; fragment dropped) on ``host``."""
    parts = urlsplit(reference)
    has_query = bool(parts.query) or reference.split("#", 1)[0].endswith("?")
    query = quote(parts.query, safe=_QUERY_SAFE) if has_query else None
    return _URL(scheme, host, quote(parts.path, safe=_PATH_SAFE), query)


def _parse_url(raw: str) -> _URL:
    parts = urlsplit(raw)
    return _make_url(parts.scheme.lower(), parts.netloc.rsplit("@", 1)[-1], raw)


def _build_request(
    scheme: str, host: str, port: int, path: str, *, headers: Sequence[tuple[str, str]], ua: str
) -> _Request:
    url = _make_url(scheme.lower() or "http", join_host_port(host, port), path)
    bad = next((c for c in host if c not in _HOST_CHARS), None)
    if bad is not None:
        raise ValueError(f'parse "{url}": invalid character "{bad}" in host name')
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(canonical_header_key(name), []).append(value)
    if "User-Agent" not in grouped:
        grouped["User-Agent"] = [ua]
    if "Accept" not in grouped:
        grouped["Accept"] = ["*/*"]
    elif grouped["Accept"][0] == "":
        del grouped["Accept"]
    return _Request(url, grouped.get("Host", [""])[0], grouped)


def _clean(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ").strip(" \t")


def _encode(request: _Request) -> bytes:
    for name, values in request.headers.items():
        if not name or any(c not in _TOKEN_CHARS for c in name):
            raise _RequestError(f'net/http: invalid header field name "{name}"')
        if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for v in values for c in v):
            raise _RequestError(f'net/http: invalid header field value for "{name}"')
    lines = [f"GET {request.url.target} HTTP/1.1", f"Host: {request.host or request.url.host}"]
    agent = request.headers.get("User-Agent", [""])[0]
    if agent:
        lines.append(f"User-Agent: {agent}")
    for name in sorted(request.headers):
        if name not in _WRITE_EXCLUDED:
            lines.extend(f"{name}: {_clean(v)}" for v in request.headers[name])
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


async def http_probe(
    *,
    scheme: str,
    host: str,
    port: int,
    path: str,
    headers: Sequence[tuple[str, str]],
    timeout: float,  # noqa: ASYNC109 (timeoutSeconds is the probe's input; one deadline wraps it all)
    user_agent: str,
) -> Outcome:
    """Run one httpGet probe against ``host:port`` within ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        request = _build_request(scheme, host, port, path, headers=headers, ua=user_agent)
    except ValueError as err:
        return Outcome(HandlerResult.ERROR, str(err))
    try:
        response = await _follow(request, deadline)
    except _RequestError as err:
        return Outcome(HandlerResult.FAILURE, str(err))
    except _BodyError as err:
        return Outcome(HandlerResult.ERROR, str(err))
    body = response.body.decode("utf-8", "replace")
    code = response.status
    if 200 <= code < 300:
        return Outcome(HandlerResult.SUCCESS, body, code)
    if 300 <= code < 400:
        return Outcome(
            HandlerResult.WARNING, f"Probe terminated redirects, Response body: {body}", code
        )
    return Outcome(HandlerResult.FAILURE, f"HTTP probe failed with statuscode: {code}", code)


async def _follow(first: _Request, deadline: float) -> _Response:
    """Send ``first``, following same-hostname redirects as the Go kubelet's client does."""
    request, sent = first, 0
    while True:
        try:
            response = await _exchange(request, deadline)
        except _RequestError as err:
            raise _RequestError(f'Get "{request.url}": {err}') from None
        sent += 1
        location = response.headers.get("location", [""])[0]
        if response.status not in _REDIRECT_CODES or not location:
            return response
        try:
            url = _parse_url(urljoin(str(request.url), location))
        except ValueError as err:
            raise _RequestError(
                f'Get "{request.url}": failed to parse Location header "{location}": {err}'
            ) from None
        if url.hostname != first.url.hostname:
            return response
        if sent >= MAX_REDIRECTS:
            raise _RequestError(f'Get "{location}": stopped after {MAX_REDIRECTS} redirects')
        relative = not urlsplit(location).scheme
        keep_host = first.host if first.host != first.url.host and relative else ""
        carried = {k: v for k, v in first.headers.items() if k != "Referer"}
        if not (request.url.scheme == "https" and url.scheme == "http"):
            carried["Referer"] = [str(request.url)]
        request = _Request(url, keep_host, carried)


async def _exchange(request: _Request, deadline: float) -> _Response:
    """One request on one connection; raises ``_RequestError`` texts without the prefix."""
    url = request.url
    if url.scheme not in ("http", "https"):
        raise _RequestError(f'unsupported protocol scheme "{url.scheme}"')
    payload = _encode(request)
    try:
        sock = await dial(url.hostname, url.port, deadline)
    except DialError as err:
        suffix = " (Client.Timeout exceeded while awaiting headers)" if err.timeout else ""
        raise _RequestError(f"{err}{suffix}") from None
    writer: asyncio.StreamWriter | None = None
    try:
        try:
            async with asyncio.timeout_at(deadline):
                tls = _insecure_tls() if url.scheme == "https" else None
                reader, writer = await asyncio.open_connection(
                    sock=sock, ssl=tls, server_hostname=url.hostname if tls else None
                )
                writer.write(payload)
                await writer.drain()
                response = await _read_head(reader)
        except TimeoutError:
            raise _RequestError(
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            ) from None
        except (OSError, EOFError) as err:
            raise _RequestError(_io_error_text(err)) from None
        try:
            async with asyncio.timeout_at(deadline):
                response.body = await _read_body(reader, response)
        except TimeoutError:
            raise _BodyError(_BODY_TIMEOUT) from None
        except (OSError, EOFError) as err:
            raise _BodyError(_io_error_text(err)) from None
        return response
    finally:
        _abort(writer, sock)


def _insecure_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _abort(writer: asyncio.StreamWriter | None, sock: socket.socket) -> None:
    """Drop the connection now; with linger 0 the kernel resets it (see ``netdial``)."""
    if writer is not None:
        writer.transport.abort()
    else:
        with contextlib.suppress(OSError):
            sock.close()


def _io_error_text(err: BaseException) -> str:
    if isinstance(err, asyncio.IncompleteReadError) and not err.partial:
        return "unexpected EOF" if err.expected else "EOF"
    if isinstance(err, asyncio.IncompleteReadError | EOFError):
        return "unexpected EOF"
    if isinstance(err, ssl.SSLError):
        return f"tls: {err.reason or err}".lower()
    if isinstance(err, ConnectionResetError):
        return "read: connection reset by peer"
    return str(err)


async def _read_line(reader: asyncio.StreamReader) -> str:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise _RequestError(
            "net/http: HTTP/1.x transport connection broken: line too long"
        ) from None
    return line.rstrip(b"\r\n").decode("latin-1")


def _broken(what: str, value: str) -> _RequestError:
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    return _RequestError(f'net/http: HTTP/1.x transport connection broken: {what} "{quoted}"')


async def _read_head(reader: asyncio.StreamReader) -> _Response:
    """Read the status line and headers, skipping interim 1xx responses as Go does."""
    first = True
    while True:
        try:
            line = await _read_line(reader)
        except asyncio.IncompleteReadError as err:
            if first and not err.partial:
                raise _RequestError("EOF") from None
            raise _RequestError(
                "net/http: HTTP/1.x transport connection broken: unexpected EOF"
            ) from None
        first = False
        proto, sep, status = line.partition(" ")
        if not sep:
            raise _broken("malformed HTTP response", line)
        code_text = status.partition(" ")[0]
        if len(code_text) != 3 or not code_text.isdigit():
            raise _broken("malformed HTTP status code", code_text)
        if not proto.startswith("HTTP/1."):
            raise _broken("malformed HTTP version", proto)
        headers: dict[str, list[str]] = {}
        while header := await _read_line(reader):
            name, colon, value = header.partition(":")
            if not colon:
                raise _broken("malformed MIME header line:", header)
            headers.setdefault(name.strip().lower(), []).append(value.strip(" \t"))
        code = int(code_text)
        if not 100 <= code < 200 or code == 101:
            return _Response(code, headers)


async def _read_body(reader: asyncio.StreamReader, response: _Response) -> bytes:
    """Up to ``MAX_BODY_BYTES`` of the body; the rest is never read (the caller aborts)."""
    if response.status in (204, 304) or 100 <= response.status < 200:
        return b""
    encoding = response.headers.get("transfer-encoding", [""])[-1].lower()
    if encoding == "chunked":
        return await _read_chunked(reader)
    lengths = response.headers.get("content-length")
    if lengths is None:
        return await _read_until_close(reader)
    if not lengths[0].isdigit():
        raise _BodyError(f'bad Content-Length "{lengths[0]}"')
    return await reader.readexactly(min(int(lengths[0]), MAX_BODY_BYTES))


async def _read_until_close(reader: asyncio.StreamReader) -> bytes:
    """A body delimited by the server closing: read until EOF or the cap."""
    body = bytearray()
    while len(body) < MAX_BODY_BYTES:
        chunk = await reader.read(MAX_BODY_BYTES - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while len(body) < MAX_BODY_BYTES:
        try:
            size_line = (await reader.readuntil(b"\n")).split(b";", 1)[0].strip()
            size = int(size_line, 16)
        except (ValueError, asyncio.LimitOverrunError):
            raise _BodyError("invalid byte in chunk length") from None
        if size == 0:
            break
        body += await reader.readexactly(min(size, MAX_BODY_BYTES - len(body)))
        if len(body) >= MAX_BODY_BYTES:
            break
        if await reader.readexactly(2) != b"\r\n":
            raise _BodyError("malformed chunked encoding")
    return bytes(body)
