"""What ``kubectl logs`` shows of a CRI log file, decided without touching the file.

``LogOptions`` carries the ``PodLogOptions`` that matter to one container's log;
``LogFilter`` turns records into output bytes (stream selection, ``sinceTime`` /
``sinceSeconds``, ``timestamps``, ``limitBytes``, partial records joined back into
lines); ``TailScanner`` finds where the last ``tailLines`` lines start while the reader
feeds it the file backwards. ``reader`` does the I/O around them.

Rules follow the kubelet's ``kuberuntime/logs`` package: records older than ``since``
are skipped, the ``--timestamps`` prefix is the record's time with nine fraction digits,
``limitBytes`` cuts the output mid-line, a record that does not parse is skipped. One
deliberate difference: ``tailLines`` counts lines of output (a line split into ``P``
records counts once), where the kubelet counts records, so ``--tail=1`` shows the whole
last line even past 16 KiB. When both streams are selected and a line of one stream was
split across records interleaved with the other, the tail may start inside that line.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from kubeproc.kubelet.logs.format import (
    LogFormatError,
    LogRecord,
    Stream,
    output_timestamp,
    parse_record,
    parse_timestamp,
)

log = logging.getLogger(__name__)

_NS = 1_000_000_000


@dataclass(frozen=True)
class LogOptions:
    """The ``PodLogOptions`` that apply to one container's log file."""

    tail_lines: int | None = None
    since_time: dt.datetime | None = None
    since_seconds: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None
    follow: bool = False
    stream: Stream | None = None
    """One stream only (PodLogOptions ``stream``); None for both, interleaved."""

    def since_ns(self, now: dt.datetime) -> int | None:
        """The earliest record time shown: the later of ``since_seconds`` before ``now``
        and ``since_time`` (the kubelet's ``NewLogOptions``)."""
        bounds: list[int] = []
        if self.since_seconds is not None:
            bounds.append(_to_ns(now) - self.since_seconds * _NS)
        if self.since_time is not None:
            bounds.append(_to_ns(self.since_time))
        return max(bounds) if bounds else None


def _to_ns(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    whole = moment.replace(microsecond=0)
    return int(whole.timestamp()) * _NS + moment.microsecond * 1000


class LogFilter:
    """Turns complete log lines into what ``kubectl logs`` prints, record by record."""

    def __init__(self, options: LogOptions, *, since_ns: int | None = None) -> None:
        self._stream = options.stream
        self._timestamps = options.timestamps
        self._since_ns = since_ns
        self._remaining = options.limit_bytes
        # A stream's next record starts a line unless its previous record was partial.
        self._line_start = {Stream.STDOUT: True, Stream.STDERR: True}

    @property
    def done(self) -> bool:
        """``limit_bytes`` has been reached; nothing more will be produced."""
        return self._remaining is not None and self._remaining <= 0

    def feed(self, lines: bytes) -> bytes:
        """Output for a block of complete lines (each ending in a newline)."""
        out: list[bytes] = []
        for line in lines.split(b"\n")[:-1]:
            if self.done:
                break
            try:
                record = parse_record(line)
            except LogFormatError as exc:
                log.debug("skipping a line that is not a CRI record: %s", exc)
                continue
            piece = self.select(record)
            if piece:
                out.append(piece)
        return b"".join(out)

    def select(self, record: LogRecord) -> bytes:
        """The bytes one record contributes to the output (often nothing)."""
        if self.done or (self._stream is not None and record.stream is not self._stream):
            return b""
        starts_line = self._line_start[record.stream]
        self._line_start[record.stream] = not record.partial
        if self._since_ns is not None and parse_timestamp(record.timestamp).ns < self._since_ns:
            return b""
        piece = record.content if record.partial else record.content + b"\n"
        if self._timestamps and starts_line:
            piece = output_timestamp(record.timestamp) + b" " + piece
        if self._remaining is not None:
            piece = piece[: self._remaining]
            self._remaining -= len(piece)
        return piece


class TailScanner:
    """Finds the offset where the last ``lines`` lines of output start, fed backwards.

    Feed blocks from the end of the file towards its start (``feed(block, offset)`` with
    the block's file offset); the first answer that is not None is the start, or
    ``finish()`` once the start of the file is reached. ``end`` is where complete records
    stop: an unterminated last record is being written and is not counted.
    """

    def __init__(self, lines: int, stream: Stream | None = None) -> None:
        if lines < 0:
            raise ValueError("tail lines must not be negative")
        self._lines = lines
        self._stream = stream
        self._carry = b""
        self._counted = 0
        self._seen: set[Stream] = set()
        self.end: int | None = None

    def feed(self, block: bytes, offset: int) -> int | None:
        if self.end is None:
            last = block.rfind(b"\n")
            if last < 0:
                return None  # still inside an unterminated last record
            self.end = offset + last + 1
            block = block[: last + 1]
            if self._lines == 0:
                return self.end
        data = block + self._carry
        head = data.find(b"\n") + 1  # the first line may begin in an earlier block
        if head == 0:
            self._carry = data
            return None
        self._carry = data[:head]
        return self._scan(data, head, offset)

    def finish(self) -> int:
        """The start of the file was reached: the answer if ``feed`` gave none."""
        if self.end is None:
            self.end = 0
        if self._carry and self._lines > 0:
            found = self._scan(self._carry, 0, 0)
            if found is not None:
                return found
        return 0 if self._lines > 0 else self.end

    def _scan(self, data: bytes, begin: int, offset: int) -> int | None:
        stop = len(data)
        while stop > begin:
            start = max(data.rfind(b"\n", begin, stop - 1) + 1, begin)
            if self._ends_line(data[start : stop - 1]) and self._counted > self._lines:
                return offset + stop
            stop = start
        return None

    def _ends_line(self, line: bytes) -> bool:
        """Count a record that ends a line of output (or is the newest piece of one)."""
        try:
            record = parse_record(line)
        except LogFormatError:
            return False
        if self._stream is not None and record.stream is not self._stream:
            return False
        first_seen = record.stream not in self._seen
        self._seen.add(record.stream)
        if record.partial and not first_seen:
            return False
        self._counted += 1
        return True
