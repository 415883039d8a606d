"""DNS names: presentation strings to labels and back, and names read off the wire.

Names cross the package as presentation strings (``web.default.svc.cluster.local``, no
trailing dot); a label byte that is not printable ASCII, a dot or a backslash is escaped
as ``\\DDD`` or ``\\.``, so a string is always ASCII and ``str.lower`` is DNS's case fold.
Reading a name off a message is bounded on hostile input: compression pointers must point
strictly backwards, so a pointer chain cannot loop, and a name longer than 255 octets or a
label over 63 octets is a ``WireError``.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_NAME = 255
MAX_LABEL = 63


class WireError(ValueError):
    """A message that cannot be decoded, or a name that cannot be encoded."""


# -- presentation ------------------------------------------------------------------------------


def _escape(label: bytes) -> str:
    out = []
    for byte in label:
        char = chr(byte)
        if char in ".\\":
            out.append("\\" + char)
        elif 0x21 <= byte <= 0x7E:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def presentation(labels: Sequence[bytes]) -> str:
    return ".".join(_escape(label) for label in labels)


def labels_of(name: str) -> tuple[bytes, ...]:
    """The labels of a presentation name; ``WireError`` if it cannot be a DNS name."""
    labels: list[bytes] = []
    current = bytearray()
    i, text = 0, name.removesuffix(".") if name != "." else ""
    while i < len(text):
        char = text[i]
        if char == "\\":
            if text[i + 1 : i + 4].isdigit() and len(text[i + 1 : i + 4]) == 3:
                value = int(text[i + 1 : i + 4])
                if value > 255:
                    raise WireError(f"bad escape in name {name!r}")
                current.append(value)
                i += 4
                continue
            if i + 1 >= len(text):
                raise WireError(f"trailing backslash in name {name!r}")
            char, i = text[i + 1], i + 1
        elif char == ".":
            labels.append(_label(current, name))
            current = bytearray()
            i += 1
            continue
        if ord(char) > 0x7F:
            raise WireError(f"non-ASCII character in name {name!r}")
        current.append(ord(char))
        i += 1
    if text:
        labels.append(_label(current, name))
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME:
        raise WireError(f"name longer than {MAX_NAME} octets: {name[:64]!r}...")
    return tuple(labels)


def _label(raw: bytearray, name: str) -> bytes:
    if not raw:
        raise WireError(f"empty label in name {name!r}")
    if len(raw) > MAX_LABEL:
        raise WireError(f"label longer than {MAX_LABEL} octets in name {name[:64]!r}")
    return bytes(raw)


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """The name at ``offset`` and the offset after it (after the first pointer, if any)."""
    labels: list[bytes] = []
    total = 1
    end: int | None = None
    pos = offset
    while True:
        if pos >= len(data):
            raise WireError("name runs past the end of the message")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise WireError("truncated compression pointer")
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if end is None:
                end = pos + 2
            # Only backwards, and before where this pointer's chain began: no loops.
            if target >= pos or target >= offset:
                raise WireError("compression pointer does not point backwards")
            offset = pos = target
            continue
        if length & 0xC0:
            raise WireError(f"unsupported label type 0x{length & 0xC0:02x}")
        pos += 1
        if length == 0:
            break
        if pos + length > len(data):
            raise WireError("label runs past the end of the message")
        total += length + 1
        if total > MAX_NAME:
            raise WireError(f"name longer than {MAX_NAME} octets")
        labels.append(data[pos : pos + length])
        pos += length
    return presentation(labels), end if end is not None else pos
