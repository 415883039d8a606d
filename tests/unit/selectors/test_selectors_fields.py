"""Field selectors: fields.ParseSelector, per-kind field support and field values."""

from __future__ import annotations

from typing import Any

import pytest

from kubeproc.api.errors import BadRequest
from kubeproc.api.resources import REGISTRY, ResourceType
from kubeproc.api.selectors import (
    FieldRequirement,
    FieldSelector,
    check_field_selector,
    convert_field_selector,
    escape_value,
    field_set,
)


def rt(group: str, plural: str) -> ResourceType:
    found = REGISTRY.get(group, "v1", plural)
    assert found is not None
    return found


PARSED = [
    ("", []),
    ("metadata.name=web", [("metadata.name", "=", "web")]),
    (
        "spec.nodeName=node-1,status.phase!=Succeeded,status.phase!=Failed",
        [
            ("spec.nodeName", "=", "node-1"),
            ("status.phase", "!=", "Failed"),
            ("status.phase", "!=", "Succeeded"),
        ],
    ),
    ("a==b", [("a", "==", "b")]),
    ("a=", [("a", "=", "")]),
    ("a=b,", [("a", "=", "b")]),
    (r"a=x\,y\=z\\", [("a", "=", "x,y=z\\")]),
]


@pytest.mark.parametrize(("text", "reqs"), PARSED)
def test_parse(text: str, reqs: list[tuple[str, str, str]]) -> None:
    """Terms are split on unescaped commas, sorted, and their values unescaped."""
    assert FieldSelector.parse(text).requirements == tuple(FieldRequirement(*r) for r in reqs)


def test_string_escapes_values() -> None:
    """A selector prints back with values escaped and "==" shown as "="."""
    sel = FieldSelector.parse(r"b==x\,y,a!=1")
    assert str(sel) == r"a!=1,b=x\,y"
    assert escape_value("a,b=c\\") == r"a\,b\=c\\"


