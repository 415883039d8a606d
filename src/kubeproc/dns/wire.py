"""The DNS wire format (RFC 1035, SRV from RFC 2782, OPT from RFC 6891): decode and encode.

Pure bytes in, records out, and back. The decoder reads any message (the server reads
queries, the tests read answers) and is bounded on hostile input: compression pointers
must point strictly backwards, so a pointer chain cannot loop, and a name longer than 255
octets, a label over 63 octets or a record running past the end is a ``WireError``. The
encoder compresses names against every name already written, case-insensitively, so an
answer whose owner is the question's name repeats the question's spelling, as a resolver
expects (0x20 case randomisation survives).

Names cross this module as presentation strings (``names``).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from kubeproc.dns.names import WireError, labels_of, read_name

HEADER_SIZE = 12
UDP_LIMIT = 512
"""What a UDP answer may hold when the query carried no OPT record."""
EDNS_SIZE = 1232
"""The payload we advertise and cap at: the size DNS flag day 2020 settled on."""


class RRType(IntEnum):
    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    PTR = 12
    AAAA = 28
    SRV = 33
    OPT = 41
    ANY = 255


class Rcode(IntEnum):
    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5


QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
CLASS_IN = 1


@dataclass(frozen=True)
class A:
    address: str


@dataclass(frozen=True)
class AAAA:
    address: str


@dataclass(frozen=True)
class Target:
    """The single name of a CNAME, PTR or NS record."""

    name: str


@dataclass(frozen=True)
class SRV:
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True)
class SOA:
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int


@dataclass(frozen=True)
class Opaque:
    """RDATA of a type this module does not interpret (OPT's options included)."""

    data: bytes


RData = A | AAAA | Target | SRV | SOA | Opaque


@dataclass(frozen=True)
class Record:
    name: str
    rtype: int
    ttl: int
    data: RData
    rclass: int = CLASS_IN
    """For OPT: the sender's UDP payload size."""


@dataclass(frozen=True)
class Question:
    name: str
    qtype: int
    qclass: int = CLASS_IN


@dataclass(frozen=True)
class Message:
    id: int
    flags: int
    questions: tuple[Question, ...] = ()
    answers: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()

    @property
    def rcode(self) -> int:
        return self.flags & 0x000F

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0x0F

    @property
    def udp_size(self) -> int | None:
        """The payload size an OPT record in the additional section advertises."""
        for rr in self.additional:
            if rr.rtype == RRType.OPT:
                return rr.rclass
        return None


# -- decoding -------------------------------------------------------------------------


def _unpack(fmt: str, data: bytes, offset: int) -> tuple[int, ...]:
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error as err:
        raise WireError("message ends inside a fixed-size field") from err


def _rdata(data: bytes, rtype: int, start: int, end: int) -> RData:
    raw = data[start:end]
    if rtype == RRType.A and len(raw) == 4:
        return A(str(ipaddress.IPv4Address(raw)))
    if rtype == RRType.AAAA and len(raw) == 16:
        return AAAA(str(ipaddress.IPv6Address(raw)))
    if rtype in (RRType.CNAME, RRType.PTR, RRType.NS):
        name, after = read_name(data, start)
        if after != end:
            raise WireError("name record's data has a wrong length")
        return Target(name)
    if rtype == RRType.SRV:
        priority, weight, port = _unpack("!HHH", data, start)
        target, after = read_name(data, start + 6)
        if after != end:
            raise WireError("SRV record's data has a wrong length")
        return SRV(priority, weight, port, target)
    if rtype == RRType.SOA:
        mname, pos = read_name(data, start)
        rname, pos = read_name(data, pos)
        numbers = _unpack("!IIIII", data, pos)
        if pos + 20 != end:
            raise WireError("SOA record's data has a wrong length")
        return SOA(mname, rname, *numbers)
    return Opaque(raw)


def _read_record(data: bytes, offset: int) -> tuple[Record, int]:
    name, pos = read_name(data, offset)
    rtype, rclass, ttl, rdlength = _unpack("!HHIH", data, pos)
    start = pos + 10
    end = start + rdlength
    if end > len(data):
        raise WireError("record data runs past the end of the message")
    return Record(name, rtype, ttl, _rdata(data, rtype, start, end), rclass), end


def read_id(data: bytes) -> int | None:
    """The message ID, or None when not even the header is there."""
    return int.from_bytes(data[:2]) if len(data) >= HEADER_SIZE else None


def decode(data: bytes) -> Message:
    """The whole message; ``WireError`` on anything malformed."""
    if len(data) < HEADER_SIZE:
        raise WireError(f"message of {len(data)} octets is shorter than a header")
    ident, flags, qdcount, ancount, nscount, arcount = _unpack("!HHHHHH", data, 0)
    pos = HEADER_SIZE
    questions = []
    for _ in range(qdcount):
        name, pos = read_name(data, pos)
        qtype, qclass = _unpack("!HH", data, pos)
        pos += 4
        questions.append(Question(name, qtype, qclass))
    sections: list[list[Record]] = [[], [], []]
    for section, count in zip(sections, (ancount, nscount, arcount), strict=True):
        for _ in range(count):
            record, pos = _read_record(data, pos)
            section.append(record)
    return Message(
        ident, flags, tuple(questions), tuple(sections[0]), tuple(sections[1]), tuple(sections[2])
    )


def decode_query(data: bytes) -> Message:
    """A query this server can answer: one question, QR clear; else ``WireError``."""
    message = decode(data)
    if message.flags & QR:
        raise WireError("message is a response, not a query")
    if len(message.questions) != 1:
        raise WireError(f"query has {len(message.questions)} questions, not one")
    return message


# -- encoding -------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()
        self._offsets: dict[tuple[bytes, ...], int] = {}

    def name(self, name: str) -> None:
        labels = labels_of(name)
        for i in range(len(labels)):
            suffix = tuple(label.lower() for label in labels[i:])
            known = self._offsets.get(suffix)
            if known is not None:
                self.buf += struct.pack("!H", 0xC000 | known)
                return
            if len(self.buf) < 0x4000:
                self._offsets[suffix] = len(self.buf)
            self.buf.append(len(labels[i]))
            self.buf += labels[i]
        self.buf.append(0)

    def record(self, rr: Record) -> None:
        self.name(rr.name)
        self.buf += struct.pack("!HHI", rr.rtype, rr.rclass, rr.ttl)
        length_at = len(self.buf)
        self.buf += b"\0\0"
        data = rr.data
        if isinstance(data, A):
            self.buf += ipaddress.IPv4Address(data.address).packed
        elif isinstance(data, AAAA):
            self.buf += ipaddress.IPv6Address(data.address).packed
        elif isinstance(data, Target):
            self.name(data.name)
        elif isinstance(data, SRV):
            self.buf += struct.pack("!HHH", data.priority, data.weight, data.port)
            self.name(data.target)  # RFC 2782 forbids compressing it; resolvers accept it
        elif isinstance(data, SOA):
            self.name(data.mname)
            self.name(data.rname)
            self.buf += struct.pack(
                "!IIIII", data.serial, data.refresh, data.retry, data.expire, data.minimum
            )
        else:
            self.buf += data.data
        struct.pack_into("!H", self.buf, length_at, len(self.buf) - length_at - 2)


def encode(message: Message) -> bytes:
    writer = _Writer()
    writer.buf += struct.pack(
        "!HHHHHH",
        message.id,
        message.flags,
        len(message.questions),
        len(message.answers),
        len(message.authority),
        len(message.additional),
    )
    for question in message.questions:
        writer.name(question.name)
        writer.buf += struct.pack("!HH", question.qtype, question.qclass)
    for rr in (*message.answers, *message.authority, *message.additional):
        writer.record(rr)
    return bytes(writer.buf)


def opt_record(size: int = EDNS_SIZE) -> Record:
    return Record("", RRType.OPT, 0, Opaque(b""), rclass=size)


def response(
    query: Message,
    rcode: int,
    answers: Sequence[Record] = (),
    authority: Sequence[Record] = (),
    additional: Sequence[Record] = (),
    *,
    authoritative: bool = True,
    limit: int | None = None,
) -> bytes:
    """The answer to ``query``; over ``limit`` octets, only the question with TC set.

    An OPT record goes back when the query carried one (RFC 6891 says a responder that
    speaks EDNS answers with it)."""
    flags = QR | (query.flags & (0x7800 | RD)) | RA | (rcode & 0x0F)
    if authoritative:
        flags |= AA
    edns = (opt_record(),) if query.udp_size is not None else ()
    full = Message(
        query.id, flags, query.questions[:1], tuple(answers), tuple(authority), (*additional, *edns)
    )
    data = encode(full)
    if limit is None or len(data) <= limit:
        return data
    return encode(Message(query.id, flags | TC, query.questions[:1], (), (), edns))


def header_error(data: bytes, rcode: int) -> bytes | None:
    """A header-only answer to an undecodable message, or None when none is due.

    None when the header itself is missing, or the message is a response (answering a
    response could start a loop between two servers)."""
    if len(data) < HEADER_SIZE:
        return None
    ident, flags = struct.unpack_from("!HH", data, 0)
    if flags & QR:
        return None
    out_flags = QR | (flags & (0x7800 | RD)) | RA | (rcode & 0x0F)
    return struct.pack("!HHHHHH", ident, out_flags, 0, 0, 0, 0)


def query(
    name: str, qtype: int, *, ident: int = 0, recursion: bool = True, edns: int | None = None
) -> bytes:
    """A one-question query (the tests' client, and anyone probing the server)."""
    additional = (opt_record(edns),) if edns is not None else ()
    return encode(
        Message(ident, RD if recursion else 0, (Question(name, qtype),), additional=additional)
    )


def with_id(data: bytes, ident: int) -> bytes:
    """``data`` with its message ID replaced (relaying an upstream's answer)."""
    return struct.pack("!H", ident) + data[2:]
