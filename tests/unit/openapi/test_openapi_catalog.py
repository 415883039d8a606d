"""The schema catalog: complete for every served kind, internally consistent, well described."""

from __future__ import annotations

import pytest

from kubeproc.api.openapi import build_catalog, catalog, schema_name
from kubeproc.api.openapi.dsl import INT32, STRING, Field, ListOf, Package, Schema, list_of
from kubeproc.api.openapi.dsl import f as field
from kubeproc.api.resources import REGISTRY, Registry, ResourceType


def test_every_served_kind_and_list_kind_has_a_schema_with_its_gvk() -> None:
    """Each REGISTRY kind and its List kind resolve to a schema that names that kind."""
    cat = catalog()
    for r in REGISTRY:
        for kind in (r.kind, r.list_kind):
            schema = cat.for_kind(r.group, r.version, kind)
            assert schema is not None, (r.group, r.version, kind)
            assert schema.name == schema_name(r.group, r.version, kind)
            assert (r.group, r.version, kind) in cat.gvks[schema.name]


def test_subresource_bodies_are_published_under_their_own_group() -> None:
    """Scale, Eviction and Binding bodies are kinds of autoscaling/v1, policy/v1 and v1."""
    cat = catalog()
    assert cat.by_gvk["autoscaling", "v1", "Scale"] == "io.k8s.api.autoscaling.v1.Scale"
    assert cat.by_gvk["policy", "v1", "Eviction"] == "io.k8s.api.policy.v1.Eviction"
    assert cat.by_gvk["", "v1", "Binding"] == "io.k8s.api.core.v1.Binding"
    assert cat.by_gvk["", "v1", "Status"] == "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
    assert ("apps", "v1", "PodExecOptions") not in cat.by_gvk


@pytest.mark.parametrize(
    ("group", "version", "kind", "expected"),
    [
        ("", "v1", "Pod", "io.k8s.api.core.v1.Pod"),
        ("apps", "v1", "DeploymentList", "io.k8s.api.apps.v1.DeploymentList"),
        ("networking.k8s.io", "v1", "NetworkPolicy", "io.k8s.api.networking.v1.NetworkPolicy"),
        ("events.k8s.io", "v1", "Event", "io.k8s.api.events.v1.Event"),
    ],
)
def test_schema_names_follow_kubernetes_naming(
    group: str, version: str, kind: str, expected: str
) -> None:
    """A kind's schema name is io.k8s.api.<first label of group or core>.<version>.<Kind>."""
    assert schema_name(group, version, kind) == expected


def test_every_schema_and_property_has_a_description() -> None:
    """kubectl explain never has to print <no description>."""
    for schema in catalog().schemas.values():
        assert schema.description.strip(), schema.name
        for fld in schema.fields:
            assert fld.description.strip(), f"{schema.name}.{fld.name}"


def test_required_names_only_declared_fields_and_markers_sit_on_lists() -> None:
    """required lists name existing fields; list-type markers appear only on array fields."""
    for schema in catalog().schemas.values():
        assert set(schema.required) <= set(schema.by_name), schema.name
        for fld in schema.fields:
            if fld.list_type or fld.map_keys:
                assert isinstance(fld.type, ListOf), f"{schema.name}.{fld.name}"
            if fld.list_type == "map":
                assert fld.map_keys, f"{schema.name}.{fld.name}"


def test_closure_reaches_nested_types_through_lists_and_maps() -> None:
    """The closure of Pod includes Probe, Quantity and ObjectMeta's OwnerReference."""
    names = catalog().closure(["io.k8s.api.core.v1.Pod"])
    for expected in (
        "io.k8s.api.core.v1.Probe",
        "io.k8s.apimachinery.pkg.api.resource.Quantity",
        "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    ):
        assert expected in names
    assert names == sorted(names)
    assert "io.k8s.api.apps.v1.Deployment" not in names


_FAKE = Package("io.k8s.api.core.v1")
_FAKE_REGISTRY = Registry((ResourceType("", "v1", "Widget", "widgets", True),))


def _widget_schemas(*extra_fields: Field) -> list[Schema]:
    meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")
    widget = _FAKE.struct("Widget", "A widget.", [field("size", INT32, "Size."), *extra_fields])
    return [
        widget,
        _FAKE.list_kind("Widget"),
        meta.struct("ListMeta", "List metadata.", [field("continue", STRING, "Token.")]),
        meta.struct("Status", "Status.", []),
        meta.struct("DeleteOptions", "Delete options.", []),
    ]


def test_build_catalog_accepts_a_consistent_table() -> None:
    """A registry of one kind and a table with its schema, list and meta types builds."""
    cat = build_catalog(_widget_schemas(), _FAKE_REGISTRY)
    assert cat.for_kind("", "v1", "Widget") is not None
    assert cat.for_kind("", "v1", "WidgetList") is not None
    assert cat.for_kind("", "v1", "Gadget") is None


def test_build_catalog_rejects_a_dangling_reference() -> None:
    """A field pointing at an undefined schema fails the build with its name."""
    dangling = field("gear", list_of(_FAKE.ref("Gear")), "Gears.")
    with pytest.raises(ValueError, match=r"Widget -> io\.k8s\.api\.core\.v1\.Gear"):
        build_catalog(_widget_schemas(dangling), _FAKE_REGISTRY)


def test_build_catalog_rejects_duplicates_and_missing_kinds() -> None:
    """A schema defined twice, or a served kind without a schema, fails the build."""
    schemas = _widget_schemas()
    with pytest.raises(ValueError, match="defined twice"):
        build_catalog([*schemas, schemas[0]], _FAKE_REGISTRY)
    two_kinds = Registry((*_FAKE_REGISTRY, ResourceType("", "v1", "Gadget", "gadgets", True)))
    with pytest.raises(ValueError, match=r"no schema io\.k8s\.api\.core\.v1\.Gadget "):
        build_catalog(schemas, two_kinds)


def test_required_must_name_a_field() -> None:
    """Package.struct refuses a required name that is not one of its fields."""
    with pytest.raises(ValueError, match="unknown fields"):
        _FAKE.struct("Bad", "Bad.", [field("a", STRING, "A.")], required=("b",))
