"""Field paths and tolerant readers over the JSON objects validation walks.

Validation works on plain decoded JSON, where any field may be missing or of the wrong
type; the readers here turn "absent or wrong type" into the zero value Go's decoder would
leave, so each rule reads like its Go counterpart. Paths are rendered exactly as
apimachinery's ``field.Path`` prints them (``a.b[0][key]``), because users read them.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, FieldErrorType


def child(base: str, *names: str) -> str:
    """``base.name`` (a bare ``name`` under the root)."""
    out = base
    for name in names:
        out = f"{out}.{name}" if out else name
    return out


def index(base: str, i: int) -> str:
    return f"{base}[{i}]"


def key(base: str, k: str) -> str:
    return f"{base}[{k}]"


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def as_int(value: object) -> int:
    """An integer field; booleans and floats with a fraction are not integers in JSON."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def opt_int(value: object) -> int | None:
    """A pointer-to-integer field: ``None`` when unset."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def str_map(value: object) -> dict[str, str]:
    """A ``map[string]string`` field (labels, selectors, annotations)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}


def json_list(values: list[Any]) -> tuple[Any, ...]:
    """A list bad value, rendered as v1.34+ does (JSON: ``["a","b"]``).

    ``errors.format_value`` prints Python lists in the pre-1.34 ``[]string{...}`` form;
    tuples go through its JSON branch, which is what the v1.36 server prints.
    """
    return tuple(values)


def too_many(path: str, actual: int, maximum: int) -> FieldError:
    """apimachinery's ``field.TooMany``."""
    unit = "item" if maximum == 1 else "items"
    return FieldError(FieldErrorType.TOO_MANY, path, actual, f"must have at most {maximum} {unit}")
