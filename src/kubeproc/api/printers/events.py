"""The event row (``printEvent``), for core/v1 and events.k8s.io/v1 objects alike.

The store keeps core/v1 events, but a table for ``events.k8s.io/v1`` is built from objects
already in that shape (``regarding``, ``note``, ``deprecated*``), so the row reads either.
LAST SEEN falls back from ``lastTimestamp`` to ``firstTimestamp`` to ``eventTime``, and an
event series overrides both LAST SEEN and COUNT; singleton events count as 1.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubeproc.api.printers.age import parse_time, since
from kubeproc.api.printers.columns import Column, Printer, col, get, mapping, name, number, text

COLUMNS = (
    col("Last Seen", "Time since the event was last observed."),
    col("Type", "Normal or Warning."),
    col("Reason", "Why the event happened, in one word."),
    col("Object", "The object the event is about, as kind/name."),
    col("Subobject", "The part of the object involved, e.g. a container.", wide=True),
    col("Source", "The component, and host, that reported the event.", wide=True),
    col("Message", "What happened, for humans."),
    col("First Seen", "Time since the event was first observed.", wide=True),
    col("Count", "How many times the event was observed.", wide=True),
    Column("Name", "string", "name", "Name of the event object.", 1),
)


def _field(event: dict[str, Any], core: str, events_v1: str) -> Any:
    value = get(event, core)
    return get(event, events_v1) if value is None else value


def _ages(event: dict[str, Any], now: dt.datetime) -> tuple[str, str, int]:
    """LAST SEEN, FIRST SEEN and COUNT."""
    first_time = parse_time(_field(event, "firstTimestamp", "deprecatedFirstTimestamp"))
    first = since(first_time or parse_time(get(event, "eventTime")), now)
    last_time = parse_time(_field(event, "lastTimestamp", "deprecatedLastTimestamp"))
    last = since(last_time, now) if last_time else first
    count = number(event, "count") or number(event, "deprecatedCount")
    series = get(event, "series")
    if isinstance(series, dict):
        last = since(parse_time(series.get("lastObservedTime")), now)
        count = number(series, "count")
    elif count == 0:
        count = 1  # the new API leaves singletons uncounted
    return last, first, count


def source(event: dict[str, Any]) -> str:
    """``formatEventSource``: ``component, host``, each falling back to reporting*."""
    es = mapping(event, "source") or mapping(event, "deprecatedSource")
    reporter = text(event, "reportingComponent") or text(event, "reportingController")
    component = text(es, "component") or reporter
    instance = text(es, "host") or text(event, "reportingInstance")
    return f"{component}, {instance}" if instance else component


def cells(event: dict[str, Any], now: dt.datetime) -> list[object]:
    last, first, count = _ages(event, now)
    ref = mapping(event, "involvedObject") or mapping(event, "regarding")
    kind = text(ref, "kind").lower()
    target = f"{kind}/{text(ref, 'name')}" if text(ref, "name") else kind
    message = text(event, "message") or text(event, "note")
    return [
        last,
        text(event, "type"),
        text(event, "reason"),
        target,
        text(ref, "fieldPath"),
        source(event),
        message.strip(),
        first,
        count,
        name(event),
    ]


PRINTER = Printer(COLUMNS, cells)