ERRORS = [
    ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
    ("a=1,abc", "invalid selector: 'a=1,abc'; can't understand 'abc'"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ("a!==b", "invalid field selector: unescaped character in value: 61"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_parse_errors(text: str, message: str) -> None:
    """Malformed selectors raise BadRequest with fields.ParseSelector's message."""
    with pytest.raises(BadRequest) as err:
        FieldSelector.parse(text)
    assert err.value.message == message


MATCHES = [
    ("", {}, True),
    ("metadata.name=web", {"metadata.name": "web"}, True),
    ("metadata.name==web", {"metadata.name": "db"}, False),
    ("status.phase!=Failed", {"status.phase": "Running"}, True),
    ("status.phase!=Failed", {"status.phase": "Failed"}, False),
    ("spec.nodeName=", {}, True),
    ("spec.nodeName!=", {}, False),
    ("a=1,b=2", {"a": "1", "b": "2"}, True),
    ("a=1,b=2", {"a": "1", "b": "3"}, False),
]


@pytest.mark.parametrize(("text", "fields", "expected"), MATCHES)
def test_matches(text: str, fields: dict[str, str], expected: bool) -> None:
    """Every term must hold; a missing field reads as the empty string."""
    assert FieldSelector.parse(text).matches(fields) is expected


SUPPORT = [
    (
        "",
        "pods",
        "spec.nodeName=n,status.phase!=Failed,status.podIP=1.2.3.4,spec.hostNetwork=true",
        None,
    ),
    ("", "pods", "spec.containers=x", "field label not supported: spec.containers"),
    (
        "",
        "events",
        "involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u",
        None,
    ),
    (
        "events.k8s.io",
        "events",
        "involvedObject.kind=Pod,reason=BackOff,reportingComponent=kubelet",
        None,
    ),
    ("", "events", "regarding.name=web", "field label not supported: regarding.name"),
    ("", "nodes", "spec.unschedulable=false,metadata.name=n", None),
    ("", "nodes", "metadata.namespace=default", "field label not supported: metadata.namespace"),
    ("", "namespaces", "status.phase=Active", None),
    ("", "secrets", "type=Opaque", None),
    ("", "services", "spec.clusterIP=None,spec.type=ClusterIP", None),
    ("", "replicationcontrollers", "status.replicas=0", None),
    (
        "apps",
        "replicasets",
        "status.replicas=0",
        '"status.replicas" is not a known field selector: '
        'only "metadata.name", "metadata.namespace"',
    ),
    ("apps", "deployments", "metadata.name=web,metadata.namespace=default", None),
    (
        "",
        "configmaps",
        "data=x",
        '"data" is not a known field selector: only "metadata.name", "metadata.namespace"',
    ),
]


@pytest.mark.parametrize(("group", "plural", "text", "message"), SUPPORT)
def test_check_field_selector(group: str, plural: str, text: str, message: str | None) -> None:
    """Only the kind's convertible fields are accepted, refused with the server's own words."""
    sel = FieldSelector.parse(text)
    if message is None:
        check_field_selector(rt(group, plural), sel)
        return
    with pytest.raises(BadRequest) as err:
        check_field_selector(rt(group, plural), sel)
    assert err.value.message == message


def test_spec_host_is_renamed_for_pods() -> None:
    """Old clients' spec.host selects on spec.nodeName."""
    sel = convert_field_selector(rt("", "pods"), FieldSelector.parse("spec.host=node-1"))
    assert sel.requirements == (FieldRequirement("spec.nodeName", "=", "node-1"),)


POD = {
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "nodeName": "node-1",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "hostNetwork": True,
    },
    "status": {
        "phase": "Running",
        "podIP": "10.0.0.9",
        "podIPs": [{"ip": "10.0.0.5"}],
        "nominatedNodeName": "",
    },
}
EVENT_REF = {
    "kind": "Pod",
    "namespace": "default",
    "name": "web",
    "uid": "u1",
    "apiVersion": "v1",
    "resourceVersion": "7",
    "fieldPath": "spec.containers{c}",
}
EVENT = {
    "metadata": {"name": "web.1", "namespace": "default"},
    "involvedObject": EVENT_REF,
    "reason": "BackOff",
    "type": "Warning",
    "reportingComponent": "kubelet",
    "source": {"component": "", "host": "node-1"},
}

FIELD_SETS: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    (
        "",
        "pods",
        POD,
        {
            "metadata.name": "web",
            "metadata.namespace": "default",
            "spec.nodeName": "node-1",
            "spec.restartPolicy": "Always",
            "spec.schedulerName": "default-scheduler",
            "spec.serviceAccountName": "default",
            "spec.hostNetwork": "true",
            "status.phase": "Running",
            "status.podIP": "10.0.0.5",
            "status.nominatedNodeName": "",
        },
    ),
    (
        "",
        "events",
        EVENT,
        {
            "metadata.name": "web.1",
            "metadata.namespace": "default",
            "involvedObject.kind": "Pod",
            "involvedObject.namespace": "default",
            "involvedObject.name": "web",
            "involvedObject.uid": "u1",
            "involvedObject.apiVersion": "v1",
            "involvedObject.resourceVersion": "7",
            "involvedObject.fieldPath": "spec.containers{c}",
            "reason": "BackOff",
            "reportingComponent": "kubelet",
            "source": "kubelet",
            "type": "Warning",
        },
    ),
    (
        "",
        "nodes",
        {"metadata": {"name": "n"}, "spec": {}},
        {"metadata.name": "n", "spec.unschedulable": "false"},
    ),
    (
        "",
        "namespaces",
        {"metadata": {"name": "ns"}, "status": {"phase": "Active"}},
        {"metadata.name": "ns", "status.phase": "Active", "name": "ns"},
    ),
    (
        "",
        "secrets",
        {"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"},
        {"metadata.name": "s", "metadata.namespace": "d", "type": "Opaque"},
    ),
    (
        "",
        "services",
        {
            "metadata": {"name": "s", "namespace": "d"},
            "spec": {"clusterIP": "10.96.0.1", "type": "NodePort"},
        },
        {
            "metadata.name": "s",
            "metadata.namespace": "d",
            "spec.clusterIP": "10.96.0.1",
            "spec.type": "NodePort",
        },
    ),
    (
        "apps",
        "replicasets",
        {"metadata": {"name": "r", "namespace": "d"}, "status": {"replicas": 3}},
        {"metadata.name": "r", "metadata.namespace": "d", "status.replicas": "3"},
    ),
    (
        "",
        "replicationcontrollers",
        {"metadata": {"name": "r", "namespace": "d"}},
        {"metadata.name": "r", "metadata.namespace": "d", "status.replicas": "0"},
    ),
    (
        "",
        "configmaps",
        {"metadata": {"name": "c", "namespace": "d"}},
        {"metadata.name": "c", "metadata.namespace": "d"},
    ),
]


@pytest.mark.parametrize(
    ("group", "plural", "obj", "fields"), FIELD_SETS, ids=[f"{g}/{p}" for g, p, _, _ in FIELD_SETS]
)
def test_field_set(group: str, plural: str, obj: dict[str, Any], fields: dict[str, str]) -> None:
    """Each kind exposes its registry's selectable fields, rendered as strings."""
    assert field_set(rt(group, plural), obj) == fields


def test_event_field_set_reads_events_k8s_io_shape() -> None:
    """An events.k8s.io/v1 object yields the same fields as its core/v1 form."""
    new = {
        "metadata": EVENT["metadata"],
        "regarding": EVENT_REF,
        "reason": "BackOff",
        "type": "Warning",
        "reportingController": "kubelet",
        "deprecatedSource": {"host": "node-1"},
    }
    assert field_set(rt("events.k8s.io", "events"), new) == field_set(rt("", "events"), EVENT)


def test_kubectl_describe_event_selector() -> None:
    """kubectl describe's event query matches the events of that object only."""
    sel = FieldSelector.parse(
        "involvedObject.uid=u1,involvedObject.name=web,involvedObject.namespace=default"
    )
    check_field_selector(rt("", "events"), sel)
    assert sel.matches(field_set(rt("", "events"), EVENT))
    other = {**EVENT, "involvedObject": {**EVENT_REF, "uid": "u2"}}
    assert not sel.matches(field_set(rt("", "events"), other))


def test_pod_ip_falls_back_to_pod_ip_field() -> None:
    """status.podIP is podIPs[0], or the podIP field when podIPs is absent."""
    pod = {"metadata": {"name": "p"}, "status": {"podIP": "10.0.0.9"}}
    assert field_set(rt("", "pods"), pod)["status.podIP"] == "10.0.0.9"
    assert field_set(rt("", "pods"), {"metadata": {"name": "p"}})["spec.hostNetwork"] == "false"
