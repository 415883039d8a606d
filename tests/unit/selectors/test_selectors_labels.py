"""Label selectors: labels.Parse, LabelSelectorAsSelector, matching and error texts."""

from __future__ import annotations

from typing import Any

import pytest

from kubeproc.api.errors import BadRequest
from kubeproc.api.selectors import LabelSelector, format_labels, selector_string

PARSED = [
    ("", ""),
    ("app=web", "app=web"),
    ("app==web", "app==web"),
    ("app!=web", "app!=web"),
    ("tier in (fe,be)", "tier in (be,fe)"),
    ("tier notin (fe)", "tier notin (fe)"),
    ("app", "app"),
    ("!app", "!app"),
    (" b = 1 , a ", "a,b=1"),
    ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
    ("a in (b,)", "a in (,b)"),
    ("a in (b,,)", "a in (,b)"),
    ("a=", "a="),
    ("in in (in),notin=notin", "in in (in),notin=notin"),
    ("example.com/app=web", "example.com/app=web"),
    ("n>3,m<5", "m<5,n>3"),
]


@pytest.mark.parametrize(("text", "canonical"), PARSED)
def test_parse(text: str, canonical: str) -> None:
    """Valid selectors parse, and print back with keys and values sorted."""
    assert str(LabelSelector.parse(text)) == canonical


MATCHES = [
    ("", {}, True),
    ("app=web", {"app": "web"}, True),
    ("app=web", {"app": "db"}, False),
    ("app=web", {}, False),
    ("app==web", {"app": "web", "x": "y"}, True),
    ("app!=web", {"app": "db"}, True),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("tier in (fe,be)", {"tier": "be"}, True),
    ("tier in (fe,be)", {}, False),
    ("tier notin (fe,be)", {}, True),
    ("tier notin (fe,be)", {"tier": "fe"}, False),
    ("app", {"app": ""}, True),
    ("app", {}, False),
    ("!app", {}, True),
    ("!app", {"app": "web"}, False),
    ("app=web,tier in (fe)", {"app": "web", "tier": "fe"}, True),
    ("app=web,tier in (fe)", {"app": "web", "tier": "be"}, False),
    ("a=", {"a": ""}, True),
    ("n>3", {"n": "4"}, True),
    ("n>3", {"n": "3"}, False),
    ("n<3", {"n": "x"}, False),
]


@pytest.mark.parametrize(("text", "labels", "expected"), MATCHES)
def test_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    """Matching follows Requirement.Matches: notin and != also match a missing key."""
    assert LabelSelector.parse(text).matches(labels) is expected


_NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

ERRORS = [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a,", "found '', expected: identifier after ','"),
    ("a,,b", "found ',', expected: identifier after ','"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
    ("a in (b,", "unable to parse requirement: found '', expected: ',', or identifier"),
    ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("a=(b)", "unable to parse requirement: found '(', expected: identifier"),
    ("-a", f'unable to parse requirement: <nil>: Invalid value: "-a": name part {_NAME_RULE}'),
    ("a=-b", f'unable to parse requirement: values[0][a]: Invalid value: "-b": {_VALUE_RULE}'),
    (
        "a=" + "v" * 64,
        f'unable to parse requirement: values[0][a]: Invalid value: "{"v" * 64}": '
        "must be no more than 63 characters",
    ),
    (
        "/a",
        'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty',
    ),
    (
        "a/b/c",
        'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name '
        + _NAME_RULE
        + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ),
    (
        "n>x",
        'unable to parse requirement: values[0]: Invalid value: "x": '
        "for 'Gt', 'Lt' operators, the value must be an integer",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_parse_errors(text: str, message: str) -> None:
    """Bad syntax raises BadRequest with kube-apiserver's exact message."""
    with pytest.raises(BadRequest) as err:
        LabelSelector.parse(text)
    assert err.value.message == message
    assert err.value.status()["code"] == 400


OBJECTS = [
    ({}, "", {"any": "thing"}, True),
    ({"matchLabels": {}, "matchExpressions": []}, "", {}, True),
    ({"matchLabels": {"app": "web"}}, "app=web", {"app": "web"}, True),
    (
        {
            "matchLabels": {"b": "1"},
            "matchExpressions": [{"key": "a", "operator": "In", "values": ["y", "x"]}],
        },
        "a in (x,y),b=1",
        {"a": "x", "b": "1"},
        True,
    ),
    (
        {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]},
        "a notin (x)",
        {},
        True,
    ),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, "a", {"a": "1"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, "!a", {"a": "1"}, False),
]


@pytest.mark.parametrize(("obj", "text", "labels", "expected"), OBJECTS)
def test_from_label_selector_object(
    obj: dict[str, Any], text: str, labels: dict[str, str], expected: bool
) -> None:
    """metav1.LabelSelector objects convert as LabelSelectorAsSelector does; {} matches all."""
    sel = LabelSelector.from_label_selector_object(obj)
    assert str(sel) == text
    assert sel.matches(labels) is expected
    assert selector_string(obj) == text


OBJECT_ERRORS = [
    (
        {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
        "values: Invalid value: []string(nil): "
        "for 'in', 'notin' operators, values set can't be empty",
    ),
    (
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
        'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
    ),
    (
        {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
        '"Gt" is not a valid label selector operator',
    ),
    ({"matchLabels": {"a b": "x"}}, f'key: Invalid value: "a b": name part {_NAME_RULE}'),
    (
        {"matchLabels": {"-k": "-v"}},
        f'[key: Invalid value: "-k": name part {_NAME_RULE}, '
        f'values[0][-k]: Invalid value: "-v": {_VALUE_RULE}]',
    ),
]


@pytest.mark.parametrize(("obj", "message"), OBJECT_ERRORS)
def test_from_label_selector_object_errors(obj: dict[str, Any], message: str) -> None:
    """Invalid selector objects raise BadRequest with the aggregated field errors."""
    with pytest.raises(BadRequest) as err:
        LabelSelector.from_label_selector_object(obj)
    assert err.value.message == message


def test_selector_string_of_absent_selector() -> None:
    """An absent selector prints as "" (LabelSelectorAsSelector(nil) is Nothing)."""
    assert selector_string(None) == ""


@pytest.mark.parametrize(
    ("labels", "text"), [({"b": "2", "a": "1"}, "a=1,b=2"), ({}, "<none>"), (None, "<none>")]
)
def test_format_labels(labels: dict[str, str] | None, text: str) -> None:
    """format_labels prints sorted k=v pairs, or <none>."""
    assert format_labels(labels) == text
