"""The DNS codec: messages round-trip, names compress, hostile input is a WireError."""

from __future__ import annotations

import struct

import pytest

from kubeproc.dns import names, wire
from kubeproc.dns.names import WireError
from kubeproc.dns.wire import (
    AAAA,
    SOA,
    SRV,
    A,
    Message,
    Opaque,
    Question,
    Rcode,
    Record,
    RRType,
    Target,
)

HEADER = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)


def test_every_record_type_round_trips() -> None:
    """A, AAAA, CNAME, PTR, SRV, SOA and an unknown type decode to what was encoded."""
    records = (
        Record("web.default.svc.cluster.local", RRType.A, 5, A("10.96.0.10")),
        Record("web.default.svc.cluster.local", RRType.AAAA, 5, AAAA("fd00::1")),
        Record("ext.default.svc.cluster.local", RRType.CNAME, 5, Target("example.com")),
        Record("10.0.96.10.in-addr.arpa", RRType.PTR, 5, Target("web.default.svc.cluster.local")),
        Record("_http._tcp.web", RRType.SRV, 5, SRV(0, 100, 80, "web.default.svc.cluster.local")),
        Record(
            "cluster.local",
            RRType.SOA,
            5,
            SOA("ns.dns.cluster.local", "hostmaster.cluster.local", 7, 7200, 1800, 86400, 5),
        ),
        Record("x.example", 99, 60, Opaque(b"\x01\x02\x03")),
    )
    message = Message(
        7, wire.QR | wire.AA, (Question("web.default.svc.cluster.local", RRType.A),), records
    )
    assert wire.decode(wire.encode(message)) == message


def test_names_are_compressed_and_keep_the_questions_case() -> None:
    """An owner equal to the question, whatever its case, is a pointer to the question."""
    query = wire.decode(wire.query("Web.Default.SVC.cluster.local", RRType.A, ident=9))
    answer = Record("web.default.svc.cluster.local", RRType.A, 5, A("10.96.0.10"))
    data = wire.response(query, Rcode.NOERROR, [answer, answer])
    assert data.count(b"Web") == 1
    assert len(data) < 12 + 35 + 2 * 16 + 10  # the two owners are two-octet pointers
    decoded = wire.decode(data)
    assert [rr.name for rr in decoded.answers] == ["Web.Default.SVC.cluster.local"] * 2
    assert decoded.id == 9
    assert decoded.flags & wire.QR and decoded.flags & wire.AA and decoded.flags & wire.RD


def test_escaped_labels_round_trip() -> None:
    """A dot or a non-printable byte inside a label survives presentation and back."""
    labels = (b"a.b", b"\x00\xff", b"c\\d")
    name = names.presentation(labels)
    assert name == "a\\.b.\\000\\255.c\\\\d"
    assert names.labels_of(name) == labels
    message = Message(1, 0, (Question(name, RRType.A),))
    assert wire.decode(wire.encode(message)).questions[0].name == name


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x12\x34\x01",  # shorter than a header
        HEADER,  # says one question, has none
        HEADER + b"\x03www",  # name runs past the end
        HEADER + b"\x03www\x00\x00",  # question's type and class cut short
        HEADER + b"\xc0\x0c\x00\x01\x00\x01",  # pointer to itself
        HEADER + b"\x01a\xc0\x0c\x00\x01\x00\x01",  # pointer back into its own chain: a loop
        HEADER + b"\xc0\x30\x00\x01\x00\x01",  # pointer forwards
        HEADER + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",  # label type 0x40
        HEADER + b"\x80\x00\x00\x01\x00\x01",  # label type 0x80
        HEADER
        + b"\x3f" * 1
        + b"a" * 63
        + b"\x3f"
        + b"b" * 63
        + b"\x3f"
        + b"c" * 63
        # 4 x 63 = 256 octets with the length bytes: over 255
        + b"\x3f"
        + b"d" * 63
        + b"\x00\x00\x01\x00\x01",
    ],
)
def test_malformed_messages_are_wire_errors(data: bytes) -> None:
    """Every way a message can be cut or looped raises WireError, nothing else."""
    with pytest.raises(WireError):
        wire.decode_query(data)


def test_record_data_past_the_end_is_a_wire_error() -> None:
    """An answer whose RDLENGTH runs past the message is refused."""
    good = wire.encode(
        Message(1, wire.QR, answers=(Record("a", RRType.A, 5, A("10.0.0.1")),)),
    )
    with pytest.raises(WireError):
        wire.decode(good[:-1])


def test_queries_must_be_queries_with_one_question() -> None:
    """A response, or two questions, is not a query this server answers."""
    two = Message(1, 0, (Question("a", RRType.A), Question("b", RRType.A)))
    with pytest.raises(WireError, match="questions"):
        wire.decode_query(wire.encode(two))
    with pytest.raises(WireError, match="response"):
        wire.decode_query(wire.encode(Message(1, wire.QR, (Question("a", RRType.A),))))


@pytest.mark.parametrize(
    "name", ["a" * 64 + ".example", "a..b", ".".join(["abcdefghi"] * 26), "caf\u00e9.example"]
)
def test_unencodable_names_are_wire_errors(name: str) -> None:
    """Oversize labels and names, empty labels and non-ASCII names are refused."""
    with pytest.raises(WireError):
        names.labels_of(name)


def test_header_error_answers_only_a_readable_query_header() -> None:
    """FORMERR keeps the ID and RD; no answer to a fragment or to a response."""
    data = wire.header_error(HEADER + b"\x03www", Rcode.FORMERR)
    assert data is not None
    decoded = wire.decode(data)
    assert (decoded.id, decoded.rcode, decoded.questions) == (0x1234, Rcode.FORMERR, ())
    assert decoded.flags & wire.RD
    assert wire.header_error(b"\x12\x34", Rcode.FORMERR) is None
    response = struct.pack("!HHHHHH", 1, wire.QR, 0, 0, 0, 0)
    assert wire.header_error(response, Rcode.FORMERR) is None


def test_oversize_answers_are_truncated_with_tc() -> None:
    """Over the limit, only the question goes back, with TC set; the OPT stays."""
    query = wire.decode(wire.query("many.example", RRType.A, ident=3, edns=4096))
    assert query.udp_size == 4096
    answers = [Record("many.example", RRType.A, 5, A(f"10.0.0.{i}")) for i in range(100)]
    full = wire.decode(wire.response(query, Rcode.NOERROR, answers))
    assert len(full.answers) == 100 and not full.flags & wire.TC
    cut = wire.decode(wire.response(query, Rcode.NOERROR, answers, limit=512))
    assert cut.flags & wire.TC
    assert cut.answers == () and cut.questions == query.questions
    assert cut.udp_size == wire.EDNS_SIZE


def test_with_id_replaces_only_the_id() -> None:
    """A relayed answer gets the client's ID back and nothing else changes."""
    data = wire.query("example.com", RRType.A, ident=1)
    assert wire.read_id(wire.with_id(data, 0xBEEF)) == 0xBEEF
    assert wire.with_id(data, 0xBEEF)[2:] == data[2:]
