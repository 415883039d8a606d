"""The schema notation and the integrity of the tables written in it."""

from __future__ import annotations

import pytest

from kubeproc.api.protobuf.kinds import MESSAGES, ROOTS
from kubeproc.api.protobuf.schema import (
    SCALAR_TYPES,
    SPECIAL_TYPES,
    Field,
    Presence,
    Shape,
    parse_schema,
)


def test_notation_parses_every_shape_and_presence() -> None:
    """Each field spec becomes a Field with its number, json name, type, shape and presence."""
    messages = parse_schema(
        """
        # a comment
        Thing:
            1 name s!, 2 tags [s], 3 labels {s}, 4 child Other?,
            5 ref Other~, 6 * Other
        Other:
            1 a s
        """
    )

    assert list(messages) == ["Thing", "Other"]
    assert list(messages["Thing"].fields.values()) == [
        Field(1, "name", "s", Shape.SINGLE, Presence.ALWAYS),
        Field(2, "tags", "s", Shape.LIST, Presence.OMIT_EMPTY),
        Field(3, "labels", "s", Shape.MAP, Presence.OMIT_EMPTY),
        Field(4, "child", "Other", Shape.SINGLE, Presence.POINTER),
        Field(5, "ref", "Other", Shape.SINGLE, Presence.NULLABLE),
        Field(6, "*", "Other", Shape.SINGLE, Presence.INLINE),
    ]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1 a s", "field outside a message"),
        ("M:\n 1 a s, 1 b s", "field 1 defined twice"),
        ("M:\n 1 a s\nM:\n 2 b s", "message M defined twice"),
        ("M:\n one a s", "cannot parse field"),
        ("M:\n 1 * [Other]", "inline field"),
        ("M:\n 1 * Other?", "inline field"),
    ],
)
def test_notation_mistakes_are_refused(text: str, match: str) -> None:
    """A malformed table is a programming error, raised at import time."""
    with pytest.raises(ValueError, match=match):
        parse_schema(text)


def test_every_type_reference_resolves() -> None:
    """Every message a table names is defined in some table."""
    known = set(MESSAGES) | SCALAR_TYPES | SPECIAL_TYPES
    missing = {
        f"{message.name}.{field.name}: {field.type}"
        for message in MESSAGES.values()
        for field in message.fields.values()
        if field.type not in known
    }

    assert missing == set()


def test_every_root_kind_has_a_message() -> None:
    """Each decodable (apiVersion, kind) points at a defined message."""
    assert {kind for _, kind in ROOTS} >= {
        "Deployment",
        "ReplicaSet",
        "Pod",
        "Service",
        "Namespace",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "ReplicationController",
        "Endpoints",
        "EndpointSlice",
        "Event",
        "NetworkPolicy",
        "Lease",
        "Node",
        "Scale",
        "DeleteOptions",
    }
    assert all(name in MESSAGES for name in ROOTS.values())


def test_structs_are_never_omitempty() -> None:
    """A single message field is a pointer, nullable, always printed or inline, as in Go."""
    wrong = [
        f"{message.name}.{field.name}"
        for message in MESSAGES.values()
        for field in message.fields.values()
        if field.shape is Shape.SINGLE
        and field.type not in SCALAR_TYPES
        and field.presence is Presence.OMIT_EMPTY
    ]

    assert wrong == []


def test_tables_are_acyclic() -> None:
    """No message contains itself, so decoding depth is bounded by the tables."""

    def depth(name: str, path: tuple[str, ...]) -> int:
        assert name not in path, " -> ".join((*path, name))
        children = [
            field.type for field in MESSAGES[name].fields.values() if field.type in MESSAGES
        ]
        return 1 + max((depth(child, (*path, name)) for child in children), default=0)

    assert max(depth(name, ()) for name in ROOTS.values()) < 20


@pytest.mark.parametrize(
    ("message", "number", "name", "type_"),
    [
        ("ObjectMeta", 2, "generateName", "s"),
        ("ObjectMeta", 8, "creationTimestamp", "time"),
        ("ObjectMeta", 11, "labels", "s"),
        ("ObjectMeta", 12, "annotations", "s"),
        ("DeploymentSpec", 3, "template", "PodTemplateSpec"),
        ("PodSpec", 2, "containers", "Container"),
        ("Container", 8, "resources", "ResourceRequirements"),
        ("Container", 22, "startupProbe", "Probe"),
        ("ServicePort", 4, "targetPort", "intstr"),
        ("Secret", 2, "data", "y"),
        ("ConfigMap", 3, "binaryData", "y"),
        ("ResourceRequirements", 1, "limits", "quantity"),
        ("events.Event", 2, "eventTime", "microtime"),
        ("ManagedFieldsEntry", 7, "fieldsV1", "rawjson"),
    ],
)
def test_known_field_numbers(message: str, number: int, name: str, type_: str) -> None:
    """Spot checks against generated.proto: number, json name and type."""
    field = MESSAGES[message].fields[number]

    assert (field.name, field.type) == (name, type_)
