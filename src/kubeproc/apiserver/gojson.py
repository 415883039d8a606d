"""Go's ``encoding/json`` syntax errors, byte for byte, for bodies that are not JSON.

kube-apiserver reads the apiVersion and kind of every JSON body with ``encoding/json``
before anything else, and a body that does not parse is answered with that library's
own words (``invalid character '}' looking for beginning of object key string``,
``unexpected end of JSON input``). Python's ``json`` says the same thing differently, so
this module runs Go's scanner (``encoding/json/scanner.go``) over the bytes: the same
states, the same first failing byte, the same text. Pure; ``media`` calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, auto

_SPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = frozenset(b'bfnrt\\/"')
# strconv.Quote's short escapes, for the characters an error message quotes.
_SHORT = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}


class _Parse(Enum):
    OBJECT_KEY = auto()
    OBJECT_VALUE = auto()
    ARRAY_VALUE = auto()


class SyntaxFault(Exception):
    """The first syntax error, as ``encoding/json`` words it."""


def quote_char(c: int) -> str:
    """``encoding/json``'s ``quoteChar``: how an offending byte is shown."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    if c in _SHORT:
        return f"'{_SHORT[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    if 0x80 <= c <= 0xA0 or c == 0xAD:  # C1 controls, NBSP, soft hyphen: not printable
        return f"'\\u{c:04x}'"
    return f"'{chr(c)}'"


State = Callable[[int], None]


class _Scanner:
    """A transcription of Go's scanner: one state function per byte."""

    def __init__(self) -> None:
        self.step: State = self.begin_value
        self.stack: list[_Parse] = []
        self.end_top = False

    @staticmethod
    def fail(c: int, context: str) -> SyntaxFault:
        return SyntaxFault(f"invalid character {quote_char(c)} {context}")

    def begin_value_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("]"):
            self.end_value(c)
            return
        self.begin_value(c)

    def begin_value(self, c: int) -> None:
        if c in _SPACE:
            return
        simple: dict[int, State] = {
            ord('"'): self.in_string,
            ord("-"): self.neg,
            ord("0"): self.zero,
            ord("t"): self.literal("true"),
            ord("f"): self.literal("false"),
            ord("n"): self.literal("null"),
        }
        if c == ord("{"):
            self.stack.append(_Parse.OBJECT_KEY)
            self.step = self.begin_string_or_empty
        elif c == ord("["):
            self.stack.append(_Parse.ARRAY_VALUE)
            self.step = self.begin_value_or_empty
        elif c in simple:
            self.step = simple[c]
        elif ord("1") <= c <= ord("9"):
            self.step = self.one
        else:
            raise self.fail(c, "looking for beginning of value")

    def begin_string_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("}"):
            self.stack[-1] = _Parse.OBJECT_VALUE
            self.end_value(c)
            return
        self.begin_string(c)

    def begin_string(self, c: int) -> None:
        if c in _SPACE:
            return
        if c != ord('"'):
            raise self.fail(c, "looking for beginning of object key string")
        self.step = self.in_string

    def end_value(self, c: int) -> None:
        if not self.stack:
            self.step = self.end_top_state
            self.end_top = True
            self.end_top_state(c)
            return
        if c in _SPACE:
            self.step = self.end_value
            return
        top = self.stack[-1]
        if top is _Parse.OBJECT_KEY:
            if c != ord(":"):
                raise self.fail(c, "after object key")
            self.stack[-1] = _Parse.OBJECT_VALUE
            self.step = self.begin_value
        elif top is _Parse.OBJECT_VALUE:
            if c == ord(","):
                self.stack[-1] = _Parse.OBJECT_KEY
                self.step = self.begin_string
            elif c == ord("}"):
                self.pop()
            else:
                raise self.fail(c, "after object key:value pair")
        elif c == ord(","):
            self.step = self.begin_value
        elif c == ord("]"):
            self.pop()
        else:
            raise self.fail(c, "after array element")

    def pop(self) -> None:
        self.stack.pop()
        if not self.stack:
            self.end_top = True
            self.step = self.end_top_state
        else:
            self.step = self.end_value

    def end_top_state(self, c: int) -> None:
        if c not in _SPACE:
            raise self.fail(c, "after top-level value")

    def in_string(self, c: int) -> None:
        if c == ord('"'):
            self.step = self.end_value
        elif c == ord("\\"):
            self.step = self.in_string_escape
        elif c < 0x20:
            raise self.fail(c, "in string literal")

    def in_string_escape(self, c: int) -> None:
        if c in _ESCAPES:
            self.step = self.in_string
        elif c == ord("u"):
            self.step = self.unicode_escape(4)
        else:
            raise self.fail(c, "in string escape code")

    def unicode_escape(self, remaining: int) -> State:
        def state(c: int) -> None:
            if c not in _HEX:
                raise self.fail(c, "in \\u hexadecimal character escape")
            self.step = self.in_string if remaining == 1 else self.unicode_escape(remaining - 1)

        return state

    def neg(self, c: int) -> None:
        if c == ord("0"):
            self.step = self.zero
        elif ord("1") <= c <= ord("9"):
            self.step = self.one
        else:
            raise self.fail(c, "in numeric literal")

    def one(self, c: int) -> None:
        if c in _DIGITS:
            return
        self.zero(c)

    def zero(self, c: int) -> None:
        if c == ord("."):
            self.step = self.dot
        elif c in (ord("e"), ord("E")):
            self.step = self.exponent
        else:
            self.end_value(c)

    def dot(self, c: int) -> None:
        if c not in _DIGITS:
            raise self.fail(c, "after decimal point in numeric literal")
        self.step = self.dot_digits

    def dot_digits(self, c: int) -> None:
        if c in _DIGITS:
            return
        if c in (ord("e"), ord("E")):
            self.step = self.exponent
        else:
            self.end_value(c)

    def exponent(self, c: int) -> None:
        if c in (ord("+"), ord("-")):
            self.step = self.exponent_sign
            return
        self.exponent_sign(c)

    def exponent_sign(self, c: int) -> None:
        if c not in _DIGITS:
            raise self.fail(c, "in exponent of numeric literal")
        self.step = self.exponent_digits

    def exponent_digits(self, c: int) -> None:
        if c not in _DIGITS:
            self.end_value(c)

    def literal(self, word: str, at: int = 1) -> State:
        def state(c: int) -> None:
            if c != ord(word[at]):
                raise self.fail(c, f"in literal {word} (expecting {quote_char(ord(word[at]))})")
            self.step = self.end_value if at + 1 == len(word) else self.literal(word, at + 1)

        return state


def syntax_error(data: bytes) -> str | None:
    """What ``json.Unmarshal`` says about ``data``'s syntax; None when it is valid JSON."""
    scanner = _Scanner()
    try:
        for c in data:
            scanner.step(c)
        if not scanner.end_top:
            scanner.step(ord(" "))  # the scanner's eof(): a number may end here
    except SyntaxFault as fault:
        return str(fault)
    return None if scanner.end_top else "unexpected end of JSON input"


def json_type(value: object) -> str:
    """The JSON type name Go's ``UnmarshalTypeError`` reports a value as."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
