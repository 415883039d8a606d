"""``kubectl create <generator>`` from kubectl 1.32/1.33, whose bodies are protobuf.

Those versions send every generator's object as ``application/vnd.kubernetes.protobuf``
with no JSON fallback. For each generator of a served kind, with its flags, the object the
server stores must be the one the same command describes with ``--dry-run=client -o
json``, and the same as creating that JSON description with ``create -f`` (a JSON body).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.harness import Kubectl, Node
from tests.e2e.test_bad_input_support import VERSIONS, get, kubectl, new_namespace

pytestmark = pytest.mark.e2e

PROTOBUF_VERSIONS = [v for v in sorted(VERSIONS) if int(v.split(".")[1]) >= 32]
VOLATILE_META = ("uid", "resourceVersion", "creationTimestamp", "namespace", "generation")
CONTROLLER_ANNOTATIONS = ("deployment.kubernetes.io/revision",)


def tls_pair(directory: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate and key for ``create secret tls``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeproc-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def generators(files: Path, node_port: int) -> dict[str, list[str]]:
    """Every ``kubectl create`` generator for a served kind, with the flags that shape it."""
    (files / "app.env").write_text("MODE=prod\nLEVEL=3\n")
    (files / "config.txt").write_text("line one\nline two\n")
    (files / "blob.bin").write_bytes(bytes(range(256)) + os.urandom(64))
    cert, key = tls_pair(files)
    return {
        "deployment/replicas-port": [
            "deployment", "d1", "--image=nginx:1.25", "--replicas=3", "--port=8080",
        ],
        "deployment/two-images": ["deployment", "d2", "--image=nginx", "--image=busybox"],
        "deployment/command": ["deployment", "d3", "--image=busybox", "--", "sleep", "3600"],
        "service/clusterip": ["service", "clusterip", "s1", "--tcp=80:8080", "--tcp=443:8443"],
        "service/headless": ["service", "clusterip", "s2", "--clusterip=None"],
        "service/nodeport": [
            "service", "nodeport", "s3", "--tcp=80:8080", f"--node-port={node_port}",
        ],
        "service/loadbalancer": ["service", "loadbalancer", "s4", "--tcp=5678:8080"],
        "service/externalname": [
            "service", "externalname", "s5", "--external-name=example.com", "--tcp=80:8080",
        ],
        "configmap/literals-files": [
            "configmap", "c1", "--from-literal=a=b", "--from-literal=empty=",
            f"--from-file=cfg={files / 'config.txt'}", f"--from-file={files / 'blob.bin'}",
        ],
        "configmap/env-file": ["configmap", "c2", f"--from-env-file={files / 'app.env'}"],
        "secret/generic": [
            "secret", "generic", "g1", "--from-literal=user=admin",
            f"--from-file=blob={files / 'blob.bin'}", "--type=example.com/custom",
        ],
        "secret/env-file": ["secret", "generic", "g2", f"--from-env-file={files / 'app.env'}"],
        "secret/tls": ["secret", "tls", "t1", f"--cert={cert}", f"--key={key}"],
        "secret/docker-registry": [
            "secret", "docker-registry", "r1", "--docker-server=registry.example.com",
            "--docker-username=u", "--docker-password=p", "--docker-email=u@example.com",
        ],
        "serviceaccount": ["serviceaccount", "sa1"],
    }  # fmt: skip


def path_of(obj: dict[str, Any], ns: str) -> str:
    kind, name = obj["kind"], obj["metadata"]["name"]
    plural = {"ServiceAccount": "serviceaccounts"}.get(kind, kind.lower() + "s")
    prefix = "/apis/apps/v1" if kind == "Deployment" else "/api/v1"
    return f"{prefix}/namespaces/{ns}/{plural}/{name}"


def set_fields(value: Any, path: str = "") -> dict[str, Any]:
    """The non-empty leaves of a described object, by path (what the generator chose)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(set_fields(item, f"{path}.{key}"))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(set_fields(item, f"{path}[{i}]"))
        return out
    return {} if value is None else {path: value}


