"""Every served kind can be applied (strictly validated), re-applied unchanged, and explained."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Kubectl, Node, kubectl_binaries, squash

pytestmark = pytest.mark.e2e

VERSIONS = kubectl_binaries(min_minor=29)
OLDEST, NEWEST = (
    min(VERSIONS, key=lambda v: int(v.split(".")[1])),
    max(VERSIONS, key=lambda v: int(v.split(".")[1])),
)

MANIFESTS = {
    "configmap/cm": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n",
    "secret/sec": "apiVersion: v1\nkind: Secret\nmetadata: {name: sec}\nstringData: {k: v}\n",
    "serviceaccount/sa": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n",
    "service/svc": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\n"
        "spec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n"
    ),
    "endpoints/ep": (
        "apiVersion: v1\nkind: Endpoints\nmetadata: {name: ep}\n"
        "subsets: [{addresses: [{ip: 10.1.0.5}], ports: [{port: 80, protocol: TCP}]}]\n"
    ),
    "endpointslice.discovery.k8s.io/es": (
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: es}\n"
        "addressType: IPv4\nendpoints: [{addresses: [10.1.0.5]}]\nports: [{name: '', port: 80, protocol: TCP}]\n"
    ),
    "lease.coordination.k8s.io/ls": (
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: ls}\n"
        "spec: {holderIdentity: me, leaseDurationSeconds: 15}\n"
    ),
    "networkpolicy.networking.k8s.io/np": (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\n"
        "spec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n"
    ),
    "replicationcontroller/rc": (
        "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\n"
        "spec:\n  replicas: 1\n  selector: {app: rc}\n  template:\n"
        "    metadata: {labels: {app: rc}}\n"
        "    spec: {containers: [{name: c, image: busybox, command: [sleep, '1000']}]}\n"
    ),
    "replicaset.apps/rs": (
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\n"
        "spec:\n  replicas: 1\n  selector: {matchLabels: {app: rs}}\n  template:\n"
        "    metadata: {labels: {app: rs}}\n"
        "    spec: {containers: [{name: c, image: busybox, command: [sleep, '1000']}]}\n"
    ),
    "deployment.apps/dep": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dep}\n"
        "spec:\n  replicas: 1\n  selector: {matchLabels: {app: dep}}\n  template:\n"
        "    metadata: {labels: {app: dep}}\n"
        "    spec: {containers: [{name: c, image: busybox, command: [sleep, '1000']}]}\n"
    ),
    "pod/pod": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: pod}\n"
        "spec: {terminationGracePeriodSeconds: 1,"
        " containers: [{name: c, image: busybox, command: [sleep, '1000']}]}\n"
    ),
    "event/ev": (
        "apiVersion: v1\nkind: Event\nmetadata: {name: ev}\n"
        "involvedObject: {kind: Pod, name: pod, namespace: NS}\nreason: Test\nmessage: hi\n"
    ),
}

EXPLAIN = {
    "pods": "Pod",
    "services": "Service",
    "endpoints": "Endpoints",
    "events": "Event",
    "namespaces": "Namespace",
    "nodes": "Node",
    "configmaps": "ConfigMap",
    "secrets": "Secret",
    "serviceaccounts": "ServiceAccount",
    "replicationcontrollers": "ReplicationController",
    "replicasets": "ReplicaSet",
    "deployments": "Deployment",
    "leases": "Lease",
    "endpointslices": "EndpointSlice",
    "networkpolicies": "NetworkPolicy",
}


@pytest.fixture(scope="module", params=sorted({OLDEST, NEWEST}), ids=lambda v: f"kubectl{v}")
def kubectl(
    request: pytest.FixtureRequest, node: Node, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kubectl]:
    yield Kubectl(VERSIONS[request.param], node, tmp_path_factory.mktemp("home"))


def test_apply_every_kind(kubectl: Kubectl) -> None:
    """apply -f creates each kind under strict validation, and a second apply is unchanged."""
    ns = f"every-{kubectl.binary.name.replace('.', '-')}"
    kubectl.ok("create", "namespace", ns)
    for ref, manifest in MANIFESTS.items():
        text = manifest.replace("NS", ns)
        out = kubectl.ok("apply", "-n", ns, "-f", "-", stdin=text).out.strip()
        assert out == f"{ref} created", (ref, out)
        again = kubectl.ok("apply", "-n", ns, "-f", "-", stdin=text).out.strip()
        assert again == f"{ref} unchanged", (ref, again)


def test_explain_every_kind(kubectl: Kubectl) -> None:
    """explain prints the kind, its version and its fields for every served resource."""
    for plural, kind in EXPLAIN.items():
        out = squash(kubectl.ok("explain", plural).out)
        assert f"KIND: {kind}\n" in out, (plural, out[:200])
        assert "FIELDS:" in out and "metadata <ObjectMeta>" in out, (plural, out[:400])
