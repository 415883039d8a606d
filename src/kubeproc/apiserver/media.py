"""Media types: what a client accepts back, and how to decode the body it sent.

kubectl asks for Tables (``as=Table;g=meta.k8s.io``), aggregated discovery
(``as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2``), protobuf first for typed GETs
(we always answer JSON, which it accepts), and sends JSON, YAML, protobuf or one of four
patch types. Pure functions; the handlers call them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from kubeproc.api.errors import BadRequest, UnsupportedMediaType
from kubeproc.api.protobuf import ProtobufError, decode_body

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"


class PatchType(StrEnum):
    JSON_PATCH = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY_YAML = "application/apply-patch+yaml"
    APPLY_CBOR = "application/apply-patch+cbor"


@dataclass(frozen=True)
class MediaRange:
    type: str
    params: dict[str, str]


def parse_accept(header: str | None) -> list[MediaRange]:
    """Split an Accept header into media ranges, in the client's order."""
    ranges: list[MediaRange] = []
    for part in (header or "").split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params[key.strip().lower()] = value.strip()
        ranges.append(MediaRange(pieces[0].lower(), params))
    return ranges


def wants_table(accept: list[MediaRange]) -> bool:
    """True when the first acceptable JSON form asked for is a meta.k8s.io Table."""
    for rng in accept:
        if rng.params.get("as") == "Table" and rng.params.get("g") == "meta.k8s.io":
            return rng.params.get("v", "v1") in ("v1", "v1beta1")
        if rng.type in (JSON, "*/*", "application/*"):
            return False
    return False


def aggregated_discovery_version(accept: list[MediaRange]) -> str | None:
    """The apidiscovery version to answer with (``v2``/``v2beta1``), or None for legacy."""
    for rng in accept:
        if rng.params.get("as") == "APIGroupDiscoveryList" and rng.params.get("g") == (
            "apidiscovery.k8s.io"
        ):
            version = rng.params.get("v", "")
            if version in ("v2", "v2beta1"):
                return version
            continue
        if rng.type in (JSON, "*/*", "application/*"):
            return None
    return None


def discovery_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode_object(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a create/update body (JSON, YAML or protobuf) into a JSON object."""
    media = _media_type(content_type)
    if media in ("", JSON, "*/*"):
        return _json_object(body)
    if media in (YAML, "application/x-yaml", "text/yaml"):
        return _yaml_object(body)
    if media == PROTOBUF:
        try:
            return decode_body(body)
        except ProtobufError as err:
            raise BadRequest(f"the body of the request could not be decoded: {err}") from err
    raise UnsupportedMediaType(
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{JSON}, {YAML}, {PROTOBUF}"
    )


def patch_type(content_type: str | None) -> PatchType:
    media = _media_type(content_type)
    try:
        return PatchType(media)
    except ValueError:
        raise UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(p.value for p in PatchType)}"
        ) from None


def decode_patch(body: bytes, kind: PatchType) -> Any:
    """Decode a patch body; JSON patches are lists, the others objects."""
    if kind is PatchType.APPLY_YAML:
        return _yaml_object(body)
    if kind is PatchType.APPLY_CBOR:
        raise UnsupportedMediaType("apply patches in CBOR are not supported by this server")
    try:
        value = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest(f"error decoding patch: {err}") from err
    if kind is PatchType.JSON_PATCH:
        if not isinstance(value, list):
            raise BadRequest("the server rejected our request due to an error in our request")
        return value
    if not isinstance(value, dict):
        raise BadRequest("the body of the request was in an unknown format")
    return value


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest(f"couldn't get version/kind; json parse error: {err}") from err
    if not isinstance(value, dict):
        raise BadRequest(
            "couldn't get version/kind; json parse error: "
            f"cannot unmarshal {type(value).__name__} into Go value of type struct"
        )
    return value


def _yaml_object(body: bytes) -> dict[str, Any]:
    try:
        value = yaml.safe_load(body)
    except yaml.YAMLError as err:
        raise BadRequest(f"error converting YAML to JSON: {err}") from err
    if not isinstance(value, dict):
        raise BadRequest("error converting YAML to JSON: the document is not an object")
    return value
