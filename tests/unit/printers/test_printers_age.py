"""Ages: apimachinery's HumanDuration and translateTimestampSince."""

from __future__ import annotations

import datetime as dt

import pytest

from kubeproc.api.printers import human_duration, translate_timestamp_since

S = dt.timedelta(seconds=1)
M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)

DURATIONS = [
    (0 * S, "0s"),
    (5 * S, "5s"),
    (90 * S, "90s"),
    (119 * S + dt.timedelta(milliseconds=999), "119s"),
    (2 * M, "2m"),
    (2 * M + 30 * S, "2m30s"),
    (9 * M + 59 * S, "9m59s"),
    (10 * M + 30 * S, "10m"),
    (179 * M, "179m"),
    (3 * H, "3h"),
    (3 * H + 20 * M, "3h20m"),
    (7 * H + 59 * M, "7h59m"),
    (8 * H + 30 * M, "8h"),
    (47 * H, "47h"),
    (2 * D, "2d"),
    (2 * D + 5 * H, "2d5h"),
    (7 * D + 23 * H, "7d23h"),
    (8 * D + 5 * H, "8d"),
    (729 * D, "729d"),
    (730 * D, "2y"),
    (731 * D, "2y1d"),
    (8 * 365 * D, "8y"),
    (9 * 365 * D + 100 * D, "9y"),
    (-S, "0s"),
    (-dt.timedelta(milliseconds=1999), "0s"),
    (-2 * S, "<invalid>"),
]


@pytest.mark.parametrize(("delta", "text"), DURATIONS, ids=[t for _, t in DURATIONS])
def test_human_duration(delta: dt.timedelta, text: str) -> None:
    """Durations shorten to about two significant figures, exactly as HumanDuration does."""
    assert human_duration(delta) == text


NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)

TIMESTAMPS = [
    ("2025-01-01T11:59:55Z", "5s"),
    ("2025-01-01T11:57:00.123456Z", "2m59s"),
    ("2025-01-01T13:00:00+01:00", "0s"),
    ("2025-01-01T12:00:05Z", "<invalid>"),
    (None, "<unknown>"),
    ("", "<unknown>"),
    ("yesterday", "<unknown>"),
]


@pytest.mark.parametrize(("value", "text"), TIMESTAMPS)
def test_translate_timestamp_since(value: object, text: str) -> None:
    """A timestamp field's age; unset or unreadable reads <unknown>, the future <invalid>."""
    assert translate_timestamp_since(value, NOW) == text


def test_naive_now_is_utc() -> None:
    """A naive ``now`` is taken as UTC."""
    assert translate_timestamp_since("2025-01-01T11:00:00Z", NOW.replace(tzinfo=None)) == "60m"
