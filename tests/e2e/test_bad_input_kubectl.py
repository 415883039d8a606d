"""Bad manifests through every installed kubectl (1.29-1.33): the line it prints, and no write.

The expected lines are what the same kubectl prints against a real kube-apiserver: either
kubectl's own client-side error (malformed YAML, an unknown kind), or its rendering of the
server's ``Status`` (BadRequest, NotFound, Conflict, Invalid, RequestEntityTooLarge).
After each refusal the store is checked: the object does not exist, or is unchanged.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node
from tests.e2e.test_bad_input_support import (
    VERSIONS,
    configmap,
    get,
    kubectl,
    missing,
    names,
    new_namespace,
    pod,
)

pytestmark = pytest.mark.e2e

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    r"used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_KEY = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
TYPO = pod("typo", livenssProbe={"exec": {"command": ["true"]}})
STRICT_TYPO = (
    'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field '
    '"spec.containers[0].livenssProbe"'
)


@pytest.fixture(params=sorted(VERSIONS), ids=lambda v: f"kubectl{v}")
def run(node: Node, tmp_path: Path, request: pytest.FixtureRequest) -> Kubectl:
    """Each installed kubectl in turn, with its own HOME."""
    return kubectl(node, tmp_path / "home", request.param)


def create(run: Kubectl, ns: str, doc: object) -> tuple[int, str]:
    """``kubectl create -f -`` of one document; (exit code, stderr)."""
    res = run("create", "-n", ns, "-f", "-", stdin=yaml.safe_dump(doc))
    return res.rc, res.err.strip()


def test_invalid_names_and_labels_print_the_field_errors(node: Node, run: Kubectl) -> None:
    """A bad name, label key or label value is the server's 422, and nothing is created."""
    ns = new_namespace(node, "names")
    rc, err = create(run, ns, configmap("Bad_Name"))
    assert rc == 1
    assert (
        err
        == f'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN}'
    )
    rc, err = create(
        run, ns, {**configmap("keyed"), "metadata": {"name": "keyed", "labels": {"a b": "x"}}}
    )
    assert rc == 1
    assert (
        err
        == f'The ConfigMap "keyed" is invalid: metadata.labels: Invalid value: "a b": {LABEL_KEY}'
    )
    rc, err = create(
        run, ns, {**configmap("valued"), "metadata": {"name": "valued", "labels": {"a": "-x-"}}}
    )
    assert rc == 1
    assert (
        err
        == f'The ConfigMap "valued" is invalid: metadata.labels: Invalid value: "-x-": {LABEL_VALUE}'
    )
    generated = run("create", "configmap", "Gen_Name", "-n", ns, "--from-literal=a=b")
    assert generated.rc == 1
    assert (
        f'ConfigMap "Gen_Name" is invalid: metadata.name: Invalid value: "Gen_Name": {SUBDOMAIN}'
        in generated.err
    )
    assert names(node, f"/api/v1/namespaces/{ns}/configmaps") == []


