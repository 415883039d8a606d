"""kubectl logs selection: streams, since, timestamps, limit bytes, partial lines, tail."""

from __future__ import annotations

import datetime as dt

import pytest

from kubeproc.kubelet.logs.format import Stream
from kubeproc.kubelet.logs.select import LogFilter, LogOptions, TailScanner

T0 = b"2026-01-01T00:00:00.000000000Z"
T1 = b"2026-01-01T00:00:01.000000000Z"
T2 = b"2026-01-01T00:00:02.500000000Z"

LOG = (
    T0 + b" stdout F first\n"
    + T0 + b" stderr F oops\n"
    + T1 + b" stdout P long \n"
    + T1 + b" stderr F again\n"
    + T2 + b" stdout F line\n"
    + T2 + b" stdout F last\n"
)  # fmt: skip


def ns(text: bytes) -> int:
    moment = dt.datetime.fromisoformat(text.decode().replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1_000_000_000 + int(text[20:29])


def test_everything_by_default_with_partials_joined() -> None:
    """Both streams interleaved as written; a P record continues into the next stdout one."""
    out = LogFilter(LogOptions()).feed(LOG)
    assert out == b"first\noops\nlong again\nline\nlast\n"


def test_one_stream() -> None:
    """stream=stderr shows stderr records only; stdout's partial line is joined on its own."""
    assert LogFilter(LogOptions(stream=Stream.STDERR)).feed(LOG) == b"oops\nagain\n"
    assert LogFilter(LogOptions(stream=Stream.STDOUT)).feed(LOG) == b"first\nlong line\nlast\n"


def test_timestamps_prefix_each_line_once() -> None:
    """--timestamps: the record's time and a space, only where an output line starts."""
    out = LogFilter(LogOptions(timestamps=True, stream=Stream.STDOUT)).feed(LOG)
    assert out.split(b"\n") == [
        T0 + b" first",
        T1 + b" long line",
        T2 + b" last",
        b"",
    ]


def test_since_skips_older_records() -> None:
    """Records strictly older than since are skipped; one at exactly since is shown."""
    out = LogFilter(LogOptions(), since_ns=ns(T1)).feed(LOG)
    assert out == b"long again\nline\nlast\n"
    assert LogFilter(LogOptions(), since_ns=ns(T2) + 1).feed(LOG) == b""


def test_limit_bytes_cuts_mid_line_and_stops() -> None:
    """limitBytes counts output bytes (timestamps included) and cuts the last line."""
    selector = LogFilter(LogOptions(limit_bytes=8))
    assert selector.feed(LOG) == b"first\noo"
    assert selector.done
    assert selector.feed(LOG) == b""
    with_stamps = LogFilter(LogOptions(limit_bytes=36, timestamps=True)).feed(LOG)
    assert with_stamps == T0 + b" first"


def test_bad_lines_are_skipped() -> None:
    """A line that is not a CRI record is skipped, as the kubelet does."""
    assert LogFilter(LogOptions()).feed(b"junk\n" + T0 + b" stdout F ok\n") == b"ok\n"


def test_since_prefers_the_later_bound() -> None:
    """since_seconds before now and since_time: the later wins (the kubelet's rule)."""
    now = dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC)
    early = dt.datetime(2026, 1, 1, 0, 0, 0, 250000, tzinfo=dt.UTC)
    assert LogOptions().since_ns(now) is None
    assert LogOptions(since_seconds=30).since_ns(now) == ns(b"2026-01-01T00:00:30.000000000Z")
    assert LogOptions(since_time=early).since_ns(now) == ns(b"2026-01-01T00:00:00.250000000Z")
    both = LogOptions(since_time=early, since_seconds=30)
    assert both.since_ns(now) == ns(b"2026-01-01T00:00:30.000000000Z")


def tail_start(data: bytes, lines: int, stream: Stream | None = None, block: int = 7) -> int:
    """Feed data to a TailScanner backwards in small blocks, as the reader feeds the file."""
    scanner = TailScanner(lines, stream)
    position = len(data)
    while position > 0:
        offset = max(0, position - block)
        found = scanner.feed(data[offset:position], offset)
        if found is not None:
            return found
        position = offset
    return scanner.finish()


ALL = b"first\noops\nlong again\nline\nlast\n"


@pytest.mark.parametrize("block", [1, 7, 64, 10_000])
@pytest.mark.parametrize(
    ("lines", "stream", "expected"),
    [
        (0, None, b""),
        (1, None, b"last\n"),
        (2, None, b"line\nlast\n"),  # starts inside "long line": stderr came in between
        (3, None, b"long again\nline\nlast\n"),
        (4, None, b"oops\nlong again\nline\nlast\n"),
        (5, None, ALL),
        (100, None, ALL),
        (1, Stream.STDERR, b"again\n"),
        (1, Stream.STDOUT, b"last\n"),
        (2, Stream.STDOUT, b"long line\nlast\n"),
        (3, Stream.STDOUT, b"first\nlong line\nlast\n"),
    ],
)
def test_tail_counts_output_lines(
    lines: int, stream: Stream | None, expected: bytes, block: int
) -> None:
    """tailLines counts lines of the selected streams; a split line counts once."""
    start = tail_start(LOG, lines, stream, block)
    assert LogFilter(LogOptions(stream=stream)).feed(LOG[start:]) == expected


def test_tail_counts_an_unfinished_line_and_ignores_a_torn_record() -> None:
    """Trailing P records are one (unfinished) line; an unterminated last record is not."""
    data = T0 + b" stdout F a\n" + T0 + b" stdout P b\n" + T0 + b" stdout P c\n" + T0 + b" std"
    scanner_start = tail_start(data, 1)
    assert data[scanner_start:].startswith(T0 + b" stdout P b")
    scanner = TailScanner(0)
    assert scanner.feed(data, 0) == len(data) - len(T0 + b" std")
