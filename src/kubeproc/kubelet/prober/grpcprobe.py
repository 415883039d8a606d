"""The gRPC probe handler: one ``grpc.health.v1.Health/Check`` call (spec §3.4).

It plays the part of the kubelet's ``pkg/probe/grpc``, which uses grpc-go with a blocking,
plaintext dial. We speak just enough gRPC ourselves: HTTP/2 with prior knowledge through
``h2``'s sans-IO ``H2Connection`` over asyncio streams, one unary call, hand-encoded
protobuf (the request and response messages have a single field each; ``grpcwire``).

The shape follows what grpc-go observably does, because the outputs are its error texts:

* The dial blocks until the connection is *ready* (the server's SETTINGS frame has
  arrived) and retries failed attempts with grpc-go's default back-off (1 s, times 1.6, ±20 %
  jitter). A blocking grpc-go dial returns only ``context deadline exceeded`` when the
  deadline passes, whatever the last attempt's error was, so a refused connection, a
  silent peer and an HTTP/1.1 server all end in
  ``timeout: failed to connect service "<addr>" within <T>: context deadline exceeded``
  after the full timeout. The spec's other connect text
  (``error: failed to connect service at "<addr>": <err>``) needs a non-deadline dial
  error, which a blocking dial to an IP never yields; we have no path that produces it.
* Every RPC failure is rendered the way grpc-go's ``status.Error`` prints:
  ``rpc error: code = <Code> desc = <message>``.
* Nothing here raises to the caller and nothing yields ``ERROR``: upstream turns every
  outcome into a Success or a Failure.

Sockets close with SO_LINGER on and a zero linger time, so a probe every second leaves
no TIME_WAIT entries behind (the close resets the connection instead of lingering).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from kubeproc.kubelet.backoff import go_duration
from kubeproc.kubelet.prober.grpcwire import (
    HEALTH_CHECK_PATH,
    INTERNAL,
    UNAVAILABLE,
    CallResult,
    RpcStatus,
    encode_grpc_timeout,
    encode_health_check_request,
    evaluate_call,
    frame_message,
    render_outcome,
    rpc_timeout,
)
from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome
from kubeproc.kubelet.prober.netdial import join_host_port

log = logging.getLogger(__name__)

_BACKOFF_BASE = 1.0
_BACKOFF_MULTIPLIER = 1.6
_BACKOFF_JITTER = 0.2
_READ_SIZE = 65536


class _HandshakeError(Exception):
    """The peer did not open an HTTP/2 connection (EOF, garbage, no SETTINGS first)."""


_EOF_ERROR = RpcStatus(UNAVAILABLE, "error reading from server: EOF")


class _Channel:
    """One plaintext HTTP/2 client connection, ready once the server's SETTINGS arrived."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )

    @classmethod
    async def open(cls, host: str, port: int) -> _Channel:
        reader, writer = await asyncio.open_connection(host, port)
        channel = cls(reader, writer)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                # l_onoff=1, l_linger=0: close() resets instead of leaving TIME_WAIT.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            channel.conn.initiate_connection()
            await channel.flush()
            _expect_settings(await channel.receive())
            await channel.flush()
        except BaseException:
            channel.close()
            raise
        return channel

    async def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def receive(self) -> list[h2.events.Event]:
        """Read once and feed h2; EOF raises ``_HandshakeError``."""
        data = await self.reader.read(_READ_SIZE)
        if not data:
            raise _HandshakeError("EOF")
        return self.conn.receive_data(data)

    async def health_check(
        self, *, authority: str, service: str, user_agent: str, remaining: float
    ) -> CallResult:
        """Send one Check and collect headers, data and trailers until the stream ends."""
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(
            stream_id,
            [
                (":method", "POST"),
                (":scheme", "http"),
                (":path", HEALTH_CHECK_PATH),
                (":authority", authority),
                ("content-type", "application/grpc"),
                ("user-agent", user_agent),
                ("te", "trailers"),
                ("grpc-timeout", encode_grpc_timeout(remaining)),
            ],
        )
        message = frame_message(encode_health_check_request(service))
        self.conn.send_data(stream_id, message, end_stream=True)
        await self.flush()
        result = CallResult()
        while not result.ended:
            try:
                events = await self.receive()
            except (OSError, _HandshakeError):
                result.error, result.ended = _EOF_ERROR, True
                break
            for event in events:
                _apply(event, stream_id, result, self.conn)
            await self.flush()
        return result

    def close(self) -> None:
        """Say GOAWAY as grpc-go does on close, then reset rather than linger."""
        with contextlib.suppress(Exception):
            self.conn.close_connection()
            self.writer.write(self.conn.data_to_send())
        with contextlib.suppress(Exception):
            self.writer.close()