def test_malformed_yaml_is_refused_by_kubectl_before_any_request(node: Node, run: Kubectl) -> None:
    """kubectl parses the manifest itself: go-yaml's error, and no object."""
    ns = new_namespace(node, "yaml")
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  labels: [a\n"
    res = run("create", "-n", ns, "-f", "-", stdin=text)
    assert res.rc == 1
    assert res.err.strip() == (
        "error: error parsing STDIN: error converting YAML to JSON: yaml: line 5: "
        "did not find expected ',' or ']'"
    )
    assert missing(node, f"/api/v1/namespaces/{ns}/configmaps/broken")


def test_unknown_kinds(node: Node, run: Kubectl) -> None:
    """An unknown kind fails kubectl's mapping; a lowercase kind fails the server's decoder."""
    ns = new_namespace(node, "kinds")
    foo = {"apiVersion": "bar/v1", "kind": "Foo", "metadata": {"name": "x"}}
    rc, err = create(run, ns, foo)
    assert rc == 1
    assert err == (
        'error: resource mapping not found for name: "x" namespace: "" from "STDIN": '
        'no matches for kind "Foo" in version "bar/v1"\nensure CRDs are installed first'
    )
    lower = {**pod("lower"), "kind": "pod"}
    rc, err = create(run, ns, lower)
    assert rc == 1
    assert err == (
        'Error from server (BadRequest): error when creating "STDIN": pod in version "v1" '
        'cannot be handled as a Pod: no kind "pod" is registered for version "v1" in scheme '
        '"pkg/api/legacyscheme/scheme.go:30"'
    )
    assert missing(node, f"/api/v1/namespaces/{ns}/pods/lower")
    res = run("get", "foo", "-n", ns)
    assert res.rc == 1
    assert res.err.strip() == 'error: the server doesn\'t have a resource type "foo"'


def test_unknown_fields_follow_validate(node: Node, run: Kubectl) -> None:
    """--validate strict (the default) refuses a misspelt field; warn and ignore drop it."""
    ns = new_namespace(node, "strict")
    stdin = yaml.safe_dump(TYPO)
    res = run("create", "-n", ns, "-f", "-", stdin=stdin)
    assert res.rc == 1
    assert (
        res.err.strip()
        == f'Error from server (BadRequest): error when creating "STDIN": {STRICT_TYPO}'
    )
    res = run("apply", "-n", ns, "-f", "-", stdin=stdin)
    assert res.rc == 1
    assert (
        res.err.strip()
        == f'Error from server (BadRequest): error when creating "STDIN": {STRICT_TYPO}'
    )
    res = run("apply", "--server-side", "-n", ns, "-f", "-", stdin=stdin)
    assert res.rc == 1
    assert res.err.strip() == (
        f"Error from server: failed to create typed patch object ({ns}/typo; /v1, Kind=Pod): "
        '.spec.containers[name="app"].livenssProbe: field not declared in schema'
    )
    assert missing(node, f"/api/v1/namespaces/{ns}/pods/typo")
    res = run("create", "-n", ns, "--validate=warn", "-f", "-", stdin=stdin)
    assert res.rc == 0, res.err
    assert 'Warning: unknown field "spec.containers[0].livenssProbe"' in res.err
    stored = get(node, f"/api/v1/namespaces/{ns}/pods/typo")["spec"]["containers"][0]
    assert "livenssProbe" not in stored
    ignored = json.dumps({**TYPO, "metadata": {"name": "typo2"}})
    res = run("create", "-n", ns, "--validate=false", "-f", "-", stdin=ignored)
    assert res.rc == 0, res.err
    assert "Warning" not in res.err
    assert (
        "livenssProbe"
        not in get(node, f"/api/v1/namespaces/{ns}/pods/typo2")["spec"]["containers"][0]
    )


def test_unknown_field_in_a_second_apply_is_an_invalid_patch(node: Node, run: Kubectl) -> None:
    """The second apply is a strict strategic patch: 422 on ``patch``, the object unchanged."""
    ns = new_namespace(node, "reapply")
    first = configmap("cfg", data={"a": "1"})
    run.ok("apply", "-n", ns, "-f", "-", stdin=yaml.safe_dump(first))
    before = get(node, f"/api/v1/namespaces/{ns}/configmaps/cfg")
    second = {**first, "dta": {"b": "2"}}
    res = run("apply", "-n", ns, "-f", "-", stdin=yaml.safe_dump(second))
    assert res.rc == 1
    # The bad value is Go's %+v of the patch kubectl sent: its last-applied annotation and
    # the new field, keys sorted.
    applied = {**second, "metadata": {"annotations": {}, "name": "cfg", "namespace": ns}}
    last = json.dumps(applied, sort_keys=True, separators=(",", ":")) + "\n"
    patch_map = f"map[dta:map[b:2] metadata:map[annotations:map[{LAST_APPLIED}:{last}]]]"
    assert res.err.strip() == (
        f"The request is invalid: patch: Invalid value: {json.dumps(patch_map)}: strict decoding "
        'error: unknown field "dta"'
    )
    after = get(node, f"/api/v1/namespaces/{ns}/configmaps/cfg")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_missing_namespace_is_not_found_before_validation(node: Node, run: Kubectl) -> None:
    """Admission finds the namespace missing before the (invalid) object is validated."""
    bad = pod("bad", livenessProbe={"exec": {"command": ["true"]}, "successThreshold": 2})
    rc, err = create(run, "nope-missing", bad)
    assert rc == 1
    assert err == (
        'Error from server (NotFound): error when creating "STDIN": namespaces "nope-missing" '
        "not found"
    )
    res = run("create", "configmap", "c", "-n", "nope-missing", "--from-literal=a=b")
    assert res.rc == 1
    assert (
        res.err.strip() == 'error: failed to create configmap: namespaces "nope-missing" not found'
    )
    assert missing(node, "/api/v1/namespaces/nope-missing")


def test_replace_with_a_stale_resource_version_conflicts(node: Node, run: Kubectl) -> None:
    """replace -f with an old resourceVersion is the server's 409, and the object is unchanged."""
    ns = new_namespace(node, "stale")
    run.ok("create", "configmap", "cfg", "-n", ns, "--from-literal=a=1")
    old = get(node, f"/api/v1/namespaces/{ns}/configmaps/cfg")
    run.ok("label", "configmap", "cfg", "-n", ns, "touched=yes")
    current = get(node, f"/api/v1/namespaces/{ns}/configmaps/cfg")
    stale = {**old, "data": {"a": "2"}}
    res = run("replace", "-n", ns, "-f", "-", stdin=json.dumps(stale))
    assert res.rc == 1
    assert res.err.strip() == (
        'Error from server (Conflict): error when replacing "STDIN": Operation cannot be '
        'fulfilled on configmaps "cfg": the object has been modified; please apply your changes '
        "to the latest version and try again"
    )
    assert get(node, f"/api/v1/namespaces/{ns}/configmaps/cfg") == current


def test_a_body_over_the_limit_is_too_large(node: Node, tmp_path: Path) -> None:
    """A 4 MiB manifest is refused with 413 before it is decoded; nothing is stored."""
    ns = new_namespace(node, "large")
    big = configmap("big", data={"blob": "x" * (4 * 1024 * 1024)})
    res = kubectl(node, tmp_path)("create", "-n", ns, "-f", "-", stdin=json.dumps(big))
    assert res.rc == 1
    assert res.err.strip() == (
        'Error from server (RequestEntityTooLarge): error when creating "STDIN": Request entity '
        "too large: limit is 3145728"
    )
    assert missing(node, f"/api/v1/namespaces/{ns}/configmaps/big")


def test_node_ports_out_of_range_or_taken_are_refused(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A nodePort outside 30000-32767 or already allocated is refused; nothing is stored."""
    from tests.e2e.harness import Kubectl, Node, kubectl_binaries

    node = Node(tmp_path_factory.mktemp("nodeports"))
    assert node.up().rc == 0
    try:
        kubectl = Kubectl(kubectl_binaries()["1.33"], node, node.home / "k")
        out_of_range = kubectl(
            "create", "service", "nodeport", "np1", "--tcp=80:8080", "--node-port=33200"
        )
        assert out_of_range.rc == 1
        assert (
            "spec.ports[0].nodePort: Invalid value: 33200: provided port is not in the valid range. "
            "The range of valid ports is 30000-32767" in out_of_range.err
        )
        kubectl.ok("create", "service", "nodeport", "np2", "--tcp=80:8080", "--node-port=30500")
        taken = kubectl(
            "create", "service", "nodeport", "np3", "--tcp=80:8080", "--node-port=30500"
        )
        assert taken.rc == 1
        assert (
            "spec.ports[0].nodePort: Invalid value: 30500: provided port is already allocated"
            in taken.err
        )
        names = kubectl.ok("get", "services", "-o", "name").out.split()
        assert "service/np1" not in names and "service/np3" not in names and "service/np2" in names
        ip = kubectl.ok("get", "service", "np2", "-o", "jsonpath={.spec.clusterIP}").out
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(node.service_cidr)
    finally:
        node.down()
