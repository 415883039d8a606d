"""Media types: what a client accepts back, and how to decode the body it sent.

kubectl asks for Tables (``as=Table;g=meta.k8s.io``), aggregated discovery
(``as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2``), protobuf first for typed GETs
(we always answer JSON, which it accepts), and sends JSON, YAML, protobuf or one of four
patch types. Pure functions; the handlers call them. Decoding failures carry the texts
kube-apiserver's decoders produce (Go's ``encoding/json`` via ``gojson``, go-yaml's
``yaml: line N: ...``), since those reach users verbatim.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from kubeproc.api.errors import BadRequest, UnsupportedMediaType
from kubeproc.api.protobuf import ProtobufError, decode_body
from kubeproc.apiserver import gojson

# libyaml when PyYAML was built with it: its messages are go-yaml's (a port of libyaml).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

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


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-cased (no parameters)."""
    return (content_type or "").split(";")[0].strip().lower()


def body_media_type(content_type: str | None) -> str:
    """The media type of a create or update body; 415 for one the server cannot read.

    As kube-apiserver's ``NegotiateInputSerializer``: a missing Content-Type means JSON,
    anything else must be one of the three serializers exactly.
    """
    media = media_type(content_type) or JSON
    if media not in BODY_TYPES:
        raise _unsupported(BODY_TYPES)
    return media


BODY_TYPES = (JSON, YAML, PROTOBUF)


class BodyError(BadRequest):
    """A body the decoder could not read at all; the message is the decoder's own text."""


