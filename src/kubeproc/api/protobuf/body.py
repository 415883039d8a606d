"""The Kubernetes protobuf envelope: magic bytes, ``runtime.Unknown``, then the object.

Owns the outer layer of a ``application/vnd.kubernetes.protobuf`` body: the four bytes
``k8s\\0``, a ``runtime.Unknown`` {1 typeMeta {1 apiVersion, 2 kind}, 2 raw,
3 contentEncoding, 4 contentType}, and the choice of root message from apiVersion and
kind (`kinds`). The object itself carries no TypeMeta in protobuf, so the envelope's is
put back as ``apiVersion`` and ``kind``, as a JSON body would have them.
"""

from __future__ import annotations

from typing import Any, Final

from kubeproc.api.protobuf.decode import Decoder
from kubeproc.api.protobuf.kinds import MESSAGES, root_message
from kubeproc.api.protobuf.wire import ProtobufError, WireType, iter_fields

__all__ = ["CONTENT_TYPE", "MAGIC", "decode_body"]

MAGIC: Final = b"k8s\x00"
CONTENT_TYPE: Final = "application/vnd.kubernetes.protobuf"

_DECODER: Final = Decoder(MESSAGES)


def decode_body(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Decode a protobuf request body into the dict its JSON encoding would be.

    Raises `ProtobufError` for a body that is not Kubernetes protobuf, is malformed, or
    holds a kind with no schema here.
    """
    data = bytes(data)
    if not data.startswith(MAGIC):
        raise ProtobufError("body does not start with the Kubernetes protobuf prefix k8s\\0")
    api_version, kind, raw, encoding, content_type = _unknown(data[len(MAGIC) :])
    if encoding:
        raise ProtobufError(f"unsupported contentEncoding {encoding!r}")
    if content_type not in ("", CONTENT_TYPE):
        raise ProtobufError(f"unsupported contentType {content_type!r} inside a protobuf body")
    if not kind:
        raise ProtobufError("protobuf body has no kind")
    message = root_message(api_version, kind)
    if message is None:
        raise ProtobufError(f"cannot decode kind {kind!r} of {api_version!r} from protobuf")
    head = {"apiVersion": api_version, "kind": kind} if api_version else {"kind": kind}
    return head | _DECODER.message(message, raw)


def _unknown(data: bytes) -> tuple[str, str, bytes, str, str]:
    """Split ``runtime.Unknown`` into apiVersion, kind, raw, contentEncoding, contentType."""
    api_version = kind = encoding = content_type = ""
    raw = b""
    for number, wire_type, value in iter_fields(data):
        if number > 4:
            continue
        if wire_type is not WireType.LEN or not isinstance(value, bytes):
            raise ProtobufError(f"runtime.Unknown field {number} is not length-delimited")
        if number == 1:
            api_version, kind = _type_meta(value)
        elif number == 2:
            raw = value
        elif number == 3:
            encoding = _text(value)
        else:
            content_type = _text(value)
    return api_version, kind, raw, encoding, content_type


def _type_meta(data: bytes) -> tuple[str, str]:
    api_version = kind = ""
    for number, wire_type, value in iter_fields(data):
        if number not in (1, 2):
            continue
        if wire_type is not WireType.LEN or not isinstance(value, bytes):
            raise ProtobufError(f"runtime.TypeMeta field {number} is not length-delimited")
        if number == 1:
            api_version = _text(value)
        else:
            kind = _text(value)
    return api_version, kind


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")
