"""Real ``kubectl create <generator>`` protobuf bodies decode to the JSON kubectl would print.

Each ``fixtures/<name>.bin`` is a request body captured from kubectl 1.33 (1.32 sends the
same bytes) posting to a throwaway server; ``fixtures/<name>.json`` is what the same
command printed with ``--dry-run=client -o json``, i.e. the same object as JSON. The
commands:

* deployment: ``create deployment web --image=nginx --replicas=2 --port=80 -- sleep 100``
* deployment-multi: ``create deployment multi --image=nginx:1.25 --image=busybox``
* deployment-ns: ``create deployment d2 --image=nginx -n team-a``
* namespace: ``create namespace x``
* service-clusterip: ``create service clusterip s --tcp=80:8080``
* service-headless: ``create service clusterip h --clusterip=None``
* service-nodeport: ``create service nodeport n --tcp=80:8080 --node-port=30080``
* service-loadbalancer: ``create service loadbalancer lb --tcp=443:8443 --tcp=80``
* service-externalname: ``create service externalname ext --external-name=example.com --tcp=80``
* configmap: ``create configmap c --from-literal=a=b --from-literal=empty=``
* configmap-files: ``create configmap files --from-file=greeting.txt --from-file=blob.bin``
* secret-generic: ``create secret generic s --from-literal=k=v --from-file=blob.bin``
* secret-typed: ``create secret generic typed --type=kubernetes.io/basic-auth
  --from-literal=username=admin``
* secret-tls: ``create secret tls t --cert=tls.crt --key=tls.key`` (a throwaway
  self-signed P-256 pair made for this fixture only)
* secret-docker: ``create secret docker-registry reg --docker-server=reg.example.com
  --docker-username=u --docker-password=p --docker-email=e@example.com``
* serviceaccount: ``create serviceaccount sa``
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kubeproc.api.protobuf import CONTENT_TYPE, MAGIC, decode_body

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.bin"))


def _decode(name: str) -> dict[str, Any]:
    return decode_body((FIXTURES / f"{name}.bin").read_bytes())


def test_every_generator_has_a_fixture() -> None:
    """The captured set covers every generator for the kinds we serve."""
    assert len(NAMES) == 16
    assert {name.split("-")[0] for name in NAMES} == {
        "configmap",
        "deployment",
        "namespace",
        "secret",
        "service",
        "serviceaccount",
    }


@pytest.mark.parametrize("name", NAMES)
def test_body_decodes_to_the_dry_run_json(name: str) -> None:
    """A captured body decodes to exactly what kubectl prints for the same object as JSON."""
    expected = json.loads((FIXTURES / f"{name}.json").read_text())

    assert _decode(name) == expected


@pytest.mark.parametrize("name", NAMES)
def test_body_is_kubernetes_protobuf(name: str) -> None:
    """Every captured body starts with the k8s\\0 prefix the media type promises."""
    assert (FIXTURES / f"{name}.bin").read_bytes().startswith(MAGIC)
    assert CONTENT_TYPE == "application/vnd.kubernetes.protobuf"


def test_deployment_carries_replicas_port_and_command() -> None:
    """The deployment generator's flags land where the JSON body would have them."""
    deployment = _decode("deployment")

    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["kind"] == "Deployment"
    assert deployment["metadata"] == {
        "name": "web",
        "labels": {"app": "web"},
        "creationTimestamp": None,
    }
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["strategy"] == {}
    container = spec["template"]["spec"]["containers"][0]
    assert container == {
        "name": "nginx",
        "image": "nginx",
        "command": ["sleep", "100"],
        "ports": [{"containerPort": 80}],
        "resources": {},
    }
    assert deployment["status"] == {}


def test_deployment_with_two_images_has_two_containers() -> None:
    """``--image`` given twice becomes two containers named after the images."""
    containers = _decode("deployment-multi")["spec"]["template"]["spec"]["containers"]

    assert [(c["name"], c["image"]) for c in containers] == [
        ("nginx", "nginx:1.25"),
        ("busybox", "busybox"),
    ]


def test_deployment_namespace_flag_is_in_metadata() -> None:
    """``-n team-a`` puts the namespace into the object's metadata."""
    assert _decode("deployment-ns")["metadata"]["namespace"] == "team-a"


def test_service_ports_keep_int_target_ports() -> None:
    """``--tcp=80:8080`` becomes a port with an integer targetPort, nodePort when given."""
    clusterip = _decode("service-clusterip")["spec"]
    nodeport = _decode("service-nodeport")["spec"]

    assert clusterip["type"] == "ClusterIP"
    assert clusterip["ports"] == [
        {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}
    ]
    assert nodeport["type"] == "NodePort"
    assert nodeport["ports"][0]["nodePort"] == 30080


def test_headless_service_has_cluster_ip_none() -> None:
    """``--clusterip=None`` is sent as the string None, with no ports."""
    spec = _decode("service-headless")["spec"]

    assert spec["clusterIP"] == "None"
    assert "ports" not in spec


def test_externalname_service_keeps_external_name() -> None:
    """An ExternalName service carries its type and externalName."""
    spec = _decode("service-externalname")["spec"]

    assert spec["type"] == "ExternalName"
    assert spec["externalName"] == "example.com"


def test_configmap_keeps_empty_values_and_binary_data() -> None:
    """Literal values (even empty) are strings; non-UTF-8 files go to binaryData as base64."""
    literal = _decode("configmap")
    files = _decode("configmap-files")

    assert literal["data"] == {"a": "b", "empty": ""}
    assert files["data"] == {"greeting.txt": "hello\nworld\n"}
    assert base64.b64decode(files["binaryData"]["blob.bin"]) == b"\x00\x01\x02\xff\xfe"


def test_secret_data_is_base64_with_type() -> None:
    """Secret values are base64 strings, as JSON carries []byte; the type is kept."""
    generic = _decode("secret-generic")
    typed = _decode("secret-typed")

    assert base64.b64decode(generic["data"]["k"]) == b"v"
    assert base64.b64decode(generic["data"]["blob.bin"]) == b"\x00\x01\x02\xff\xfe"
    assert "type" not in generic
    assert typed["type"] == "kubernetes.io/basic-auth"


def test_tls_and_docker_registry_secrets() -> None:
    """The tls and docker-registry generators send typed secrets with their fixed keys."""
    tls = _decode("secret-tls")
    docker = _decode("secret-docker")

    assert tls["type"] == "kubernetes.io/tls"
    assert sorted(tls["data"]) == ["tls.crt", "tls.key"]
    assert base64.b64decode(tls["data"]["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")
    assert docker["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(docker["data"][".dockerconfigjson"]))
    assert config["auths"]["reg.example.com"]["username"] == "u"


def test_namespace_and_serviceaccount_are_minimal() -> None:
    """Namespace and ServiceAccount bodies hold little more than a name."""
    assert _decode("namespace") == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "x", "creationTimestamp": None},
        "spec": {},
        "status": {},
    }
    assert _decode("serviceaccount") == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "sa", "creationTimestamp": None},
    }
