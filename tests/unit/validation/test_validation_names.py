"""String-format rules: the exact messages of apimachinery v1.36, including its quirks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kubeproc.api.validation import names
from kubeproc.api.validation.quantity import Format, canonical, parse_quantity, round_up_milli

LABEL_REGEX = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_REGEX = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035_REGEX = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_REGEX = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_REGEX = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

CASES: list[tuple[Callable[[str], list[str]], str, list[str]]] = [
    (names.is_dns1123_label, "web-1", []),
    (names.is_dns1123_label, "Web", [LABEL_REGEX]),
    (names.is_dns1123_label, "a.b", ["must not contain dots"]),
    (names.is_dns1123_label, "a" * 64, ["must be no more than 63 characters"]),
    (names.is_dns1123_subdomain, "a.b-c.d", []),
    (names.is_dns1123_subdomain, "a_b", [SUBDOMAIN_REGEX]),
    (names.is_dns1123_subdomain, "a" * 254, ["must be no more than 253 characters"]),
    (names.is_dns1035_label, "1abc", [DNS1035_REGEX]),
    (names.is_dns1035_label, "abc", []),
    (names.is_qualified_name, "example.com/My.Name_1", []),
    (names.is_qualified_name, "-bad", [NAME_PART_REGEX]),
    (names.is_qualified_name, "/x", ["prefix part must be non-empty"]),
    (names.is_qualified_name, "x/", ["name part must be non-empty", NAME_PART_REGEX]),
    (names.is_qualified_name, "a" * 64, ["name part must be no more than 63 bytes"]),
    (names.is_label_value, "", []),
    (names.is_label_value, "-x", [LABEL_VALUE_REGEX]),
    (names.is_label_value, "v" * 64, ["must be no more than 63 bytes"]),
    (names.is_valid_port_name, "http", []),
    (names.is_valid_port_name, "8080", ["must contain at least one letter (a-z)"]),
    (
        names.is_c_identifier,
        "1x",
        [
            "a valid C identifier must start with alphabetic character or '_', followed by a "
            "string "
            "of alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex "
            "used for validation is '[A-Za-z_][A-Za-z0-9_]*')"
        ],
    ),
    (names.is_relaxed_env_var_name, "MY VAR.1", []),
    (
        names.is_relaxed_env_var_name,
        "A=B",
        [
            "a valid environment variable name must consist only of printable ASCII characters "
            "other than '='"
        ],
    ),
    (names.is_config_map_key, "..x", ["must not start with '..'"]),
    (names.is_valid_percent, "25%", []),
    (names.is_valid_ip, "10.0.0.1", []),
    (names.is_valid_ip, "10.0.0.01", ["must not have leading 0s"]),
    (names.is_valid_ip, "nope", ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]),
    (names.is_valid_ip, "2001:DB8::1", ['must be in canonical form ("2001:db8::1")']),
    (names.is_valid_cidr, "10.0.0.0/8", []),
    (names.is_valid_cidr, "10.0.0.1/8", ["must not have bits set beyond the prefix length"]),
    (names.is_path_segment_name, "..", ["may not be '..'"]),
    (names.is_path_segment_name, "a/b%c", ["may not contain '/'", "may not contain '%'"]),
]


@pytest.mark.parametrize(
    ("check", "value", "expected"), CASES, ids=[f"{c.__name__}:{v[:12]}" for c, v, _ in CASES]
)
def test_format_rule_returns_apimachinery_messages(
    check: Callable[[str], list[str]], value: str, expected: list[str]
) -> None:
    """Each rule returns Go's messages, in Go's order, and nothing for a valid value."""
    assert check(value) == expected


def test_port_number_range_message() -> None:
    """Port numbers outside 1..65535 get the inclusive-range message; valid ones none."""
    assert names.is_valid_port_num(0) == ["must be between 1 and 65535, inclusive"]
    assert names.is_valid_port_num(65535) == []


QUANTITIES = [
    ("500m", "500m"),
    ("0.5", "500m"),
    ("1000m", "1"),
    ("1.5", "1500m"),
    ("2000", "2k"),
    ("1024Mi", "1Gi"),
    ("1.5Gi", "1536Mi"),
    ("100Ki", "100Ki"),
    ("512", "512"),
    ("1e3", "1e3"),
    ("0", "0"),
]


@pytest.mark.parametrize(("text", "expected"), QUANTITIES)
def test_quantity_prints_in_canonical_form(text: str, expected: str) -> None:
    """Quantities print as Go's ``Quantity.String()``: largest exact suffix of their format."""
    q = parse_quantity(text)
    assert q is not None
    assert canonical(q) == expected


def test_quantity_rounds_up_to_milli_units() -> None:
    """Defaulting rounds sub-milli values away from zero (``0.0001`` becomes ``1m``)."""
    q = parse_quantity("0.0001")
    assert q is not None
    assert canonical(round_up_milli(q)) == "1m"
    assert q.format is Format.DECIMAL_SI


def test_malformed_quantity_does_not_parse() -> None:
    """Text that is not a quantity is refused rather than guessed at."""
    assert parse_quantity("1 Gi") is None
    assert parse_quantity("lots") is None
