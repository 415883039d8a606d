"""The remotecommand wire protocol (exec and attach), shared by the apiserver and the kubelet.

Owns the words both ends must agree on: the channel protocol names kubectl negotiates,
the channel numbers of the WebSocket framing (one leading byte per message), the SPDY
stream types, the stream options carried in the query, and the ``Status`` documents sent
on the error channel (``Success``, ``NonZeroExitCode`` with the exit code as a cause, or a
failure). Names and texts follow apimachinery's ``util/remotecommand`` and the kubelet's
streaming server. Pure: no I/O, so the apiserver and the kubelet each bring their own
transport, and neither imports the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from kubeproc.api.errors import BadRequest, StatusError

PROTOCOL_V1 = "channel.k8s.io"
PROTOCOL_V2 = "v2.channel.k8s.io"
PROTOCOL_V3 = "v3.channel.k8s.io"
PROTOCOL_V4 = "v4.channel.k8s.io"
PROTOCOL_V5 = "v5.channel.k8s.io"
"""v5 adds the close signal (channel 255) to v4; kubectl 1.30+ offers it over WebSocket."""

WEBSOCKET_PROTOCOLS = (PROTOCOL_V5, PROTOCOL_V4)
"""Binary WebSocket protocols served, most preferred first."""

SPDY_PROTOCOLS = (PROTOCOL_V4, PROTOCOL_V3, PROTOCOL_V2)
"""SPDY protocols served: v5 over SPDY is v4, so v4 is chosen even when v5 is offered."""

STREAM_PROTOCOL_HEADER = "X-Stream-Protocol-Version"
STREAM_TYPE_HEADER = "streamtype"
"""The SPDY stream header naming a stream's role (SPDY/3 header names are lower case)."""

NON_ZERO_EXIT_CODE_REASON = "NonZeroExitCode"
EXIT_CODE_CAUSE_TYPE = "ExitCode"


class Channel(IntEnum):
    """The first byte of every binary WebSocket message."""

    STDIN = 0
    STDOUT = 1
    STDERR = 2
    ERROR = 3
    RESIZE = 4
    CLOSE = 255
    """v5: ``[255, n]`` says the sender will write no more on channel ``n``."""


class StreamType(StrEnum):
    """The SPDY stream roles, created by the client, one stream each."""

    ERROR = "error"
    STDIN = "stdin"
    STDOUT = "stdout"
    STDERR = "stderr"
    RESIZE = "resize"


def offered_protocols(values: Sequence[str]) -> list[str]:
    """The protocols of repeated (or comma-joined) protocol headers, in the client's order."""
    return [p.strip() for item in values for p in item.split(",") if p.strip()]


def negotiate(offered: Sequence[str], supported: Sequence[str]) -> str | None:
    """The client's most preferred protocol that is also served, as apimachinery picks."""
    return next((p for p in offered_protocols(offered) if p in supported), None)


def _flag(query: Mapping[str, str], *names: str) -> bool:
    # Go's query conversion: present and not "0", "f" or "false" (any case) means true.
    return any(
        name in query and not (query[name] == "0" or query[name].lower() in ("f", "false"))
        for name in names
    )


@dataclass(frozen=True)
class StreamOptions:
    """Which streams an exec or attach carries (``PodExecOptions`` minus the command)."""

    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> StreamOptions:
        """Read ``stdin``/``stdout``/``stderr``/``tty``; ``input``, ``output`` and
        ``error`` are the names kube-apiserver uses towards a kubelet, accepted too."""
        tty = _flag(query, "tty")
        return cls(
            stdin=_flag(query, "stdin", "input"),
            stdout=_flag(query, "stdout", "output"),
            # A terminal merges stderr into stdout; the kubelet drops stderr silently.
            stderr=_flag(query, "stderr", "error") and not tty,
            tty=tty,
        )

    def validate(self) -> None:
        if not (self.stdin or self.stdout or self.stderr):
            raise BadRequest("you must specify at least 1 of stdin, stdout, stderr")

    def query(self) -> list[tuple[str, str]]:
        """The kubelet's query form (``1`` for true, absent for false)."""
        names = ("stdin", "stdout", "stderr", "tty")
        values = (self.stdin, self.stdout, self.stderr, self.tty)
        return [(name, "1") for name, on in zip(names, values, strict=True) if on]

    def expected_streams(self, protocol: str) -> frozenset[StreamType]:
        """The SPDY streams a client creates for these options under ``protocol``."""
        streams = {StreamType.ERROR}
        if self.stdin:
            streams.add(StreamType.STDIN)
        if self.stdout:
            streams.add(StreamType.STDOUT)
        if self.stderr:
            streams.add(StreamType.STDERR)
        if self.tty and protocol not in (PROTOCOL_V1, PROTOCOL_V2):
            streams.add(StreamType.RESIZE)
        return frozenset(streams)


def frame(channel: Channel, data: bytes = b"") -> bytes:
    return bytes((channel,)) + data


def close_signal(channel: Channel) -> bytes:
    return bytes((Channel.CLOSE, channel))


def success_status() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_status(code: int, argv: Sequence[str]) -> dict[str, Any]:
    """What the kubelet sends for a command that exited non-zero; kubectl exits ``code``."""
    command = " ".join(argv)
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            f"command terminated with non-zero exit code: command '{command}' exited with {code}: "
        ),
        "reason": NON_ZERO_EXIT_CODE_REASON,
        "details": {"causes": [{"reason": EXIT_CODE_CAUSE_TYPE, "message": str(code)}]},
    }


def failure_status(err: StatusError) -> dict[str, Any]:
    """A ``StatusError`` as the error channel carries it (no kind or apiVersion)."""
    body: dict[str, Any] = {"metadata": {}, "status": "Failure", "message": err.message}
    if err.reason:
        body["reason"] = err.reason
    if err.details:
        body["details"] = err.details
    body["code"] = err.code
    return body


def encode_status(status: Mapping[str, Any]) -> bytes:
    return json.dumps(status, separators=(",", ":")).encode()


def status_text(payload: bytes) -> str:
    """The error text older protocols (v1-v3) carry instead of a ``Status``; empty on
    success."""
    try:
        status = json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")
    if not isinstance(status, dict) or status.get("status") == "Success":
        return ""
    return str(status.get("message", ""))


@dataclass(frozen=True)
class TerminalSize:
    width: int
    height: int


def parse_resize(payload: bytes) -> TerminalSize | None:
    """One resize event (``{"Width":80,"Height":24}``); None if it is not one."""
    try:
        doc = json.loads(payload)
        width, height = int(doc["Width"]), int(doc["Height"])
    except (ValueError, TypeError, KeyError):
        return None
    if width < 0 or height < 0 or width > 0xFFFF or height > 0xFFFF:
        return None
    return TerminalSize(width, height)


def split_json_stream(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut a byte stream of concatenated JSON objects (Go's ``json.Encoder`` output, as
    SPDY's resize stream carries) into whole objects and the unfinished rest."""
    decoder = json.JSONDecoder()
    text = buffer.decode(errors="replace")
    out: list[bytes] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out, b""
        try:
            _, end = decoder.raw_decode(text, pos)
        except ValueError:
            return out, text[pos:].encode()
        out.append(text[pos:end].encode())
        pos = end
