"""The API error tree: every failure a client can see, as a Kubernetes ``Status``.

Owns the one translation from a failure to the wire: each ``StatusError`` renders the
``Status`` body a real API server sends (reason, code, message, details), because kubectl
prints errors from ``reason`` and ``details`` and users match on that text. Field errors
follow apimachinery's ``field.Error`` formatting exactly (``<path>: <Type>: <detail>``).
No I/O here; the apiserver turns a ``StatusError`` into an HTTP response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class FieldErrorType(StrEnum):
    """apimachinery's ``field.ErrorType``: the words shown and the cause reason sent."""

    NOT_FOUND = "Not found"
    REQUIRED = "Required value"
    DUPLICATE = "Duplicate value"
    INVALID = "Invalid value"
    NOT_SUPPORTED = "Unsupported value"
    FORBIDDEN = "Forbidden"
    TOO_LONG = "Too long"
    TOO_MANY = "Too many"
    INTERNAL = "Internal error"

    @property
    def cause_reason(self) -> str:
        return _CAUSE_REASONS[self]


_CAUSE_REASONS = {
    FieldErrorType.NOT_FOUND: "FieldValueNotFound",
    FieldErrorType.REQUIRED: "FieldValueRequired",
    FieldErrorType.DUPLICATE: "FieldValueDuplicate",
    FieldErrorType.INVALID: "FieldValueInvalid",
    FieldErrorType.NOT_SUPPORTED: "FieldValueNotSupported",
    FieldErrorType.FORBIDDEN: "FieldValueForbidden",
    FieldErrorType.TOO_LONG: "FieldValueTooLong",
    FieldErrorType.TOO_MANY: "FieldValueTooMany",
    FieldErrorType.INTERNAL: "InternalError",
}

# Types whose body never shows the bad value (apimachinery's ErrorBody).
_VALUELESS = frozenset(
    {
        FieldErrorType.REQUIRED,
        FieldErrorType.FORBIDDEN,
        FieldErrorType.TOO_LONG,
        FieldErrorType.INTERNAL,
    }
)

_OMIT = object()


def format_value(value: object) -> str:
    """Render a bad value as Go's ``%v``/``%q``/``%#v`` would in a field error."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    # Since v1.34 lists and objects are printed as JSON; Go keeps struct field order,
    # which dict insertion order follows.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error``: a path, a type, the bad value and a detail."""

    type: FieldErrorType
    path: str
    value: object = _OMIT
    detail: str = ""

    def body(self) -> str:
        """The text after ``<path>: `` (apimachinery's ``ErrorBody``)."""
        if self.type in _VALUELESS or self.value is _OMIT:
            text = str(self.type)
        else:
            text = f"{self.type}: {format_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.path}: {self.body()}"

    def cause(self) -> dict[str, str]:
        return {"reason": self.type.cause_reason, "message": self.body(), "field": self.path}


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(FieldErrorType.REQUIRED, path, detail=detail)


def invalid(path: str, value: object, detail: str = "") -> FieldError:
    return FieldError(FieldErrorType.INVALID, path, value, detail)


def forbidden(path: str, detail: str = "") -> FieldError:
    return FieldError(FieldErrorType.FORBIDDEN, path, detail=detail)


def not_supported(path: str, value: object, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported)
    return FieldError(FieldErrorType.NOT_SUPPORTED, path, value, detail)


def duplicate(path: str, value: object) -> FieldError:
    return FieldError(FieldErrorType.DUPLICATE, path, value)


def not_found(path: str, value: object) -> FieldError:
    return FieldError(FieldErrorType.NOT_FOUND, path, value)


def too_long(path: str, max_length: int) -> FieldError:
    detail = f"may not be more than {max_length} bytes" if max_length >= 0 else ""
    return FieldError(FieldErrorType.TOO_LONG, path, detail=detail)


def aggregate(errors: list[FieldError]) -> str:
    """apimachinery's aggregate: one error plain, several in ``[a, b]``."""
    texts: list[str] = []
    for err in errors:
        text = str(err)
        if text not in texts:
            texts.append(text)
    if len(texts) == 1:
        return texts[0]
    return "[" + ", ".join(texts) + "]"


@dataclass(frozen=True)
class GroupResource:
    """A resource as named in error messages: ``pods`` or ``deployments.apps``."""

    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


class StatusError(Exception):
    """A failure with a Kubernetes ``Status`` body. Subclasses fix reason and code."""

    reason: ClassVar[str] = ""
    code: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(gr: GroupResource, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if gr.group:
        details["group"] = gr.group
    details["kind"] = gr.resource
    return details


class BadRequest(StatusError):
    reason = "BadRequest"
    code = 400


class Unauthorized(StatusError):
    reason = "Unauthorized"
    code = 401


class Forbidden(StatusError):
    reason = "Forbidden"
    code = 403


class NotFound(StatusError):
    reason = "NotFound"
    code = 404

    @classmethod
    def of(cls, gr: GroupResource, name: str) -> NotFound:
        return cls(f'{gr} "{name}" not found', details=_details(gr, name))


class MethodNotAllowed(StatusError):
    reason = "MethodNotAllowed"
    code = 405


class NotAcceptable(StatusError):
    reason = "NotAcceptable"
    code = 406


class AlreadyExists(StatusError):
    reason = "AlreadyExists"
    code = 409

    @classmethod
    def of(cls, gr: GroupResource, name: str) -> AlreadyExists:
        return cls(f'{gr} "{name}" already exists', details=_details(gr, name))


class Conflict(StatusError):
    reason = "Conflict"
    code = 409

    @classmethod
    def modified(cls, gr: GroupResource, name: str) -> Conflict:
        return cls(
            f'Operation cannot be fulfilled on {gr} "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            details=_details(gr, name),
        )


class Gone(StatusError):
    """410 for a watch or list from a compacted resourceVersion (reason Expired)."""

    reason = "Expired"
    code = 410


class RequestEntityTooLarge(StatusError):
    reason = "RequestEntityTooLarge"
    code = 413


class UnsupportedMediaType(StatusError):
    reason = "UnsupportedMediaType"
    code = 415


class Invalid(StatusError):
    reason = "Invalid"
    code = 422

    @classmethod
    def of(cls, kind: str, group: str, name: str, errors: list[FieldError]) -> Invalid:
        qualified = f"{kind}.{group}" if group else kind
        details: dict[str, Any] = {"name": name}
        if group:
            details["group"] = group
        details["kind"] = kind
        details["causes"] = [e.cause() for e in errors]
        return cls(f'{qualified} "{name}" is invalid: {aggregate(errors)}', details=details)


class TooManyRequests(StatusError):
    reason = "TooManyRequests"
    code = 429


class InternalError(StatusError):
    reason = "InternalError"
    code = 500

    @classmethod
    def wrap(cls, err: BaseException) -> InternalError:
        text = str(err) or type(err).__name__
        return cls(
            f"Internal error occurred: {text}",
            details={"causes": [{"message": text}]},
        )


class ServiceUnavailable(StatusError):
    reason = "ServiceUnavailable"
    code = 503


class Timeout(StatusError):
    reason = "Timeout"
    code = 504


@dataclass(frozen=True)
class FieldErrors:
    """An accumulator used by validation: collect, then raise ``Invalid`` once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, err: FieldError) -> None:
        self.errors.append(err)

    def extend(self, errs: list[FieldError]) -> None:
        self.errors.extend(errs)

    def __bool__(self) -> bool:
        return bool(self.errors)
