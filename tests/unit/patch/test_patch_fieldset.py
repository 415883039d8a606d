"""Field sets: FieldsV1 wire form, set algebra and conflict path spelling."""

from __future__ import annotations

from typing import Any

import pytest

from kubeproc.api.patch import FieldSet, path_string
from kubeproc.api.patch.fieldset import FieldsV1Error, field_pe, key_pe, value_pe

SPEC, CONTAINERS = field_pe("spec"), field_pe("containers")
MAIN = key_pe({"name": "main"})


def test_fieldsv1_round_trip_keeps_members_and_dot() -> None:
    """A FieldsV1 tree parses to a set and serializes back identically, in SMD's order."""
    tree = {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:containers": {
                'k:{"name":"main"}': {".": {}, "f:image": {}, "f:name": {}},
                'k:{"name":"side"}': {".": {}, "f:name": {}},
            },
            "f:finalizers": {'v:"a"': {}, 'v:"b"': {}},
        },
    }
    assert FieldSet.from_fields_v1(tree).to_fields_v1() == tree


def test_serialization_orders_fields_then_keys_then_values() -> None:
    """Members serialize sorted: f: before k: before v:, numbers before strings."""
    fields = FieldSet.of(
        (SPEC, value_pe("x")),
        (SPEC, key_pe({"port": 80, "protocol": "TCP"})),
        (SPEC, key_pe({"port": 8, "protocol": "TCP"})),
        (SPEC, value_pe(3)),
        (SPEC, field_pe("z")),
    )
    assert list(fields.to_fields_v1()["f:spec"]) == [
        "f:z",
        'k:{"port":8,"protocol":"TCP"}',
        'k:{"port":80,"protocol":"TCP"}',
        "v:3",
        'v:"x"',
    ]


def test_key_elements_are_canonical() -> None:
    """A key parsed from FieldsV1 in any field order equals the one built from an item."""
    parsed = FieldSet.from_fields_v1({'k:{"protocol":"TCP","containerPort":80}': {}})
    assert parsed.has((key_pe({"containerPort": 80, "protocol": "TCP"}),))


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((SPEC, CONTAINERS, MAIN, field_pe("image")), '.spec.containers[name="main"].image'),
        (
            (SPEC, field_pe("ports"), key_pe({"port": 80, "protocol": "TCP"})),
            '.spec.ports[port=80,protocol="TCP"]',
        ),
        (
            (field_pe("metadata"), field_pe("finalizers"), value_pe("x")),
            '.metadata.finalizers[="x"]',
        ),
    ],
)
def test_path_string_spells_paths_like_conflict_messages(path: tuple[str, ...], text: str) -> None:
    """Paths print as structured-merge-diff prints them in conflicts."""
    assert path_string(path) == text


def test_set_algebra() -> None:
    """Union, difference, intersection and recursive difference behave as SMD's sets."""
    a = FieldSet.of((SPEC,), (SPEC, field_pe("a")), (SPEC, field_pe("b")))
    b = FieldSet.of((SPEC, field_pe("b")), (SPEC, field_pe("c")))
    assert set(a.union(b).paths()) == {(SPEC,), *((SPEC, field_pe(n)) for n in "abc")}
    assert set(a.difference(b).paths()) == {(SPEC,), (SPEC, field_pe("a"))}
    assert set(a.intersection(b).paths()) == {(SPEC, field_pe("b"))}
    assert a.recursive_difference(FieldSet.of((SPEC,))).empty()
    assert not a.difference(FieldSet.of((SPEC,))).empty()


@pytest.mark.parametrize("tree", [[], {"x:y": {}}, {"f:a": 1}, {"k:[1]": {}}, {"v:{": {}}])
def test_malformed_fieldsv1_is_rejected(tree: Any) -> None:
    """Trees that are not FieldsV1 raise FieldsV1Error."""
    with pytest.raises(FieldsV1Error):
        FieldSet.from_fields_v1(tree)
