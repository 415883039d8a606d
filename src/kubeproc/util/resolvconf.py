"""resolv.conf, read as resolvers and the kubelet read it: nameservers, search, options.

Nameserver lines accumulate; the last ``search`` line and the last ``options`` line win.
A search domain written with its trailing dot counts as the same domain without it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 10 << 20


@dataclass(frozen=True)
class DnsConfig:
    """What a resolv.conf says; all three empty: nothing (or a file that says nothing)."""

    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


def parse(text: str) -> DnsConfig:
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";")):
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [s.removesuffix(".") for s in fields[1:]]
        elif fields[0] == "options":
            options = fields[1:]
    return DnsConfig(tuple(servers), tuple(searches), tuple(options))


def read(path: Path) -> DnsConfig:
    """The file's settings; none (logged) when it cannot be read."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES)
    except OSError as err:
        log.warning("resolver file not read path=%s error=%s", path, err)
        return DnsConfig()
    return parse(raw.decode(errors="replace"))
