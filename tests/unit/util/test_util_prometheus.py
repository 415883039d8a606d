"""The text exposition: Go's number format, escaping, histogram lines, and a round trip."""

from __future__ import annotations

import math

import pytest

from kubeproc.util.prometheus import (
    CounterVec,
    Family,
    HistogramVec,
    Sample,
    format_value,
    parse,
    render,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (1, "1"),
        (3.0, "3"),
        (0.005, "0.005"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (2.5, "2.5"),
        (100000, "100000"),
        (1000000, "1e+06"),
        (1234567, "1.234567e+06"),
        (-2.5, "-2.5"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_numbers_read_as_the_go_client_writes_them(value: float, text: str) -> None:
    """Values follow Go's FormatFloat(v, 'g', -1, 64)."""
    assert format_value(value) == text


def test_render_writes_help_type_and_escaped_labels() -> None:
    """HELP and TYPE come once per family; label values escape backslash, quote, newline."""
    fam = Family(
        "x_total",
        "Help with \\ and\nnewline.",
        "counter",
        (Sample("", (("a", 'q"b\\c\nd'),), 2), Sample("", (), 1)),
    )
    assert render([fam]) == (
        "# HELP x_total Help with \\\\ and\\nnewline.\n"
        "# TYPE x_total counter\n"
        'x_total{a="q\\"b\\\\c\\nd"} 2\n'
        "x_total 1\n"
    )
    assert render([]) == ""


def test_histogram_lines_are_cumulative_with_inf_sum_and_count() -> None:
    """Buckets count observations up to and including their bound; +Inf holds them all."""
    h = HistogramVec("d_seconds", "D.", ("k",), (0.1, 1.0))
    for v in (0.1, 0.5, 0.5, 7):
        h.observe(v, "a")
    assert render([h.family()]).splitlines()[2:] == [
        'd_seconds_bucket{k="a",le="0.1"} 1',
        'd_seconds_bucket{k="a",le="1"} 3',
        'd_seconds_bucket{k="a",le="+Inf"} 4',
        'd_seconds_sum{k="a"} 8.1',
        'd_seconds_count{k="a"} 4',
    ]


def test_parse_reads_back_what_render_wrote() -> None:
    """The test-side parser inverts render, escapes included."""
    c = CounterVec("r_total", "R.", ("verb", "path"))
    c.inc("GET", 'a"b')
    c.inc("GET", 'a"b')
    c.inc("PUT", "x\ny")
    samples = parse(render([c.family()]))
    assert samples == {
        ("r_total", (("path", 'a"b'), ("verb", "GET"))): 2.0,
        ("r_total", (("path", "x\ny"), ("verb", "PUT"))): 1.0,
    }
