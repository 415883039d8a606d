#!/usr/bin/env python3
"""A tiny gRPC server exposing grpc.health.v1.Health, for gRPC probe labs and tests.

It plays an application that serves the standard gRPC health protocol over plaintext
HTTP/2 (what a kubelet ``grpc`` probe calls). ``Check`` answers the configured status
for the overall server (service "") or a named service; an unknown name gets
NOT_FOUND "unknown service", as grpc's own health server answers. With ``--no-health``
every method gets UNIMPLEMENTED "unknown service grpc.health.v1.Health", the answer of
a grpc-go server on which the health service was never registered. ``Watch`` is not
served (UNIMPLEMENTED "unknown method Watch ...").

Runs with Debian's python3 and python3-h2 only:

    python3 grpchealth.py --port 9090 [--status NOT_SERVING] [--service NAME=STATUS ...]
        [--no-health] [--host 0.0.0.0]

One line per request goes to stdout. SIGTERM (or SIGINT) stops it with exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import struct
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions

STATUSES = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2, "SERVICE_UNKNOWN": 3}
HEALTH = "grpc.health.v1.Health"
STATUS_NAMES = {number: name for name, number in STATUSES.items()}
NOT_FOUND, UNIMPLEMENTED = 5, 12


def decode_service(body: bytes) -> str:
    """The ``service`` field of a HealthCheckRequest (after the 5-byte gRPC prefix)."""
    message, pos, service = body[5:], 0, ""
    while pos < len(message):
        key, pos = _varint(message, pos)
        wire_type = key & 7
        if wire_type == 2:
            length, pos = _varint(message, pos)
            if key >> 3 == 1:
                service = message[pos : pos + length].decode(errors="replace")
            pos += length
        elif wire_type == 0:
            _, pos = _varint(message, pos)
        else:
            pos += 8 if wire_type == 1 else 4
    return service


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, pos


def encode_status(status: int) -> bytes:
    """A framed HealthCheckResponse; proto3 leaves status 0 (UNKNOWN) out."""
    message = b"\x08" + bytes([status]) if status else b""
    return struct.pack(">BI", 0, len(message)) + message


class Server:
    def __init__(self, statuses: dict[str, int], health: bool) -> None:
        self.statuses = statuses
        self.health = health

    def answer(self, path: str, body: bytes) -> tuple[int, str, int | None]:
        """(grpc-status, grpc-message, serving status or None) for one call."""
        service_name, _, method = path.lstrip("/").partition("/")
        if not self.health or service_name != HEALTH:
            return UNIMPLEMENTED, f"unknown service {service_name}", None
        if method != "Check":
            return UNIMPLEMENTED, f"unknown method {method} for service {HEALTH}", None
        service = decode_service(body)
        if service not in self.statuses:
            return NOT_FOUND, "unknown service", None
        return 0, "", self.statuses[service]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        peer = writer.get_extra_info("peername")
        requests: dict[int, tuple[dict[str, str], bytearray]] = {}
        try:
            while data := await reader.read(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {str(k): str(v) for k, v in event.headers or []}
                        requests[event.stream_id] = (headers, bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        requests[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = requests.pop(event.stream_id)
                        self.respond(conn, event.stream_id, headers, bytes(body), peer)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                writer.write(conn.data_to_send())
                await writer.drain()
        except (OSError, h2.exceptions.H2Error, KeyError) as err:
            print(f"{peer}: connection error: {err!r}", flush=True)
        finally:
            writer.close()

    def respond(
        self,
        conn: h2.connection.H2Connection,
        stream_id: int,
        headers: dict[str, str],
        body: bytes,
        peer: tuple[str, int],
    ) -> None:
        path = headers.get(":path", "")
        code, message, status = self.answer(path, body)
        base = [(":status", "200"), ("content-type", "application/grpc")]
        trailers = [("grpc-status", str(code))] + ([("grpc-message", message)] if message else [])
        if status is None:  # trailers-only response
            conn.send_headers(stream_id, base + trailers, end_stream=True)
            outcome = f"grpc-status={code} {message!r}"
        else:
            conn.send_headers(stream_id, base)
            conn.send_data(stream_id, encode_status(status))
            conn.send_headers(stream_id, trailers, end_stream=True)
            outcome = f"status={STATUS_NAMES[status]}"
        agent = headers.get("user-agent", "")
        print(
            f"{peer[0]}:{peer[1]} {path} service={decode_service(body)!r} "
            f"user-agent={agent!r} -> {outcome}",
            flush=True,
        )


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    # A pod app listens on every address of its network namespace, as real apps do.
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 (see above)
    parser.add_argument("--status", choices=STATUSES, default="SERVING")
    parser.add_argument("--service", action="append", default=[], metavar="NAME=STATUS")
    parser.add_argument("--no-health", action="store_true")
    args = parser.parse_args(argv)
    statuses = {"": STATUSES[args.status]}
    for item in args.service:
        name, _, status = item.partition("=")
        if status not in STATUSES:
            parser.error(f"--service {item}: status must be one of {', '.join(STATUSES)}")
        statuses[name] = STATUSES[status]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = Server(statuses, health=not args.no_health)
    server = await asyncio.start_server(app.handle, args.host, args.port)
    print(
        f"grpchealth listening on {args.host}:{args.port} statuses={statuses} "
        f"health={'off' if args.no_health else 'on'}",
        flush=True,
    )
    await stop.wait()
    server.close()  # open connections are cancelled by asyncio.run on the way out
    print("grpchealth stopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
