"""The gRPC health protocol on the wire, and what grpc-go makes of each answer (spec §3.4).

Pure functions for ``grpcprobe``: the two protobuf messages of
``grpc.health.v1.Health/Check`` (one field each, encoded by hand), gRPC's length-prefixed
framing and ``grpc-timeout`` header, the status codes and the way grpc-go renders an RPC
failure (``rpc error: code = <Code> desc = <message>``), how the headers and frames of a
finished call become a status or a serving state, and the probe outcome (and text) the
kubelet reports for it.
"""

from __future__ import annotations

import http
import struct
from dataclasses import dataclass, field

from kubeproc.kubelet.backoff import go_duration
from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome

HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"

SERVING_STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
"""``HealthCheckResponse.ServingStatus``; other numbers print as the bare number."""

CODE_NAMES = (
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
)
"""grpc-go's ``codes.Code.String()`` names, indexed by code number."""

UNIMPLEMENTED = 12
DEADLINE_EXCEEDED = 4
INTERNAL = 13
UNAVAILABLE = 14
UNKNOWN = 2

# grpc-go's HTTP-status-to-code table for responses that are not gRPC (http_util.go).
_HTTP_STATUS_CODES = {400: INTERNAL, 401: 16, 403: 7, 404: UNIMPLEMENTED}
_HTTP_STATUS_CODES |= dict.fromkeys((429, 502, 503, 504), UNAVAILABLE)

_HEX = b"0123456789abcdefABCDEF"


# --- protobuf and gRPC framing (pure) ------------------------------------------------


def encode_varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative integer."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a varint at ``pos``; return ``(value, next_pos)``. Raises ``ValueError``."""
    value = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise ValueError("unexpected EOF")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise ValueError("variable length integer overflow")


def encode_health_check_request(service: str) -> bytes:
    """``HealthCheckRequest{service = 1}``; proto3 leaves an empty string out."""
    if not service:
        return b""
    raw = service.encode()
    return b"\x0a" + encode_varint(len(raw)) + raw


def decode_health_check_response(data: bytes) -> int:
    """The ``status`` (field 1) of a ``HealthCheckResponse``; unknown fields skipped.

    Raises ``ValueError`` on a malformed message.
    """
    status = 0
    pos = 0
    while pos < len(data):
        key, pos = decode_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ValueError("invalid field number")
        if wire_type == 0:
            value, pos = decode_varint(data, pos)
            if number == 1:
                # An enum is an int32: negative values arrive as 64-bit two's complement.
                value &= 0xFFFFFFFF
                status = value - (1 << 32) if value >= 1 << 31 else value
        elif wire_type == 1:
            pos += 8
        elif wire_type == 2:
            length, pos = decode_varint(data, pos)
            pos += length
        elif wire_type == 5:
            pos += 4
        else:
            raise ValueError(f"cannot parse reserved wire type {wire_type}")
        if pos > len(data):
            raise ValueError("unexpected EOF")
    return status


def frame_message(message: bytes) -> bytes:
    """The gRPC length-prefixed message: flag 0 (uncompressed), 4-byte length, bytes."""
    return struct.pack(">BI", 0, len(message)) + message


def serving_status_name(status: int) -> str:
    return SERVING_STATUS_NAMES.get(status, str(status))


def code_name(code: int) -> str:
    return CODE_NAMES[code] if 0 <= code < len(CODE_NAMES) else f"Code({code})"