def _expect_settings(events: list[h2.events.Event]) -> None:
    """grpc-go is ready only once the server's preface, a SETTINGS frame, came first."""
    if not events or not isinstance(events[0], h2.events.RemoteSettingsChanged):
        raise _HandshakeError("server preface was not a SETTINGS frame")


def _apply(
    event: h2.events.Event, stream_id: int, result: CallResult, conn: h2.connection.H2Connection
) -> None:
    """Fold one h2 event into ``result``."""
    if result.ended:
        return
    if isinstance(event, h2.events.ConnectionTerminated):
        result.error, result.ended = _EOF_ERROR, True
    elif getattr(event, "stream_id", None) != stream_id:
        return
    elif isinstance(event, h2.events.ResponseReceived):
        result.headers = _header_dict(event.headers)
    elif isinstance(event, h2.events.DataReceived):
        result.data += event.data or b""
        conn.acknowledge_received_data(event.flow_controlled_length or 0, stream_id)
    elif isinstance(event, h2.events.TrailersReceived):
        result.trailers = _header_dict(event.headers)
    elif isinstance(event, h2.events.StreamEnded):
        result.ended = True
    elif isinstance(event, h2.events.StreamReset):
        result.error, result.ended = _reset_status(event.error_code), True


def _reset_status(error_code: object) -> RpcStatus:
    """grpc-go's reading of a RST_STREAM from the server."""
    name = getattr(error_code, "name", None) or f"unknown error code 0x{error_code}"
    code = {"REFUSED_STREAM": UNAVAILABLE, "CANCEL": 1}.get(name, INTERNAL)
    return RpcStatus(code, f"stream terminated by RST_STREAM with error code: {name}")


def _header_dict(
    headers: list[tuple[str, str]] | list[tuple[bytes, bytes]] | None,
) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers or []:
        key = name.decode() if isinstance(name, bytes) else name
        out.setdefault(key, value.decode() if isinstance(value, bytes) else value)
    return out


async def _dial_until_ready(host: str, port: int) -> _Channel:
    """grpc-go's blocking dial: retry with back-off until ready; the caller bounds it."""
    loop = asyncio.get_running_loop()
    attempt = 0
    while True:
        started = loop.time()
        try:
            return await _Channel.open(host, port)
        except Exception as err:  # noqa: BLE001 - every dial failure is transient to grpc-go
            log.debug("grpc dial attempt failed addr=%s:%s err=%r", host, port, err)
        delay = _BACKOFF_BASE * _BACKOFF_MULTIPLIER**attempt
        delay *= 1 + _BACKOFF_JITTER * random.uniform(-1, 1)
        attempt += 1
        await asyncio.sleep(max(0.0, started + delay - loop.time()))


async def grpc_probe(
    *,
    host: str,
    port: int,
    service: str,
    timeout: float,  # noqa: ASYNC109 (timeoutSeconds is the probe's input; one deadline wraps it all)
    user_agent: str,
) -> Outcome:
    """Run one gRPC health check against ``host:port`` within ``timeout`` seconds.

    ``user_agent`` is sent as given; the kubelet passes ``kube-probe/<major>.<minor>``
    (grpc-go would append `` grpc-go/<version>``, which we do not claim to be).
    Always returns SUCCESS or FAILURE, with the spec §3.4 texts.
    """
    addr = join_host_port(host, port)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        async with asyncio.timeout_at(deadline):
            channel = await _dial_until_ready(host, port)
    except TimeoutError:
        log.debug("grpc probe connect timed out addr=%s service=%s", addr, service)
        return Outcome(
            HandlerResult.FAILURE,
            f'timeout: failed to connect service "{addr}" within {go_duration(timeout)}: '
            "context deadline exceeded",
        )
    try:
        async with asyncio.timeout_at(deadline):
            result = await channel.health_check(
                authority=addr,
                service=service,
                user_agent=user_agent,
                remaining=deadline - loop.time(),
            )
    except TimeoutError:
        log.debug("grpc probe rpc timed out addr=%s service=%s", addr, service)
        return rpc_timeout(timeout)
    except Exception as err:  # noqa: BLE001 - a protocol slip is a failed probe, not a crash
        log.debug("grpc probe rpc broke addr=%s err=%r", addr, err)
        result = CallResult(error=RpcStatus(INTERNAL, f"connection error: desc = {err}"))
    finally:
        channel.close()
    return render_outcome(evaluate_call(result), timeout)