def stored_form(obj: dict[str, Any]) -> dict[str, Any]:
    """A stored object without what differs between two creations of the same thing."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    for key in VOLATILE_META:
        meta.pop(key, None)
    # Controllers (the Deployment's, the LoadBalancer's) write too, on their own time:
    # only what the creating kubectl owns is the creation's.
    meta["managedFields"] = [
        entry
        for entry in meta.get("managedFields", [])
        if str(entry.get("manager", "")).startswith("kubectl")
    ]
    for entry in meta["managedFields"]:
        entry.pop("time", None)
    annotations = meta.get("annotations", {})
    for key in CONTROLLER_ANNOTATIONS:
        annotations.pop(key, None)
    if not annotations:
        meta.pop("annotations", None)
    obj.pop("status", None)
    spec = obj.get("spec", {})
    for key in ("clusterIP", "clusterIPs"):  # allocated per Service
        spec.pop(key, None)
    for port in spec.get("ports", []):
        port.pop("nodePort", None)
    return obj


def described(run: Kubectl, ns: str, args: list[str]) -> dict[str, Any]:
    res = run.ok("create", "-n", ns, "--dry-run=client", "-o", "json", *args)
    doc: dict[str, Any] = json.loads(res.out)
    return doc


@pytest.fixture(params=PROTOBUF_VERSIONS, ids=lambda v: f"kubectl{v}")
def run(node: Node, tmp_path: Path, request: pytest.FixtureRequest) -> Kubectl:
    return kubectl(node, tmp_path / "home", request.param)


def test_generators_send_protobuf(node: Node, run: Kubectl) -> None:
    """The generator body really is protobuf (kubectl logs its request headers at -v=8)."""
    ns = new_namespace(node, "pb-wire")
    res = run.ok("create", "deployment", "wire", "-n", ns, "--image=nginx", "-v=8")
    assert "Content-Type: application/vnd.kubernetes.protobuf" in res.err
    assert res.out.strip() == "deployment.apps/wire created"


def test_generators_create_what_they_describe_and_what_json_would(
    node: Node, run: Kubectl, tmp_path: Path
) -> None:
    """Each generator's stored object matches its dry-run and the same object sent as JSON."""
    via_protobuf = new_namespace(node, "pb")
    via_json = new_namespace(node, "js")
    files = tmp_path / "files"
    files.mkdir()
    node_port = 32000 + int(run.binary.name.rsplit(".", 1)[-1]) * 10  # in 30000-32767
    mismatches: dict[str, Any] = {}
    for case, args in generators(files, node_port).items():
        doc = described(run, via_protobuf, args)
        out = run.ok("create", "-n", via_protobuf, *args).out.strip()
        kind = doc["kind"].lower() + (".apps" if doc["kind"] == "Deployment" else "")
        assert out == f"{kind}/{doc['metadata']['name']} created", case
        stored = get(node, path_of(doc, via_protobuf))
        stored_leaves = set_fields(stored)
        wrong = {
            path: (value, stored_leaves.get(path))
            for path, value in set_fields(doc).items()
            if path != ".metadata.namespace" and stored_leaves.get(path) != value
        }
        if doc["kind"] == "Service" and doc["spec"].get("type") == "NodePort":
            doc["spec"]["ports"][0]["nodePort"] = node_port + 1  # one port, one service
        doc["metadata"].pop("namespace", None)
        run.ok("create", "-n", via_json, "-f", "-", stdin=json.dumps(doc))
        twin = get(node, path_of(doc, via_json))
        if wrong or stored_form(stored) != stored_form(twin):
            mismatches[case] = {"dry-run": wrong, "protobuf": stored, "json": twin}
    assert mismatches == {}


def test_namespace_generator(node: Node, run: Kubectl) -> None:
    """create namespace: protobuf and JSON namespaces are the same object but for the name."""
    suffix = run.binary.name.rsplit(".", 1)[-1]
    name, twin_name = f"pb-ns-{suffix}", f"js-ns-{suffix}"
    doc = json.loads(run.ok("create", "namespace", name, "--dry-run=client", "-o", "json").out)
    assert run.ok("create", "namespace", name).out.strip() == f"namespace/{name} created"
    twin = {**doc, "metadata": {**doc["metadata"], "name": twin_name}}
    run.ok("create", "-f", "-", stdin=json.dumps(twin))

    def normal(ns_name: str) -> dict[str, Any]:
        obj = stored_form(get(node, f"/api/v1/namespaces/{ns_name}"))
        obj["metadata"].pop("name")
        labels = obj["metadata"].get("labels", {})
        assert labels.pop("kubernetes.io/metadata.name") == ns_name
        return obj

    assert normal(name) == normal(twin_name)
    for ns_name in (name, twin_name):
        node.http("DELETE", f"/api/v1/namespaces/{ns_name}")
