"""Label selectors: apimachinery's ``labels.Parse`` grammar and ``LabelSelectorAsSelector``.

Owns parsing (``a=b,c in (d,e),!f``), the requirement rules of ``labels.NewRequirement``
(key and value syntax, operator arity) and matching. The lexer and the recursive-descent
parser follow the Go code step by step because the server's error texts come out of those
steps (``found ',', expected: identifier after ','``), and kubectl shows them verbatim.
Errors are ``ValueError`` internally and ``BadRequest`` at the public entry points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kubeproc.api.errors import BadRequest, format_value

# -- key and value syntax (apimachinery util/validation, v0.33) -----------------------------

_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_VALUE_FMT = f"({_NAME_FMT})?"
_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _DNS_LABEL + "(\\." + _DNS_LABEL + ")*"
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # Go's RegexError, including its double space before "or".
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _name_errors(value: str) -> list[str]:
    """``validation.IsQualifiedName``: an optional DNS-subdomain prefix, then a name."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errs: list[str] = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > 253:
                errs.append("prefix part must be no more than 253 characters")
            if not re.fullmatch(_SUBDOMAIN_FMT, prefix):
                errs.append(
                    "prefix part " + _regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT, "example.com")
                )
    name = parts[-1]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errs.append("name part must be no more than 63 characters")
    if not re.fullmatch(_NAME_FMT, name):
        errs.append(
            "name part " + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def _value_errors(value: str) -> list[str]:
    errs: list[str] = []
    if len(value.encode()) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(_VALUE_FMT, value):
        errs.append(_regex_error(_VALUE_MSG, _VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _invalid(path: str, value: str | list[str], detail: str) -> str:
    """A ``field.Invalid`` error's text; an empty list prints as Go's nil slice does."""
    shown = "[]string(nil)" if value == [] else format_value(value)
    return f"{path}: Invalid value: {shown}: {detail}"


def _aggregate(errors: list[str]) -> str:
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


# -- requirements --------------------------------------------------------------------------

# Operators are apimachinery's ``selection.Operator`` words: "!" is DoesNotExist.
_BINARY = ("in", "notin", "=", "==", "!=", "gt", "lt")
_SHOWN = {"=": "=", "==": "==", "!=": "!=", "gt": ">", "lt": "<"}


def _arity_error(operator: str, values: list[str]) -> list[str]:
    if operator in ("in", "notin") and not values:
        detail = "for 'in', 'notin' operators, values set can't be empty"
    elif operator in ("=", "==", "!=") and len(values) != 1:
        detail = "exact-match compatibility requires one single value"
    elif operator in ("exists", "!") and values:
        detail = "values set must be empty for exists and does not exist"
    elif operator in ("gt", "lt"):
        errs = [
            _invalid(f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer")
            for i, v in enumerate(values)
            if not _INTEGER.fullmatch(v)
        ]
        if len(values) != 1:
            detail = "for 'Gt', 'Lt' operators, exactly one value is required"
            errs.insert(0, _invalid("values", values, detail))
        return errs
    else:
        return []
    return [_invalid("values", values, detail)]


@dataclass(frozen=True)
class Requirement:
    """One term: ``key``, an operator word, and its values."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def new(cls, key: str, operator: str, values: list[str]) -> Requirement:
        """``labels.NewRequirement``: validate everything, then build (``ValueError``)."""
        errs: list[str] = []
        if key_errs := _name_errors(key):
            errs.append(_invalid("key", key, "; ".join(key_errs)))
        errs.extend(_arity_error(operator, values))
        for i, v in enumerate(values):
            if val_errs := _value_errors(v):
                errs.append(_invalid(f"values[{i}][{key}]", v, "; ".join(val_errs)))
        if errs:
            raise ValueError(_aggregate(errs))
        return cls(key, operator, tuple(values))

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.operator in ("in", "=", "=="):
            return present and value in self.values
        if self.operator in ("notin", "!="):
            return not present or value not in self.values
        if self.operator in ("exists", "!"):
            return present == (self.operator == "exists")
        if not present or not _INTEGER.fullmatch(value) or len(self.values) != 1:
            return False
        wanted = int(self.values[0])
        return int(value) > wanted if self.operator == "gt" else int(value) < wanted

    def __str__(self) -> str:
        if self.operator in ("exists", "!"):
            return ("!" if self.operator == "!" else "") + self.key
        values = ",".join(sorted(self.values))
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({values})"
        return f"{self.key}{_SHOWN[self.operator]}{values}"


# -- lexer and parser (labels.Lexer / labels.Parser) ----------------------------------------

_KEYWORDS = frozenset({")", ",", "!", "==", "=", ">", "in", "<", "!=", "notin", "("})
_SPECIAL = frozenset("=!(),><")
_SPACE = frozenset(" \t\r\n")
IDENT, END = "<ident>", "<end>"


def _lex(text: str) -> list[tuple[str, str]]:
    """(kind, literal) pairs; a keyword's kind is itself. Always ends with one END."""
    items: list[tuple[str, str]] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in _SPACE:
            pos += 1
        if pos >= n:
            return [*items, (END, "")]
        start = pos
        if text[pos] in _SPECIAL:
            # The longest keyword among the leading symbols ("!=" over "!"); every single
            # symbol is a keyword, so the lexer's error token cannot occur.
            best = text[pos]
            while pos + 1 < n and text[pos + 1] in _SPECIAL:
                if text[start : pos + 2] not in _KEYWORDS:
                    break
                pos += 1
                best = text[start : pos + 1]
            pos = start + len(best)
            items.append((best, best))
            continue
        while pos < n and text[pos] not in _SPECIAL and text[pos] not in _SPACE:
            pos += 1
        word = text[start:pos]
        items.append((word if word in _KEYWORDS else IDENT, word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> tuple[str, str]:
        kind, lit = self.items[self.pos]
        # Where a value may stand, "in" and "notin" are ordinary words.
        return (IDENT, lit) if values and kind in ("in", "notin") else (kind, lit)

    def take(self, values: bool = True) -> tuple[str, str]:
        item = self.peek(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.peek()
            if kind == END:
                return reqs
            if kind not in (IDENT, "!"):
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except ValueError as err:
                raise ValueError(f"unable to parse requirement: {err}") from None
            kind, lit = self.take()
            if kind == END:
                return reqs
            if kind != ",":
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            kind, lit = self.peek()
            if kind not in (IDENT, "!"):
                raise ValueError(f"found '{lit}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        kind, key = self.take()
        negated = kind == "!"
        if negated:
            kind, key = self.take()
        if kind != IDENT:
            raise ValueError(f"found '{key}', expected: identifier")
        if errs := _name_errors(key):
            # The parser validates with a nil field path, which Go prints as "<nil>".
            raise ValueError(_invalid("<nil>", key, "; ".join(errs)))
        if negated or self.peek()[0] in (END, ","):
            return Requirement.new(key, "!" if negated else "exists", [])
        kind, lit = self.take(values=False)
        operator = {">": "gt", "<": "lt"}.get(kind, kind)
        if operator not in _BINARY:
            raise ValueError(f"found '{lit}', expected: {', '.join(_BINARY)}")
        values = self.value_set() if operator in ("in", "notin") else self.exact_value()
        return Requirement.new(key, operator, sorted(values))

    def value_set(self) -> set[str]:
        kind, lit = self.take()
        if kind != "(":
            raise ValueError(f"found '{lit}' expected: '('")
        kind, lit = self.peek()
        if kind == ")":
            self.take()
            return {""}
        if kind not in (IDENT, ","):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:
            kind, word = self.take()
            if kind not in (IDENT, ","):
                raise ValueError(f"found '{word}', expected: ',', or identifier")
            next_kind, next_lit = self.peek()
            if kind == IDENT:
                values.add(word)
                if next_kind not in (",", ")"):
                    raise ValueError(f"found '{next_lit}', expected: ',' or ')'")
            elif not values or next_kind in (",", ")"):
                # "(,a", "a,,b" and "a,)" each hold an empty value (v1.33 leaves the
                # second comma of ",," for the next round, so "(a,,)" parses too).
                values.add("")
            if next_kind == ")":
                self.take()
                return values

    def exact_value(self) -> set[str]:
        if self.peek()[0] in (END, ","):
            return {""}
        kind, lit = self.take()
        if kind == IDENT:
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


# -- selectors -----------------------------------------------------------------------------

_OBJECT_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def _object_requirements(obj: dict[str, Any]) -> list[Requirement]:
    reqs = [
        Requirement.new(str(key), "=", [str(value)])
        for key, value in sorted((obj.get("matchLabels") or {}).items())
    ]
    for expr in obj.get("matchExpressions") or []:
        op = str(expr.get("operator", ""))
        if op not in _OBJECT_OPS:
            raise ValueError(f"{format_value(op)} is not a valid label selector operator")
        values = [str(v) for v in expr.get("values") or []]
        reqs.append(Requirement.new(str(expr.get("key", "")), _OBJECT_OPS[op], values))
    return reqs


@dataclass(frozen=True)
class LabelSelector:
    """Requirements sorted by key, all of which must hold; no requirements match all."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """``labels.Parse``; raises ``BadRequest`` with the server's message."""
        try:
            reqs = _Parser(text).parse()
        except ValueError as err:
            raise BadRequest(str(err)) from None
        return cls(tuple(sorted(reqs, key=lambda r: r.key)))

    @classmethod
    def from_label_selector_object(cls, obj: dict[str, Any]) -> LabelSelector:
        """``metav1.LabelSelectorAsSelector`` for a present ``metav1.LabelSelector``.

        ``{}`` matches everything; an absent selector (which Kubernetes treats as
        matching nothing) is the caller's case. Raises ``BadRequest`` when invalid.
        """
        try:
            reqs = _object_requirements(obj)
        except ValueError as err:
            raise BadRequest(str(err)) from None
        return cls(tuple(sorted(reqs, key=lambda r: r.key)))

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: dict[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def selector_string(obj: dict[str, Any] | None) -> str:
    """``LabelSelectorAsSelector(sel).String()``: ``""`` when absent or empty."""
    if obj is None:
        return ""
    return str(LabelSelector.from_label_selector_object(obj))


def format_labels(labels: dict[str, str] | None) -> str:
    """``labels.FormatLabels``: sorted ``k=v`` pairs, or ``<none>``."""
    return ",".join(sorted(f"{k}={v}" for k, v in (labels or {}).items())) or "<none>"
