"""CRI log records: output is encoded as F/P records and parsed back, timestamps to the ns."""

from __future__ import annotations

import pytest

from kubeproc.kubelet.logs.format import (
    LogFormatError,
    LogRecord,
    Stream,
    Timestamp,
    encode_final,
    encode_output,
    format_timestamp,
    output_timestamp,
    parse_record,
    parse_timestamp,
)

TS = b"2026-01-01T00:00:00.000000001Z"


def test_timestamp_is_formatted_with_nine_fraction_digits() -> None:
    """Nanoseconds survive formatting: RFC3339NanoFixed, UTC as Z, offsets as +hh:mm."""
    ns = 1_767_225_600_000_000_001  # 2026-01-01T00:00:00.000000001Z
    assert format_timestamp(ns) == "2026-01-01T00:00:00.000000001Z"
    assert format_timestamp(Timestamp(ns, 2 * 3600)) == "2026-01-01T02:00:00.000000001+02:00"
    assert format_timestamp(Timestamp(ns, -5400)) == "2025-12-31T22:30:00.000000001-01:30"


@pytest.mark.parametrize(
    ("text", "ns", "offset"),
    [
        (b"2026-01-01T00:00:00.000000001Z", 1_767_225_600_000_000_001, 0),
        (b"2026-01-01T00:00:00Z", 1_767_225_600_000_000_000, 0),
        (b"2026-01-01T00:00:00.5Z", 1_767_225_600_500_000_000, 0),
        (b"2026-01-01T02:00:00.000000001+02:00", 1_767_225_600_000_000_001, 7200),
        (b"2025-12-31T23:00:00.123-01:00", 1_767_225_600_123_000_000, -3600),
    ],
)
def test_timestamp_parsing_is_lenient_about_fraction_and_zone(
    text: bytes, ns: int, offset: int
) -> None:
    """0-9 fraction digits and any offset parse to the same instant (RFC3339NanoLenient)."""
    assert parse_timestamp(text) == Timestamp(ns, offset)


@pytest.mark.parametrize("text", [b"yesterday", b"2026-01-01 00:00:00Z", b"2026-13-01T00:00:00Z"])
def test_bad_timestamps_are_rejected(text: bytes) -> None:
    """Anything else is a format error, not a crash."""
    with pytest.raises(LogFormatError):
        parse_timestamp(text)


def test_output_timestamp_keeps_fixed_utc_and_normalises_the_rest() -> None:
    """A record's own fixed-width UTC stamp is printed as is; short fractions are padded."""
    assert output_timestamp(TS) == TS
    assert output_timestamp(b"2026-01-01T00:00:00.5Z") == b"2026-01-01T00:00:00.500000000Z"


@pytest.mark.parametrize(
    ("line", "record"),
    [
        (TS + b" stdout F hello world", LogRecord(TS, Stream.STDOUT, False, b"hello world")),
        (TS + b" stderr P part", LogRecord(TS, Stream.STDERR, True, b"part")),
        (TS + b" stdout F ", LogRecord(TS, Stream.STDOUT, False, b"")),
        (TS + b" stdout F:x  two  spaces ", LogRecord(TS, Stream.STDOUT, False, b" two  spaces ")),
    ],
)
def test_records_parse(line: bytes, record: LogRecord) -> None:
    """Timestamp, stream, first tag and the content verbatim (spaces included)."""
    assert parse_record(line) == record


@pytest.mark.parametrize(
    "line",
    [b"", b"garbage", TS + b" stdin F x", TS + b" stdout", b"nope stdout F x"],
)
def test_non_records_are_rejected(line: bytes) -> None:
    """Unknown streams, missing fields and bad timestamps are format errors."""
    with pytest.raises(LogFormatError):
        parse_record(line)


def test_complete_lines_become_full_records_and_the_rest_waits() -> None:
    """Each complete line is an F record; an unterminated tail is returned, not written."""
    records, rest = encode_output(TS, Stream.STDOUT, b"", b"a\n\nb\nc", 16)
    assert records == TS + b" stdout F a\n" + TS + b" stdout F \n" + TS + b" stdout F b\n"
    assert rest == b"c"
    records, rest = encode_output(TS, Stream.STDOUT, rest, b"d\n", 16)
    assert (records, rest) == (TS + b" stdout F cd\n", b"")


def test_long_lines_are_split_into_partial_records() -> None:
    """A line past max_line becomes P records of exactly max_line bytes, then an F record."""
    records, rest = encode_output(TS, Stream.STDERR, b"", b"0123456789\n", 4)
    assert records.split(b"\n")[:-1] == [
        TS + b" stderr P 0123",
        TS + b" stderr P 4567",
        TS + b" stderr F 89",
    ]
    assert rest == b""


def test_unterminated_output_never_grows_past_max_line() -> None:
    """Output without newlines is flushed as P records, keeping less than max_line back."""
    records, rest = encode_output(TS, Stream.STDOUT, b"ab", b"cdefghij", 4)
    assert records == TS + b" stdout P abcd\n" + TS + b" stdout P efgh\n"
    assert rest == b"ij"


def test_exactly_max_line_then_newline_gives_an_empty_full_record() -> None:
    """As containerd does: the line fills a P record and the newline ends it with an empty F."""
    records, rest = encode_output(TS, Stream.STDOUT, b"", b"abcd", 4)
    assert (records, rest) == (TS + b" stdout P abcd\n", b"")
    records, _ = encode_output(TS, Stream.STDOUT, rest, b"\n", 4)
    assert records == TS + b" stdout F \n"


def test_output_left_at_end_of_stream_is_a_full_line() -> None:
    """What is left unterminated when the stream ends is written as an F record."""
    assert encode_final(TS, Stream.STDOUT, b"tail") == TS + b" stdout F tail\n"
    assert encode_final(TS, Stream.STDOUT, b"") == b""


def test_encoded_records_parse_back() -> None:
    """Round trip: every encoded record parses, and the contents rebuild the output."""
    data = b"x" * 10 + b"\nshort\n" + b"y" * 9
    records, rest = encode_output(TS, Stream.STDOUT, b"", data, 4)
    records += encode_final(TS, Stream.STDOUT, rest)
    parsed = [parse_record(line) for line in records.split(b"\n")[:-1]]
    rebuilt = b"".join(r.content + (b"" if r.partial else b"\n") for r in parsed)
    assert rebuilt == data + b"\n"
