"""Kubernetes protobuf request bodies, decoded into the dicts their JSON encoding would be.

kubectl 1.32+ sends ``kubectl create <generator>`` bodies only as
``application/vnd.kubernetes.protobuf`` (no JSON fallback), and any client-go program may
send protobuf for any served kind. This package turns such a body into the same dict a
JSON body would give, so the rest of the apiserver has one code path. It uses no protobuf
library: a small wire reader (`wire`), a schema notation (`schema`), tables of field numbers
taken from k8s.io/api and k8s.io/apimachinery ``generated.proto`` (`meta`, `core`,
`core_pod`, `core_volume`, `groups`), and Go's JSON rules for absent fields (`decode`).

The public door is `decode_body`, `ProtobufError` (a ``ValueError``; answer 400
BadRequest), the media type `CONTENT_TYPE`, the body prefix `MAGIC`, and `can_decode`.
"""

from __future__ import annotations

from kubeproc.api.protobuf.body import CONTENT_TYPE, MAGIC, decode_body
from kubeproc.api.protobuf.kinds import root_message
from kubeproc.api.protobuf.wire import ProtobufError

__all__ = ["CONTENT_TYPE", "MAGIC", "ProtobufError", "can_decode", "decode_body"]


def can_decode(api_version: str, kind: str) -> bool:
    """Whether a protobuf body of this apiVersion and kind has a schema here."""
    return root_message(api_version, kind) is not None
