"""Resource quantities (``resource.Quantity``): parse, compare, print canonically.

Validation compares requests with limits and quotes quantities in messages; defaulting
rounds them up to milli-units and stores them in canonical form, which is what
``kubectl get -o yaml`` shows (``0.5`` becomes ``500m``, ``1024Mi`` becomes ``1Gi``).
Values are exact ``Fraction``s so comparisons never suffer float rounding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)

_SPLIT_RE = re.compile(r"([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)")
_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_POWER = {0: "", **{v: k for k, v in _BINARY_SUFFIXES.items()}}


class Format(StrEnum):
    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    format: Format

    def __str__(self) -> str:
        return canonical(self)


def parse_quantity(text: object) -> Quantity | None:
    """A quantity from its JSON form (a string, or a bare number); ``None`` if malformed."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        text = repr(text) if isinstance(text, float) else str(text)
    if not isinstance(text, str):
        return None
    m = _SPLIT_RE.fullmatch(text)
    if m is None:
        return None
    number, suffix = m.groups()
    try:
        base = Fraction(number)
    except (ValueError, ZeroDivisionError):
        return None
    if suffix in _DECIMAL_SUFFIXES:
        return Quantity(base * Fraction(10) ** _DECIMAL_SUFFIXES[suffix], Format.DECIMAL_SI)
    if suffix in _BINARY_SUFFIXES:
        return Quantity(base * 1024 ** _BINARY_SUFFIXES[suffix], Format.BINARY_SI)
    if len(suffix) > 1 and suffix[0] in "eE":
        try:
            exp = int(suffix[1:])
        except ValueError:
            return None
        return Quantity(base * Fraction(10) ** exp, Format.DECIMAL_EXPONENT)
    return None


def round_up_milli(q: Quantity) -> Quantity:
    """``SetDefaults_ResourceList``: round away from zero to milli precision."""
    scaled = q.value * 1000
    if scaled.denominator == 1:
        return q
    whole = (
        -((-scaled.numerator) // scaled.denominator)
        if scaled > 0
        else scaled.numerator // scaled.denominator
    )
    return Quantity(Fraction(whole, 1000), q.format)


def _decimal_parts(value: Fraction) -> tuple[int, int]:
    """(mantissa, exponent) with the exponent a multiple of 3, as Go's AsCanonicalBytes."""
    exponent = 0
    while value.denominator != 1:
        value *= 10
        exponent -= 1
    mantissa = value.numerator
    while mantissa != 0 and mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    shift = exponent % 3
    mantissa *= 10**shift
    return mantissa, exponent - shift


def canonical(q: Quantity) -> str:
    """Go's ``Quantity.String()``."""
    if q.value == 0:
        return "0"
    sign = "-" if q.value < 0 else ""
    magnitude = abs(q.value)
    fmt = q.format
    if fmt is Format.BINARY_SI and (magnitude < 1024 or magnitude.denominator != 1):
        fmt = Format.DECIMAL_SI
    if fmt is Format.BINARY_SI:
        mantissa, power = magnitude.numerator, 0
        while mantissa % 1024 == 0 and power < 6:
            mantissa //= 1024
            power += 1
        return f"{sign}{mantissa}{_BINARY_BY_POWER[power]}"
    mantissa, exponent = _decimal_parts(magnitude)
    if fmt is Format.DECIMAL_SI and exponent in _DECIMAL_BY_EXP:
        return f"{sign}{mantissa}{_DECIMAL_BY_EXP[exponent]}"
    return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")
