"""The CRI container log format, as pure functions: encode output into records, parse them.

A record is one line of the log file::

    2016-10-06T00:17:09.669794202Z stdout F log content
    2016-10-06T00:17:09.669794203Z stderr P the first 16 KiB of a longer line

``F`` ends a line of the container's output; ``P`` is a piece of a line that was split
because it grew past the maximum line length, continued by the next record of the same
stream. Written by the runtimes (through ``writer.CriLogWriter``), read by the kubelet's
log server (through ``reader.read_logs``); no file I/O here, so both sides are tested with
tables. Timestamps are handled as integer nanoseconds since the epoch because Python's
``datetime`` stops at microseconds and the format carries nine digits.
"""

from __future__ import annotations

import calendar
import functools
import re
import time
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_LINE = 16 * 1024
"""containerd's ``max_container_log_line_size``: longer lines are split into ``P`` records."""

TAG_FULL = b"F"
TAG_PARTIAL = b"P"

_NS = 1_000_000_000


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"


class LogFormatError(ValueError):
    """A line of the log file that is not a CRI record."""


@dataclass(frozen=True, slots=True)
class Timestamp:
    """An instant with nanoseconds, and the UTC offset it was written with."""

    ns: int
    offset_seconds: int = 0


@dataclass(frozen=True, slots=True)
class LogRecord:
    timestamp: bytes
    """As written in the file; parse with ``parse_timestamp``."""
    stream: Stream
    partial: bool
    content: bytes
    """Without the record's newline."""


def format_timestamp(moment: Timestamp | int) -> str:
    """RFC 3339 with exactly nine fraction digits (the kubelet's ``RFC3339NanoFixed``)."""
    if isinstance(moment, int):
        moment = Timestamp(moment)
    seconds, fraction = divmod(moment.ns, _NS)
    wall = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds + moment.offset_seconds))
    return f"{wall}.{fraction:09d}{_zone(moment.offset_seconds)}"


def _zone(offset_seconds: int) -> str:
    if offset_seconds == 0:
        return "Z"
    sign = "+" if offset_seconds > 0 else "-"
    minutes = abs(offset_seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_TIMESTAMP = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))"
)


@functools.lru_cache(maxsize=256)
def parse_timestamp(text: bytes) -> Timestamp:
    """Parse RFC 3339 with 0-9 fraction digits (the kubelet's ``RFC3339NanoLenient``).

    Cached: a writer stamps every record of one read with the same timestamp.
    """
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise LogFormatError(f"unexpected timestamp format: {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7) or b""
    offset = 0
    if match.group(9):
        offset = (int(match.group(10)) * 60 + int(match.group(11))) * 60
        if match.group(9) == b"-":
            offset = -offset
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError) as exc:
        raise LogFormatError(f"unexpected timestamp: {text[:40]!r}") from exc
    nanos = int(fraction.ljust(9, b"0")) if fraction else 0
    return Timestamp((seconds - offset) * _NS + nanos, offset)


def output_timestamp(raw: bytes) -> bytes:
    """The timestamp a reader prints for ``--timestamps``: the record's, fixed to 9 digits."""
    if len(raw) == 30 and raw[19:20] == b"." and raw[29:30] == b"Z":
        return raw  # already RFC3339NanoFixed in UTC, as our writer writes it
    return format_timestamp(parse_timestamp(raw)).encode()


def parse_record(line: bytes) -> LogRecord:
    """Split one log line (without its newline) into timestamp, stream, tag and content."""
    first = line.find(b" ")
    second = line.find(b" ", first + 1) if first > 0 else -1
    third = line.find(b" ", second + 1) if second > 0 else -1
    if third < 0:
        raise LogFormatError(f"not a CRI log record: {line[:60]!r}")
    timestamp = line[:first]
    parse_timestamp(timestamp)
    stream_name = line[first + 1 : second]
    if stream_name == b"stdout":
        stream = Stream.STDOUT
    elif stream_name == b"stderr":
        stream = Stream.STDERR
    else:
        raise LogFormatError(f"unexpected stream type {stream_name[:20]!r}")
    # Tags are ':'-separated for forward compatibility; the first says full or partial.
    partial = line[second + 1 : third].split(b":")[0] == TAG_PARTIAL
    return LogRecord(timestamp, stream, partial, line[third + 1 :])


def record_prefix(timestamp: bytes, stream: Stream, *, partial: bool) -> bytes:
    tag = TAG_PARTIAL if partial else TAG_FULL
    return b"%s %s %s " % (timestamp, stream.value.encode(), tag)


def encode_output(
    timestamp: bytes, stream: Stream, pending: bytes, data: bytes, max_line: int
) -> tuple[bytes, bytes]:
    """Turn a stream's output into records; return them and the unterminated rest.

    ``pending`` is what the previous call returned as rest (always shorter than
    ``max_line``). Complete lines become ``F`` records; a line that reaches ``max_line``
    bytes is cut into ``P`` records of exactly ``max_line`` bytes, so the rest never grows
    past it: memory stays bounded whatever the container writes. The common case (many
    short lines) is one ``split`` and one ``join``, at C speed.
    """
    buffer = pending + data if pending else data
    if len(buffer) < max_line and b"\n" not in buffer:
        return b"", buffer
    full = record_prefix(timestamp, stream, partial=False)
    lines = buffer.split(b"\n")
    rest = lines.pop()
    pieces: list[bytes] = []
    if lines:
        if max(map(len, lines)) <= max_line:
            pieces.append(full + (b"\n" + full).join(lines) + b"\n")
        else:
            partial = record_prefix(timestamp, stream, partial=True)
            pieces.extend(_split_long(line, full, partial, max_line) for line in lines)
    if len(rest) >= max_line:
        partial = record_prefix(timestamp, stream, partial=True)
        cut = len(rest) - len(rest) % max_line
        pieces.extend(partial + rest[i : i + max_line] + b"\n" for i in range(0, cut, max_line))
        rest = rest[cut:]
    return b"".join(pieces), rest


def _split_long(line: bytes, full: bytes, partial: bytes, max_line: int) -> bytes:
    if len(line) <= max_line:
        return full + line + b"\n"
    out = [partial + line[i : i + max_line] + b"\n" for i in range(0, len(line), max_line)]
    last_start = (len(line) - 1) // max_line * max_line
    out[-1] = full + line[last_start:] + b"\n"
    return b"".join(out)


def encode_final(timestamp: bytes, stream: Stream, pending: bytes) -> bytes:
    """The record for output left unterminated at end of stream: a full line, as containerd
    writes it (so readers show it with a newline)."""
    if not pending:
        return b""
    return record_prefix(timestamp, stream, partial=False) + pending + b"\n"
