"""String-format rules with apimachinery's exact messages (v1.36).

Owns DNS-1123 labels and subdomains, DNS-1035 labels, qualified names (label keys),
label values, port names and numbers, C identifiers, environment variable names,
ConfigMap keys, HTTP header names, percentages, IPs and CIDRs. Each ``is_*`` returns the
list of violated-rule messages, as Go's ``validation.Is*`` does, so callers wrap each in a
``field.Invalid``. Two length wordings coexist on purpose: the older
``k8s.io/apimachinery/pkg/util/validation`` says "characters", the newer ``content``
package (label keys and values since v1.35) says "bytes".
"""

from __future__ import annotations

import ipaddress
import re

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_LABEL_US_FMT = "_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_US_FMT = _DNS1123_LABEL_US_FMT + "(\\." + _DNS1123_LABEL_US_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _LABEL_KEY_FMT + ")?"
_C_IDENTIFIER_FMT = "[A-Za-z_][A-Za-z0-9_]*"
_CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"
_HTTP_HEADER_NAME_FMT = "[-A-Za-z0-9]+"
_PERCENT_FMT = "[0-9]+%"

_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1123_SUBDOMAIN_US_RE = re.compile(_DNS1123_SUBDOMAIN_US_FMT)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)
_LABEL_KEY_RE = re.compile(_LABEL_KEY_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_C_IDENTIFIER_RE = re.compile(_C_IDENTIFIER_FMT)
_CONFIG_MAP_KEY_RE = re.compile(_CONFIG_MAP_KEY_FMT)
_HTTP_HEADER_NAME_RE = re.compile(_HTTP_HEADER_NAME_FMT)
_PERCENT_RE = re.compile(_PERCENT_FMT)
_PORT_NAME_CHARSET_RE = re.compile("[-a-z0-9]+")

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
LABEL_VALUE_MAX = 63
NOT_AN_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Go's ``RegexError``, including its double space before ``or``."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    text = msg + " (e.g. "
    for i, example in enumerate(examples):
        if i > 0:
            text += " or "
        text += f"'{example}', "
    return text + f"regex used for validation is '{fmt}')"


def max_len_chars(n: int) -> str:
    return f"must be no more than {n} characters"


def max_len_bytes(n: int) -> str:
    return f"must be no more than {n} bytes"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def _blen(value: str) -> int:
    """Go's ``len`` on a string counts UTF-8 bytes."""
    return len(value.encode())


def is_dns1123_label(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_chars(DNS1123_LABEL_MAX))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(
                regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character",
                    _DNS1123_LABEL_FMT,
                    "my-name",
                    "123-abc",
                )
            )
    return errs


def _subdomain(value: str, max_len: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len)
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(
            regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    return _subdomain(value, max_len_chars(DNS1123_SUBDOMAIN_MAX))


def is_dns1123_subdomain_with_underscore(value: str) -> list[str]:
    """DNS search domains (RelaxedDNSSearchValidation, GA since v1.34)."""
    errs: list[str] = []
    if _blen(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_chars(DNS1123_SUBDOMAIN_MAX))
    if not _DNS1123_SUBDOMAIN_US_RE.fullmatch(value):
        errs.append(
            regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '_', '-' or '.', and must start and end with an alphanumeric "
                "character",
                _DNS1123_SUBDOMAIN_US_FMT,
                "example.com",
            )
        )
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_chars(DNS1123_LABEL_MAX))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(
            regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return errs


_LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character"
)


def is_qualified_name(value: str) -> list[str]:
    """A label key: an optional DNS-subdomain prefix and ``/``, then a 63-byte name."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend(
                "prefix part " + m for m in _subdomain(prefix, max_len_bytes(DNS1123_SUBDOMAIN_MAX))
            )
    else:
        return [
            "a valid label key "
            + regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _blen(name) > DNS1123_LABEL_MAX:
        errs.append("name part " + max_len_bytes(DNS1123_LABEL_MAX))
    if not _LABEL_KEY_RE.fullmatch(name):
        errs.append(
            "name part "
            + regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > LABEL_VALUE_MAX:
        errs.append(max_len_bytes(LABEL_VALUE_MAX))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(
            regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE_FMT,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errs


def is_c_identifier(value: str) -> list[str]:
    if _C_IDENTIFIER_RE.fullmatch(value):
        return []
    return [
        regex_error(
            "a valid C identifier must start with alphabetic character or '_', followed by "
            "a string of alphanumeric characters or '_'",
            _C_IDENTIFIER_FMT,
            "my_name",
            "MY_NAME",
            "MyName",
        )
    ]


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def is_valid_port_name(port: str) -> list[str]:
    """IANA service names: at most 15 of ``[-a-z0-9]``, a letter, no ``--``, no edge ``-``."""
    errs: list[str] = []
    if _blen(port) > 15:
        errs.append(max_len_chars(15))
    if not _PORT_NAME_CHARSET_RE.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_relaxed_env_var_name(value: str) -> list[str]:
    """Env var names since RelaxedEnvironmentVariableValidation went GA (v1.34)."""
    errs: list[str] = []
    if not value:
        errs.append("environment variable name must be non-empty")
    if any(ord(ch) > 127 or not (0x20 <= ord(ch) <= 0x7E) or ch == "=" for ch in value):
        errs.append(
            "a valid environment variable name must consist only of printable ASCII "
            "characters other than '='"
        )
    return errs


def _chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_config_map_key(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_chars(DNS1123_SUBDOMAIN_MAX))
    if not _CONFIG_MAP_KEY_RE.fullmatch(value):
        errs.append(
            regex_error(
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                _CONFIG_MAP_KEY_FMT,
                "key.name",
                "KEY_NAME",
                "key-name",
            )
        )
    return errs + _chdir_prefix(value)


def is_http_header_name(value: str) -> list[str]:
    if _HTTP_HEADER_NAME_RE.fullmatch(value):
        return []
    return [
        regex_error(
            "a valid HTTP header must consist of alphanumeric characters or '-'",
            _HTTP_HEADER_NAME_FMT,
            "X-Header-Name",
        )
    ]


def is_valid_percent(value: str) -> list[str]:
    if _PERCENT_RE.fullmatch(value):
        return []
    return [
        regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'",
            _PERCENT_FMT,
            "1%",
            "93%",
        )
    ]


def is_path_segment_name(name: str, *, prefix: bool = False) -> list[str]:
    """Names that must survive as one URL path segment (every kind's last resort)."""
    if not prefix and name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]


def is_valid_ip(value: str) -> list[str]:
    """Strict IP validation (``validation.IsValidIP``)."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return _sloppy_ip_errors(value)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ["must not be an IPv4-mapped IPv6 address"]
    if str(ip) != value:
        return [f'must be in canonical form ("{ip}")']
    return []


def _sloppy_ip_errors(value: str) -> list[str]:
    """Go accepts leading zeros in IPv4 octets as "sloppy" IPs, then rejects them."""
    parts = value.split(".")
    if len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts):
        return ["must not have leading 0s"]
    return [NOT_AN_IP]


def is_valid_cidr(value: str) -> list[str]:
    """Strict CIDR validation (``validation.IsValidCIDR``)."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    address = value.split("/", 1)[0]
    if ipaddress.ip_address(address) != net.network_address:
        return ["must not have bits set beyond the prefix length"]
    if str(net) != value:
        return [f'must be in canonical form ("{net}")']
    return []
