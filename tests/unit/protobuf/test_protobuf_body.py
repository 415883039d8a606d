"""The envelope: the k8s\\0 prefix, runtime.Unknown, and the clear errors for bad bodies."""

from __future__ import annotations

import pytest

from kubeproc.api.protobuf import MAGIC, ProtobufError, decode_body
from kubeproc.api.protobuf.testing import body, field, fixed32, message

NAMESPACE = message(field(1, message(field(1, "x"))))


def test_type_meta_comes_from_the_envelope() -> None:
    """apiVersion and kind, absent from the protobuf object, are taken from runtime.Unknown."""
    assert decode_body(body("v1", "Namespace", NAMESPACE)) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "x", "creationTimestamp": None},
        "spec": {},
        "status": {},
    }


def test_explicit_protobuf_content_type_is_accepted() -> None:
    """runtime.Unknown may name the protobuf media type for its raw bytes."""
    data = body("v1", "Namespace", NAMESPACE, content_type="application/vnd.kubernetes.protobuf")

    assert decode_body(data)["metadata"]["name"] == "x"


def test_unknown_envelope_fields_are_skipped() -> None:
    """Fields runtime.Unknown does not define are skipped, like any unknown field."""
    data = body("v1", "Namespace", NAMESPACE) + field(9, "future") + fixed32(10, 0)

    assert decode_body(data)["kind"] == "Namespace"


def test_any_bytes_like_input_is_accepted() -> None:
    """A bytearray or memoryview body (as a web framework may hand it over) decodes too."""
    data = body("v1", "Namespace", NAMESPACE)

    assert decode_body(bytearray(data)) == decode_body(data)
    assert decode_body(memoryview(data)) == decode_body(data)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "does not start with the Kubernetes protobuf prefix"),
        (b'{"kind":"Pod"}', "does not start with the Kubernetes protobuf prefix"),
        (MAGIC, "has no kind"),
        (MAGIC + b"\x0a", "truncated varint"),
        (MAGIC + b"\x0a\x05\x0a\x02v1", "runs past the end"),
        (MAGIC + field(1, 5), "runtime.Unknown field 1 is not length-delimited"),
        (MAGIC + field(1, field(2, 7)), "runtime.TypeMeta field 2 is not length-delimited"),
        (body("v1", "Namespace", b"\x0a\x10"), "runs past the end"),
        (body("v1", "Namespace", NAMESPACE, content_encoding="gzip"), "contentEncoding 'gzip'"),
        (body("v1", "Namespace", b"{}", content_type="application/json"), "contentType"),
        (body("apps/v1", "StatefulSet", b""), "cannot decode kind 'StatefulSet' of 'apps/v1'"),
        (body("v2", "Pod", b""), "cannot decode kind 'Pod' of 'v2'"),
    ],
)
def test_bad_bodies_raise_protobuf_error(data: bytes, match: str) -> None:
    """Anything that is not a decodable Kubernetes protobuf body raises, saying why."""
    with pytest.raises(ProtobufError, match=match):
        decode_body(data)
