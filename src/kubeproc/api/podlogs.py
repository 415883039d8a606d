"""``PodLogOptions``: the query of ``pods/{name}/log``, parsed, validated, and passed on.

Owns what both ends of a log request agree on: the apiserver parses and validates the
query kubectl sends (a parse error is a 400, a bad value a 422 ``PodLogOptions`` as
kube-apiserver answers), then forwards the options to the kubelet's ``/containerLogs``
in the kubelet's query form, which the kubelet parses with the same code. Pure.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from kubeproc.api.errors import BadRequest, FieldError, Invalid, forbidden, invalid

_T = TypeVar("_T")

_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", flags=re.IGNORECASE
)


def _bool(raw: str) -> bool:
    # Go's query conversion: only "0", "f" and "false" (any case) are false; never an error.
    return not (raw == "0" or raw.lower() in ("f", "false"))


def _int(raw: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise BadRequest(f'strconv.ParseInt: parsing "{raw}": invalid syntax')
    return int(raw)


def _time(raw: str) -> dt.datetime:
    if not _RFC3339.fullmatch(raw):
        raise BadRequest(
            f'parsing time "{raw}" as "2006-01-02T15:04:05Z07:00": cannot parse "{raw}" as "2006"'
        )
    moment = dt.datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
    return moment.astimezone(dt.UTC)


def _get(query: Mapping[str, str], name: str, parse: Callable[[str], _T]) -> _T | None:
    raw = query.get(name)
    return None if raw is None or raw == "" else parse(raw)


def format_time(moment: dt.datetime) -> str:
    """Second precision, as ``metav1.Time`` puts a ``sinceTime`` on the kubelet's query."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PodLogOptions:
    container: str = ""
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: dt.datetime | None = None
    limit_bytes: int | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> PodLogOptions:
        """Decode the query; a value that does not parse is a 400 with Go's words."""
        return cls(
            container=query.get("container", ""),
            follow=_bool(query.get("follow", "0")),
            previous=_bool(query.get("previous", "0")),
            timestamps=_bool(query.get("timestamps", "0")),
            tail_lines=_get(query, "tailLines", _int),
            since_seconds=_get(query, "sinceSeconds", _int),
            since_time=_get(query, "sinceTime", _time),
            limit_bytes=_get(query, "limitBytes", _int),
        )

    def errors(self) -> list[FieldError]:
        """``ValidatePodLogOptions``: the same checks and texts."""
        errs: list[FieldError] = []
        if self.tail_lines is not None and self.tail_lines < 0:
            errs.append(invalid("tailLines", self.tail_lines, "must be greater than or equal to 0"))
        if self.limit_bytes is not None and self.limit_bytes < 1:
            errs.append(invalid("limitBytes", self.limit_bytes, "must be greater than 0"))
        if self.since_seconds is not None and self.since_time is not None:
            errs.append(
                forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified")
            )
        elif self.since_seconds is not None and self.since_seconds < 1:
            errs.append(invalid("sinceSeconds", self.since_seconds, "must be greater than 0"))
        return errs

    def validate(self, pod_name: str) -> None:
        errs = self.errors()
        if errs:
            raise Invalid.of("PodLogOptions", "", pod_name, errs)

    def since(self, now: dt.datetime) -> dt.datetime | None:
        """The earliest record to show: ``sinceTime``, or ``now - sinceSeconds``."""
        if self.since_time is not None:
            return self.since_time
        if self.since_seconds is not None:
            return now - dt.timedelta(seconds=self.since_seconds)
        return None

    def kubelet_query(self) -> list[tuple[str, str]]:
        """The query kube-apiserver puts on the kubelet's ``/containerLogs`` URL."""
        out: list[tuple[str, str]] = []
        if self.follow:
            out.append(("follow", "true"))
        if self.previous:
            out.append(("previous", "true"))
        if self.timestamps:
            out.append(("timestamps", "true"))
        if self.since_seconds is not None:
            out.append(("sinceSeconds", str(self.since_seconds)))
        if self.since_time is not None:
            out.append(("sinceTime", format_time(self.since_time)))
        if self.tail_lines is not None:
            out.append(("tailLines", str(self.tail_lines)))
        if self.limit_bytes is not None:
            out.append(("limitBytes", str(self.limit_bytes)))
        return out