def decode_object(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a create/update body (JSON, YAML or protobuf) into a JSON object.

    ``UnsupportedMediaType`` for a media type no serializer reads; ``BodyError`` with
    the words kube-apiserver's decoder uses for a body that is not what it claims to be.
    """
    media = body_media_type(content_type)
    if media == PROTOBUF:
        try:
            return decode_body(body)
        except ProtobufError as err:
            raise BodyError(str(err)) from err
    if media == YAML:
        return _object_from(yaml_to_json(body))
    return _object_from(body)


def _object_from(data: bytes) -> dict[str, Any]:
    """What the JSON serializer's ``Interpret`` makes of ``data``: an object with a gvk."""
    value = parse_json(data, prefix="couldn't get version/kind; json parse error: ")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BodyError(
            "couldn't get version/kind; json parse error: json: cannot unmarshal "
            f"{gojson.json_type(value)} into Go value of type {_FIND_KIND}"
        )
    for key in ("apiVersion", "kind"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise BodyError(
                "couldn't get version/kind; json parse error: json: cannot unmarshal "
                f"{gojson.json_type(value[key])} into Go struct field .{key} of type string"
            )
    return value


# The anonymous struct apimachinery's SimpleMetaFactory decodes apiVersion and kind into.
_FIND_KIND = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")  # Go has no NaN or Infinity


def parse_json(data: bytes, *, prefix: str = "") -> Any:
    """Parse JSON as Go does; a ``BodyError`` carries Go's syntax error after ``prefix``.

    The C parser goes first: Go's scanner, replayed in Python (``gojson``) to word the
    error as Go does, is 30 times slower and only runs for a body that failed to parse.
    """
    try:
        return json.loads(data.decode("utf-8", "replace"), parse_constant=_reject_constant)
    except ValueError as err:
        fault = gojson.syntax_error(data)
        raise BodyError(prefix + (fault if fault is not None else str(err))) from err


def patch_type(content_type: str | None) -> PatchType:
    """The patch type named by Content-Type; 415 (listing the four served) otherwise."""
    media = media_type(content_type)
    if media not in PATCH_TYPES:
        raise _unsupported(PATCH_TYPES)
    return PatchType(media)


def _unsupported(accepted: tuple[str, ...]) -> UnsupportedMediaType:
    """The 415 naming the media types this body could have had."""
    return UnsupportedMediaType(
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted)
    )


# What the real server accepts for built-in kinds (CBOR apply is behind a feature gate).
PATCH_TYPES = (
    PatchType.JSON_PATCH.value,
    PatchType.MERGE.value,
    PatchType.STRATEGIC.value,
    PatchType.APPLY_YAML.value,
)


def decode_patch(body: bytes, kind: PatchType, *, strict: bool = False) -> Any:
    """Decode a patch body; JSON patches are lists, the others objects.

    Errors are the patch handler's: a strict decode (``fieldValidation`` Strict or Warn)
    prefixes ``error decoding patch:``, the strategic decoder reports Go's text as is.
    """
    if kind is PatchType.APPLY_YAML:
        try:
            value = json.loads(yaml_to_json(body))
        except BodyError as err:
            raise BadRequest(f"error decoding patch: error converting YAML to JSON: {err}") from err
        if value is not None and not isinstance(value, dict):
            raise BadRequest(
                "error decoding patch: error unmarshaling JSON: while decoding JSON: json: "
                f"cannot unmarshal {gojson.json_type(value)} into Go value of type "
                "map[string]interface {}"
            )
        return value or {}
    # Strict decoding of merge and JSON patches says where it failed; the others do not.
    strict_json = strict and kind is not PatchType.STRATEGIC
    prefix = "error decoding patch: " if strict_json else ""
    try:
        value = parse_json(body)
    except BodyError as err:
        if kind is PatchType.MERGE and not strict:
            raise BadRequest("Invalid JSON Patch") from err
        raise BadRequest(prefix + err.message) from err
    if kind is PatchType.JSON_PATCH:
        if not isinstance(value, list):
            target = "[]handlers.jsonPatchOp" if strict else "jsonpatch.Patch"
            raise BadRequest(
                f"{prefix}json: cannot unmarshal {gojson.json_type(value)} into Go value of "
                f"type {target}"
            )
        return value
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(
            f"{prefix}json: cannot unmarshal {gojson.json_type(value)} into Go value of type "
            "map[string]interface {}"
        )
    return value


def yaml_to_json(body: bytes) -> bytes:
    """sigs.k8s.io/yaml's ``YAMLToJSON``: the first document as JSON; ``BodyError`` if not YAML."""
    try:
        loader = _Loader(body)
        # go-yaml leaves timestamps in untyped documents as the strings they are.
        loader.yaml_constructors = {
            **loader.yaml_constructors,
            _TIMESTAMP: type(loader).construct_yaml_str,
        }
        try:
            value = loader.get_data() if loader.check_data() else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        raise BodyError(_go_yaml_error(err)) from err
    except yaml.YAMLError as err:
        raise BodyError(f"yaml: {err}") from err
    try:
        return json.dumps(_jsonable(value), allow_nan=False).encode()
    except ValueError as err:
        raise BodyError("json: unsupported value: " + _go_float(value)) from err


def _go_yaml_error(err: yaml.MarkedYAMLError) -> str:
    """go-yaml's ``parser.fail`` text: ``yaml: line N: <problem>``."""
    problem = err.problem or "unknown problem parsing YAML content"
    line = 0
    if err.problem_mark is not None and err.problem_mark.line:
        line = err.problem_mark.line + (1 if isinstance(err, yaml.scanner.ScannerError) else 0)
    elif err.context_mark is not None and err.context_mark.line:
        line = err.context_mark.line
    return f"yaml: line {line}: {problem}" if line else f"yaml: {problem}"


def _jsonable(value: Any) -> Any:
    """YAML values as JSON has them: string keys, sets as maps, bytes as text."""
    if isinstance(value, dict):
        return {_yaml_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, set):
        return {_yaml_key(k): None for k in value}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _yaml_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _go_float(value: Any) -> str:
    """The first non-finite float in ``value``, as Go prints it (``+Inf``, ``NaN``)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "NaN" if math.isnan(item) else ("+Inf" if item > 0 else "-Inf")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return "NaN"
