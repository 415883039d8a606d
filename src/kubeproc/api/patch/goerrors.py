"""Patch failures worded as the Go libraries behind kube-apiserver word them.

Owns the texts of ``k8s.io/apimachinery/pkg/util/mergepatch`` errors (they quote Go's
``%v`` rendering of the offending JSON, so that rendering lives here too) and the
translation the apiserver's patch handler makes to a ``Status``: a few are 400
BadRequest, some are a 422 with a generic message (``Unprocessable``), and the rest
reach the client as a reason-less 500 whose message is the error text itself.
``strategic`` and ``strategic_lists`` raise ``PatchError``; ``jsonpatch`` raises
``Unprocessable`` for operations that do not apply.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from kubeproc.api.errors import BadRequest, Invalid, StatusError

BAD_JSON_DOC = "invalid JSON document"
NO_LIST_OF_LISTS = "lists of lists are not supported"
BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"
CONTENT_NOT_MATCH_RETAIN_KEYS = "patch content doesn't match retainKeys list"

_BAD_REQUEST = frozenset({BAD_JSON_DOC, BAD_PRIMITIVE_LIST, BAD_RETAIN_KEYS, BAD_SET_ELEMENT_ORDER})
_UNPROCESSABLE = frozenset({NO_LIST_OF_LISTS, CONTENT_NOT_MATCH_RETAIN_KEYS})

# What NewGenericServerResponse says for any 422 (the detail is not passed on).
GENERIC_422 = "the server rejected our request due to an error in our request"


class Unprocessable(Invalid):
    """A 422 as ``NewGenericServerResponse`` builds it: only the generic message is sent.

    ``detail`` keeps the library's own explanation for logs and tests.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(GENERIC_422, details={})
        self.detail = detail


class Reason(Enum):
    BAD_REQUEST = "BadRequest"
    UNPROCESSABLE = "Unprocessable"
    UNKNOWN = "Unknown"


class PatchError(Exception):
    """A strategic merge patch that cannot be applied, with apimachinery's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def reason(self) -> Reason:
        if self.message in _BAD_REQUEST:
            return Reason.BAD_REQUEST
        if self.message in _UNPROCESSABLE:
            return Reason.UNPROCESSABLE
        return Reason.UNKNOWN

    def to_status_error(self) -> StatusError:
        """The error kube-apiserver's ``interpretStrategicMergePatchError`` answers with."""
        if self.reason is Reason.BAD_REQUEST:
            return BadRequest(self.message)
        if self.reason is Reason.UNPROCESSABLE:
            return Unprocessable(self.message)
        # Not a Status error: the handler sends a 500 with no reason and this message.
        return StatusError(self.message)


def go_value(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value (``map[a:1 b:[x y]]``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    # strconv.FormatFloat(f, 'g', -1, 64) as %v prints it, for the common cases.
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
    return text


def go_type(value: Any) -> str:
    """``reflect.TypeOf(v).String()`` for a decoded JSON value."""
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "[]interface {}"


def go_equal(a: Any, b: Any) -> bool:
    """Go's ``==`` on two ``interface{}`` holding JSON scalars (types must match)."""
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return type(a) is type(b) and a == b


def bad_arg_type(expected: str, actual: Any) -> PatchError:
    return PatchError(f"expected a {expected}, but received a {go_type(actual)}")


def no_merge_key(item: dict[str, Any], key: str) -> PatchError:
    return PatchError(f"map: {go_value(item)} does not contain declared merge key: {key}")


def bad_patch_type(directive: Any, item: dict[str, Any]) -> PatchError:
    return PatchError(f"unknown patch type: {go_value(directive)} in map: {go_value(item)}")


def not_json_object(patch: Any) -> BadRequest:
    """What decoding a non-object body into ``map[string]interface{}`` reports."""
    kind = {bool: "bool", int: "number", float: "number", str: "string", list: "array"}
    name = "null" if patch is None else kind.get(type(patch), json.dumps(patch)[:1])
    return BadRequest(
        f"json: cannot unmarshal {name} into Go value of type map[string]interface {{}}"
    )
