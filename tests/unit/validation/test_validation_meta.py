"""ObjectMeta validation on create and update: names per kind, labels, annotations, finalizers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.api.validation import validate_create, validate_update

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


def rt(group: str, kind: str) -> ResourceType:
    found = next((r for r in REGISTRY if r.group == group and r.kind == kind), None)
    assert found is not None
    return found


def config_map(**meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "default", **meta}}


def errors(kind: tuple[str, str], obj: dict[str, Any]) -> list[str]:
    return [str(e) for e in validate_create(rt(*kind), obj)]


def test_missing_name_and_generate_name_is_required() -> None:
    """Without name or generateName: ``metadata.name: Required value: name or generateName…``."""
    assert errors(("", "ConfigMap"), config_map()) == [
        "metadata.name: Required value: name or generateName is required"
    ]


def test_generate_name_alone_is_enough_and_may_end_with_a_dash() -> None:
    """A generateName ending in ``-`` is a valid prefix; no name error is reported."""
    assert errors(("", "ConfigMap"), config_map(generateName="web-")) == []


def test_invalid_generate_name_is_reported_at_generate_name() -> None:
    """An invalid generateName prefix is reported under ``metadata.generateName``."""
    assert errors(("", "ConfigMap"), config_map(generateName="Web-")) == [
        f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN_REGEX}'
    ]


NAME_RULES = [
    pytest.param(("", "Pod"), "my.pod", [], id="pod-subdomain-ok"),
    pytest.param(("", "Pod"), "My_Pod", [SUBDOMAIN_REGEX], id="pod-subdomain-bad"),
    pytest.param(("", "Service"), "my.svc", [DNS1035_REGEX], id="service-dns1035"),
    pytest.param(("", "Service"), "1svc", [DNS1035_REGEX], id="service-leading-digit"),
    pytest.param(("", "Namespace"), "team.a", ["must not contain dots"], id="namespace-label"),
    pytest.param(("", "Namespace"), "Team", [LABEL_REGEX], id="namespace-uppercase"),
    pytest.param(("apps", "Deployment"), "web.v2", [], id="deployment-subdomain"),
    pytest.param(("", "Node"), "node-1.example.com", [], id="node-subdomain"),
]


@pytest.mark.parametrize(("kind", "name", "messages"), NAME_RULES)
def test_each_kind_checks_its_own_name_format(
    kind: tuple[str, str], name: str, messages: list[str]
) -> None:
    """Pods and most kinds use DNS subdomains, Services DNS-1035 labels, Namespaces DNS labels."""
    obj: dict[str, Any] = {"metadata": {"name": name}}
    got = [str(e) for e in validate_create(rt(*kind), obj) if str(e).startswith("metadata.name:")]
    assert got == [f'metadata.name: Invalid value: "{name}": {m}' for m in messages]


def test_invalid_label_key_and_value_are_reported_under_labels() -> None:
    """Both a bad key and a bad value are reported at ``metadata.labels`` with their own value."""
    got = errors(("", "ConfigMap"), config_map(name="c", labels={"bad key": "ok", "app": "-x"}))
    assert got == [
        'metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric '
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
        "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        'metadata.labels: Invalid value: "-x": a valid label must be an empty string or consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]


def test_label_prefix_must_be_a_subdomain() -> None:
    """A label key's prefix is checked as a DNS subdomain, with ``prefix part`` in front."""
    got = errors(("", "ConfigMap"), config_map(name="c", labels={"Example.com/app": "x"}))
    assert got == [
        f'metadata.labels: Invalid value: "Example.com/app": prefix part {SUBDOMAIN_REGEX}'
    ]


def test_annotation_keys_are_checked_case_insensitively() -> None:
    """Upper-case annotation keys are fine (lower-cased first); a bad key shows as written."""
    assert (
        errors(("", "ConfigMap"), config_map(name="c", annotations={"Example.com/Note": "x"})) == []
    )
    got = errors(("", "ConfigMap"), config_map(name="c", annotations={"a b": "x"}))
    assert len(got) == 1
    assert got[0].startswith('metadata.annotations: Invalid value: "a b": name part must consist')


def test_annotations_over_256_kib_in_total_are_too_long() -> None:
    """Keys plus values above 262144 bytes: ``metadata.annotations: Too long: …``."""
    big = {"a": "x" * (256 * 1024)}
    assert errors(("", "ConfigMap"), config_map(name="c", annotations=big)) == [
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    ]


def test_non_standard_unqualified_finalizer_is_rejected() -> None:
    """A finalizer without ``/`` must be a standard one (core's extra finalizer rule)."""
    got = errors(("", "ConfigMap"), config_map(name="c", finalizers=["cleanup"]))
    assert got == [
        'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer '
        "name nor is it fully qualified"
    ]
    assert errors(("", "ConfigMap"), config_map(name="c", finalizers=["example.com/cleanup"])) == []


def test_negative_generation_is_rejected() -> None:
    """``metadata.generation`` may not be negative."""
    assert errors(("", "ConfigMap"), config_map(name="c", generation=-1)) == [
        "metadata.generation: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_event_name_must_still_be_a_path_segment() -> None:
    """core/v1 Events skip name-format rules but not the store's path-segment rule."""
    event = {
        "metadata": {"name": "a/b", "namespace": "default"},
        "involvedObject": {"namespace": "default"},
    }
    assert errors(("", "Event"), event) == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"
    ]


def test_changing_name_or_uid_on_update_is_immutable() -> None:
    """Renaming or re-identifying an object fails with ``field is immutable``."""
    old = config_map(name="c", uid="u1", creationTimestamp="2024-01-01T00:00:00Z")
    new = copy.deepcopy(old)
    new["metadata"]["uid"] = "u2"
    got = [str(e) for e in validate_update(rt("", "ConfigMap"), new, old)]
    assert 'metadata.uid: Invalid value: "u2": field is immutable' in got


def test_new_finalizers_are_forbidden_while_deleting() -> None:
    """Once an object is being deleted, finalizers may be removed but not added."""
    old = config_map(name="c", deletionTimestamp="2024-01-01T00:00:00Z", finalizers=["a.io/x"])
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = ["a.io/x", "b.io/y"]
    got = [str(e) for e in validate_update(rt("", "ConfigMap"), new, old)]
    assert (
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
        'deleted, found new finalizers []string{"b.io/y"}'
    ) in got
