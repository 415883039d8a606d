"""Ages as kubectl shows them: apimachinery's ``duration.HumanDuration``.

Every AGE, LAST SEEN and "(2m ago)" cell goes through ``translate_timestamp_since``; the
server computes these strings, kubectl prints them as given. Times are injected (``now``)
so tables are testable without a clock. Timestamps that do not parse read as unset
(``<unknown>``) rather than failing the whole table.
"""

from __future__ import annotations

import datetime as dt

_US = 1_000_000
_MINUTE = 60 * _US
_HOUR = 60 * _MINUTE


def parse_time(value: object) -> dt.datetime | None:
    """A ``metav1.Time``/``MicroTime`` string as an aware datetime; ``None`` when unset."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def human_duration(delta: dt.timedelta) -> str:
    """``duration.HumanDuration``: about two significant figures, ``<invalid>`` if future."""
    micros = (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds
    seconds = int(micros / _US)  # Go truncates toward zero
    if seconds < -1:
        return "<invalid>"  # more than the 1s of clock skew Go tolerates
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = micros // _MINUTE
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = micros // _HOUR
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def since(moment: dt.datetime | None, now: dt.datetime) -> str:
    """The age of ``moment`` at ``now``, or ``<unknown>`` when there is no moment."""
    if moment is None:
        return "<unknown>"
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return human_duration(now - moment)


def translate_timestamp_since(value: object, now: dt.datetime) -> str:
    """``translateTimestampSince`` for a timestamp field's raw value."""
    return since(parse_time(value), now)