def encode_grpc_timeout(seconds: float) -> str:
    """grpc-go's ``grpc-timeout`` value: the finest unit whose count fits in 8 digits."""
    nanos = int(seconds * 1e9)
    if nanos <= 0:
        return "0n"
    for unit, size in (("n", 1), ("u", 10**3), ("m", 10**6), ("S", 10**9), ("M", 60 * 10**9)):
        count = -(-nanos // size)  # grpc-go rounds up
        if count <= 99_999_999:
            return f"{count}{unit}"
    return f"{-(-nanos // (3600 * 10**9))}H"


def decode_grpc_message(text: str) -> str:
    """Undo the percent-encoding grpc servers apply to ``grpc-message``."""
    if "%" not in text:
        return text
    out = bytearray()
    raw = text.encode()
    i = 0
    while i < len(raw):
        pair = raw[i + 1 : i + 3]
        if raw[i] == 0x25 and i + 2 < len(raw) and all(c in _HEX for c in pair):
            out.append(int(pair, 16))
            i += 3
            continue
        out.append(raw[i])
        i += 1
    return out.decode(errors="replace")


# --- evaluating the response (pure) --------------------------------------------------


@dataclass(frozen=True)
class RpcStatus:
    """A gRPC status as grpc-go's ``status.Error`` renders it."""

    code: int
    message: str

    def __str__(self) -> str:
        return f"rpc error: code = {code_name(self.code)} desc = {self.message}"


@dataclass
class CallResult:
    """What the wire gave back for one call; ``evaluate_call`` judges it."""

    headers: dict[str, str] | None = None
    data: bytearray = field(default_factory=bytearray)
    trailers: dict[str, str] | None = None
    ended: bool = False
    error: RpcStatus | None = None
    """Set when the stream or connection broke before the call finished."""


def _go_quote(text: str) -> str:
    """Go's ``%q`` for plain text: double quotes, backslash escapes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _valid_grpc_content_type(value: str) -> bool:
    rest = value.removeprefix("application/grpc")
    return rest != value and (not rest or rest[0] in "+;")


def _header_error(headers: dict[str, str]) -> RpcStatus | None:
    """grpc-go's checks on the response headers: HTTP 200 and a gRPC content type."""
    errors: list[str] = []
    status_text = headers.get(":status")
    http_code: int | None = None
    if status_text is not None and status_text.isdigit():
        http_code = int(status_text)
        if http_code != 200:
            try:
                phrase = http.HTTPStatus(http_code).phrase
            except ValueError:
                phrase = ""
            errors.append(
                f"unexpected HTTP status code received from server: {http_code} ({phrase})"
            )
    content_type = headers.get("content-type")
    is_grpc = content_type is not None and _valid_grpc_content_type(content_type)
    if is_grpc and not errors:
        return None
    if not is_grpc:
        errors.append(
            "malformed header: missing HTTP content-type"
            if content_type is None
            else f"transport: received unexpected content-type {_go_quote(content_type)}"
        )
    code = INTERNAL if http_code is None else _HTTP_STATUS_CODES.get(http_code, UNKNOWN)
    return RpcStatus(code, "; ".join(errors))


def evaluate_call(result: CallResult) -> RpcStatus | int:
    """The call's status error, or the ``ServingStatus`` number when the call succeeded."""
    if result.headers is not None:
        header_error = _header_error(result.headers)
        if header_error is not None:
            return header_error
    if result.error is not None:
        return result.error
    if result.headers is None:
        return RpcStatus(UNAVAILABLE, "error reading from server: EOF")
    # A trailers-only response carries the status in its one and only header block.
    trailers = result.trailers
    if trailers is None and not result.data:
        trailers = result.headers
    if trailers is None or "grpc-status" not in trailers:
        return RpcStatus(INTERNAL, "server closed the stream without sending trailers")
    try:
        code = int(trailers["grpc-status"])
    except ValueError:
        return RpcStatus(INTERNAL, f"transport: malformed grpc-status: {trailers['grpc-status']}")
    if code != 0:
        return RpcStatus(code, decode_grpc_message(trailers.get("grpc-message", "")))
    return _decode_reply(bytes(result.data))


def _decode_reply(data: bytes) -> RpcStatus | int:
    if len(data) < 5:
        return RpcStatus(
            INTERNAL, "cardinality violation: received no response message from non-streaming RPC"
        )
    flag, length = struct.unpack(">BI", data[:5])
    if flag != 0:
        return RpcStatus(INTERNAL, "grpc: compressed flag set with identity or empty encoding")
    if len(data) != 5 + length:
        return RpcStatus(
            INTERNAL, "grpc: client streaming protocol violation: get <nil>, want <EOF>"
        )
    try:
        return decode_health_check_response(data[5:])
    except ValueError as err:
        return RpcStatus(INTERNAL, f"grpc: failed to unmarshal the received message: {err}")


def render_outcome(verdict: RpcStatus | int, timeout: float) -> Outcome:
    """The §3.4 output for a call that reached the server."""
    if isinstance(verdict, int):
        if verdict == 1:
            return Outcome(HandlerResult.SUCCESS, "service healthy")
        name = serving_status_name(verdict)
        return Outcome(HandlerResult.FAILURE, f'service unhealthy (responded with "{name}")')
    if verdict.code == UNIMPLEMENTED:
        return Outcome(
            HandlerResult.FAILURE,
            "error: this server does not implement the grpc health protocol "
            f"(grpc.health.v1.Health): {verdict.message}",
        )
    if verdict.code == DEADLINE_EXCEEDED:
        return rpc_timeout(timeout)
    return Outcome(HandlerResult.FAILURE, f"error: health rpc probe failed: {verdict}")


def rpc_timeout(timeout: float) -> Outcome:
    return Outcome(
        HandlerResult.FAILURE,
        f"timeout: health rpc did not complete within {go_duration(timeout)}",
    )


# --- the wire ------------------------------------------------------------------------
