"""Every installed kubectl (1.29-1.33), run directly, against a real kubeproc node.

Each version gets its own node and HOME; each test its own namespace. The expected lines
are what the same kubectl prints against a real cluster.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Kubectl, Node, kubectl_binaries, squash, wait_for

pytestmark = pytest.mark.e2e

VERSIONS = kubectl_binaries(min_minor=29)
_ns_counter = itertools.count()

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  terminationGracePeriodSeconds: 1  # sleep as PID 1 ignores SIGTERM; do not wait 30 s
  containers:
  - name: main
    image: nginx:1.25
    command: ["sleep", "3600"]
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 5
    readinessProbe:
      tcpSocket: {port: 8080}
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        image: nginx:1.25
        command: ["sleep", "3600"]
"""

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
"""

NETPOL = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-front
spec:
  podSelector:
    matchLabels: {app: web}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: front}
    ports:
    - protocol: TCP
      port: 80
"""


@pytest.fixture(scope="module", params=sorted(VERSIONS), ids=lambda v: f"kubectl{v}")
def kubectl(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kubectl]:
    base = tmp_path_factory.mktemp(f"matrix-{request.param}")
    node = Node(base)
    res = node.up()
    assert res.rc == 0, res.err
    try:
        yield Kubectl(VERSIONS[request.param], node, base / "kubectl-home")
    finally:
        assert node.down().rc == 0


@pytest.fixture
def ns(kubectl: Kubectl) -> str:
    name = f"t{next(_ns_counter)}"
    kubectl.ok("create", "namespace", name)
    return name


def test_versions_installed() -> None:
    """The machine has the kubectl versions the matrix promises to cover."""
    assert {"1.29", "1.30", "1.31", "1.32", "1.33"} <= set(VERSIONS)


def test_apply_create_change_unchanged(kubectl: Kubectl, ns: str) -> None:
    """apply -f creates, then configures a change, then reports unchanged."""
    assert kubectl.ok("apply", "-n", ns, "-f", "-", stdin=POD).out.strip() == "pod/web created"
    changed = POD.replace("tier: front", "tier: back")
    assert (
        kubectl.ok("apply", "-n", ns, "-f", "-", stdin=changed).out.strip() == "pod/web configured"
    )
    assert (
        kubectl.ok("apply", "-n", ns, "-f", "-", stdin=changed).out.strip() == "pod/web unchanged"
    )
    labels = kubectl.ok("get", "pod", "web", "-n", ns, "-o", "jsonpath={.metadata.labels.tier}").out
    assert labels == "back"


def test_create_and_already_exists(kubectl: Kubectl, ns: str) -> None:
    """create -f creates once; the second create is the server's AlreadyExists."""
    out = kubectl.ok("create", "-n", ns, "-f", "-", stdin=DEPLOYMENT).out.strip()
    assert out == "deployment.apps/web created"
    again = kubectl("create", "-n", ns, "-f", "-", stdin=DEPLOYMENT)
    assert again.rc == 1
    assert (
        'Error from server (AlreadyExists): error when creating "STDIN": deployments.apps "web" already exists'
        in again.err
    )


def test_get_every_kind(kubectl: Kubectl, ns: str) -> None:
    """get of every served kind prints a table with that kind's columns."""
    kubectl.ok("apply", "-n", ns, "-f", "-", stdin=POD + "---" + SERVICE + "---" + NETPOL)
    kubectl.ok("create", "configmap", "cfg", "-n", ns, "--from-literal=a=b")
    expected = {
        "pods": ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "services": ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        "configmaps": ["NAME", "DATA", "AGE"],
        "networkpolicies": ["NAME", "POD-SELECTOR", "AGE"],
        "serviceaccounts": ["NAME", "SECRETS", "AGE"],
    }
    for kind, header in expected.items():
        out = kubectl.ok("get", kind, "-n", ns).out
        assert out.splitlines()[0].split() == header, (kind, out)
    nodes = kubectl.ok("get", "nodes").out.splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    namespaces = kubectl.ok("get", "namespaces").out
    for name in ("default", "kube-system", "kube-public", "kube-node-lease", ns):
        assert any(line.split()[:2] == [name, "Active"] for line in namespaces.splitlines()), (
            namespaces
        )
    for kind in (
        "endpoints",
        "endpointslices",
        "events",
        "secrets",
        "replicationcontrollers",
        "replicasets",
        "deployments",
        "leases",
    ):
        res = kubectl("get", kind, "-n", ns)
        assert res.rc == 0, (kind, res.err)
    leases = kubectl.ok("get", "leases", "-n", "kube-node-lease").out
    assert leases.splitlines()[0].split() == ["NAME", "HOLDER", "AGE"]


def test_get_output_formats(kubectl: Kubectl, ns: str) -> None:
    """get supports -o wide|yaml|json|jsonpath|name, -l and -A."""
    kubectl.ok("apply", "-n", ns, "-f", "-", stdin=POD)
    wide = kubectl.ok("get", "pods", "-n", ns, "-o", "wide").out.splitlines()
    assert wide[0].split() == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert wide[1].split()[0] == "web"
    assert wide[1].split()[2] in ("Pending", "ContainerCreating", "Running")
    wait_for(
        lambda: (
            kubectl.ok("get", "pod", "web", "-n", ns, "-o", "jsonpath={.status.phase}").out
            == "Running"
        ),
        what="pod web running",
    )
    running = kubectl.ok("get", "pods", "-n", ns, "-o", "wide").out.splitlines()[1].split()
    assert running[2] == "Running" and running[5].count(".") == 3
    doc = json.loads(kubectl.ok("get", "pod", "web", "-n", ns, "-o", "json").out)
    assert doc["spec"]["containers"][0]["livenessProbe"]["timeoutSeconds"] == 1
    assert doc["spec"]["nodeName"]
    assert "apiVersion: v1" in kubectl.ok("get", "pod", "web", "-n", ns, "-o", "yaml").out
    assert kubectl.ok("get", "pods", "-n", ns, "-o", "name").out.strip() == "pod/web"
    assert (
        kubectl.ok("get", "pods", "-n", ns, "-l", "app=web", "-o", "name").out.strip() == "pod/web"
    )
    none = kubectl.ok("get", "pods", "-n", ns, "-l", "app=nope")
    assert f"No resources found in {ns} namespace." in none.err
    every = kubectl.ok("get", "pods", "-A").out.splitlines()
    assert every[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [ns, "web"] for line in every[1:])


def test_get_watch_sees_changes(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    """get -w prints the existing rows, then a row for each change."""
    kubectl.ok("apply", "-n", ns, "-f", "-", stdin=POD)
    out_file = tmp_path / "watch.out"
    with out_file.open("w") as sink:
        proc = subprocess.Popen(
            [str(kubectl.binary), "get", "pods", "-n", ns, "-w"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={
                "HOME": str(kubectl.home),
                "KUBECONFIG": str(kubectl.node.kubeconfig),
                "PATH": "/usr/bin:/bin",
            },
        )
        try:
            wait_for(lambda: "web" in out_file.read_text(), what="initial row")
            kubectl.ok("label", "pod", "web", "-n", ns, "extra=1")
            wait_for(lambda: out_file.read_text().count("web") >= 2, what="modified row")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    lines = [ln for ln in out_file.read_text().splitlines() if ln.strip()]
    assert lines[0].split()[:3] == ["NAME", "READY", "STATUS"]
    assert all("<unknown>" not in ln for ln in lines)


def test_describe(kubectl: Kubectl, ns: str) -> None:
    """describe pod, service, deployment and node print their sections."""
    kubectl.ok(
        "apply",
        "-n",
        ns,
        "-f",
        "-",
        stdin=POD
        + "---"
        + SERVICE
        + "---"
        + DEPLOYMENT.replace("name: web\n  labels", "name: webd\n  labels"),
    )
    wait_for(
        lambda: (
            kubectl.ok("get", "pod", "web", "-n", ns, "-o", "jsonpath={.status.phase}").out
            == "Running"
        ),
        what="pod web running",
    )
    pod = squash(kubectl.ok("describe", "pod", "web", "-n", ns).out)
    assert "Status: Running" in pod
    assert (
        "Liveness: http-get http://:8080/healthz delay=0s timeout=1s period=5s #success=1 #failure=3"
        in pod
    )
    assert "Readiness: tcp-socket :8080 delay=0s timeout=1s period=10s #success=1 #failure=3" in pod
    svc = squash(kubectl.ok("describe", "service", "web", "-n", ns).out)
    assert "Selector: app=web" in svc
    dep = squash(kubectl.ok("describe", "deployment", "webd", "-n", ns).out)
    assert "StrategyType: RollingUpdate" in dep
    assert "RollingUpdateStrategy: 25% max unavailable, 25% max surge" in dep
    node_name = kubectl.ok("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").out
    node = squash(kubectl.ok("describe", "node", node_name).out)
    assert "Capacity:" in node and "Allocatable:" in node
    assert f"HolderIdentity: {node_name}" in node


def test_delete_forms(kubectl: Kubectl, ns: str) -> None:
    """delete by name, -f, -l and --all removes exactly what it names."""
    for i in range(4):
        kubectl.ok("create", "configmap", f"c{i}", "-n", ns, f"--from-literal=k={i}")
    kubectl.ok("label", "configmap", "c2", "-n", ns, "drop=yes")
    assert kubectl.ok("delete", "configmap", "c0", "-n", ns).out.strip() == 'configmap "c0" deleted'
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n"
    assert (
        kubectl.ok("delete", "-n", ns, "-f", "-", stdin=manifest).out.strip()
        == 'configmap "c1" deleted'
    )
    assert (
        kubectl.ok("delete", "configmap", "-n", ns, "-l", "drop=yes").out.strip()
        == 'configmap "c2" deleted'
    )
    names = kubectl.ok("get", "configmaps", "-n", ns, "-o", "name").out.split()
    assert "configmap/c3" in names and "configmap/c0" not in names
    kubectl.ok("delete", "configmap", "-n", ns, "--all")
    wait_for(
        lambda: "configmap/c3" not in kubectl.ok("get", "configmaps", "-n", ns, "-o", "name").out,
        what="configmaps gone",
    )
    missing = kubectl("delete", "configmap", "nope", "-n", ns)
    assert missing.rc == 1
    assert 'Error from server (NotFound): configmaps "nope" not found' in missing.err


def test_label_annotate_patch(kubectl: Kubectl, ns: str) -> None:
    """label, annotate and all three patch types change the object."""
    kubectl.ok("apply", "-n", ns, "-f", "-", stdin=DEPLOYMENT)
    assert (
        kubectl.ok("label", "deployment", "web", "-n", ns, "env=prod").out.strip()
        == "deployment.apps/web labeled"
    )
    assert (
        kubectl.ok("annotate", "deployment", "web", "-n", ns, "note=hi").out.strip()
        == "deployment.apps/web annotated"
    )
    kubectl.ok("patch", "deployment", "web", "-n", ns, "-p", '{"spec":{"replicas":3}}')
    kubectl.ok(
        "patch",
        "deployment",
        "web",
        "-n",
        ns,
        "--type=merge",
        "-p",
        '{"metadata":{"labels":{"m":"1"}}}',
    )
    kubectl.ok(
        "patch",
        "deployment",
        "web",
        "-n",
        ns,
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.26"}]',
    )
    doc = kubectl.ok("get", "deployment", "web", "-n", ns, "-o", "json").json()
    assert doc["metadata"]["labels"] == {"app": "web", "env": "prod", "m": "1"}
    assert doc["metadata"]["annotations"]["note"] == "hi"
    assert doc["spec"]["replicas"] == 3
    assert doc["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert doc["metadata"]["generation"] == 3


def test_edit_with_scripted_editor(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    """edit round-trips the object through $EDITOR and saves the change."""
    kubectl.ok("create", "configmap", "cfg", "-n", ns, "--from-literal=color=blue")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/color: blue/color: green/' \"$1\"\n")
    editor.chmod(0o755)
    out = kubectl.ok("edit", "configmap", "cfg", "-n", ns, env={"KUBE_EDITOR": str(editor)}).out
    assert out.strip() == "configmap/cfg edited"
    assert (
        kubectl.ok("get", "configmap", "cfg", "-n", ns, "-o", "jsonpath={.data.color}").out
        == "green"
    )


def test_scale(kubectl: Kubectl, ns: str) -> None:
    """scale sets replicas through the scale subresource, with --current-replicas too."""
    kubectl.ok("apply", "-n", ns, "-f", "-", stdin=DEPLOYMENT)
    assert (
        kubectl.ok("scale", "deployment", "web", "-n", ns, "--replicas=4").out.strip()
        == "deployment.apps/web scaled"
    )
    kubectl.ok("scale", "deployment", "web", "-n", ns, "--current-replicas=4", "--replicas=1")
    assert (
        kubectl.ok("get", "deployment", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}").out
        == "1"
    )
    wrong = kubectl("scale", "deployment", "web", "-n", ns, "--current-replicas=7", "--replicas=2")
    assert wrong.rc == 1
    assert wrong.err.strip() == "error: Expected replicas to be 7, was 1"


def test_server_side_apply(kubectl: Kubectl, ns: str) -> None:
    """apply --server-side creates, then updates, with serverside-applied both times."""
    out = kubectl.ok("apply", "--server-side", "-n", ns, "-f", "-", stdin=NETPOL).out.strip()
    assert out == "networkpolicy.networking.k8s.io/allow-front serverside-applied"
    out = kubectl.ok(
        "apply",
        "--server-side",
        "-n",
        ns,
        "-f",
        "-",
        stdin=NETPOL.replace("port: 80", "port: 8080"),
    ).out.strip()
    assert out == "networkpolicy.networking.k8s.io/allow-front serverside-applied"
    port = kubectl.ok(
        "get", "netpol", "allow-front", "-n", ns, "-o", "jsonpath={.spec.ingress[0].ports[0].port}"
    ).out
    assert port == "8080"
    managers = kubectl.ok(
        "get", "netpol", "allow-front", "-n", ns, "-o", "json", "--show-managed-fields"
    ).json()
    assert any(
        m["manager"] == "kubectl" and m["operation"] == "Apply"
        for m in managers["metadata"]["managedFields"]
    )


def test_explain_probe(kubectl: Kubectl) -> None:
    """explain walks pod.spec.containers.livenessProbe and lists the Probe fields."""
    out = kubectl.ok("explain", "pod.spec.containers.livenessProbe").out
    assert squash(out).startswith("KIND: Pod\nVERSION: v1\n")
    assert "FIELD: livenessProbe <Probe>" in squash(out)
    for field in (
        "exec\t<ExecAction>",
        "failureThreshold\t<integer>",
        "httpGet\t<HTTPGetAction>",
        "initialDelaySeconds\t<integer>",
        "periodSeconds\t<integer>",
        "tcpSocket\t<TCPSocketAction>",
        "timeoutSeconds\t<integer>",
    ):
        assert field in out, field


def test_create_generators(kubectl: Kubectl, ns: str) -> None:
    """create deployment|namespace|service|configmap|secret generic all succeed."""
    gen_ns = f"{ns}-gen"
    assert kubectl.ok("create", "namespace", gen_ns).out.strip() == f"namespace/{gen_ns} created"
    assert (
        kubectl.ok(
            "create", "deployment", "d2", "-n", ns, "--image=nginx", "--replicas=2"
        ).out.strip()
        == "deployment.apps/d2 created"
    )
    assert (
        kubectl.ok("create", "service", "clusterip", "s2", "-n", ns, "--tcp=80:8080").out.strip()
        == "service/s2 created"
    )
    assert (
        kubectl.ok("create", "configmap", "c2", "-n", ns, "--from-literal=a=b").out.strip()
        == "configmap/c2 created"
    )
    assert (
        kubectl.ok("create", "secret", "generic", "s2", "-n", ns, "--from-literal=k=v").out.strip()
        == "secret/s2 created"
    )
    dep = kubectl.ok("get", "deployment", "d2", "-n", ns, "-o", "json").json()
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    secret = kubectl.ok("get", "secret", "s2", "-n", ns, "-o", "jsonpath={.data.k}").out
    assert secret == "dg=="
    svc = kubectl.ok("get", "service", "s2", "-n", ns, "-o", "json").json()
    assert svc["spec"]["ports"][0]["targetPort"] == 8080


def test_api_resources_and_versions(kubectl: Kubectl) -> None:
    """api-resources lists short names and kinds; api-versions lists every group-version."""
    res = kubectl.ok("api-resources").out
    # By (name, kind): metrics.k8s.io lists its own "pods" and "nodes", as metrics-server's do.
    rows = {(line.split()[0], line.split()[-1]): line.split() for line in res.splitlines()[1:]}
    assert rows["pods", "Pod"][1:] == ["po", "v1", "true", "Pod"]
    assert rows["pods", "PodMetrics"][1:] == ["metrics.k8s.io/v1beta1", "true", "PodMetrics"]
    assert rows["deployments", "Deployment"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert rows["namespaces", "Namespace"][1:] == ["ns", "v1", "false", "Namespace"]
    versions = kubectl.ok("api-versions").out.split()
    for gv in (
        "v1",
        "apps/v1",
        "networking.k8s.io/v1",
        "discovery.k8s.io/v1",
        "coordination.k8s.io/v1",
        "events.k8s.io/v1",
    ):
        assert gv in versions


def test_get_events(kubectl: Kubectl, ns: str) -> None:
    """get events shows events posted for an object, with the real columns."""
    kubectl.ok("apply", "-n", ns, "-f", "-", stdin=POD)
    uid = kubectl.ok("get", "pod", "web", "-n", ns, "-o", "jsonpath={.metadata.uid}").out
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.1", "namespace": ns},
        "involvedObject": {
            "kind": "Pod",
            "name": "web",
            "namespace": ns,
            "uid": uid,
            "apiVersion": "v1",
        },
        "reason": "Scheduled",
        "message": "Successfully assigned to the node",
        "type": "Normal",
        "source": {"component": "default-scheduler"},
        "count": 1,
        "firstTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "lastTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    kubectl.ok("create", "-f", "-", stdin=json.dumps(event))
    out = kubectl.ok("get", "events", "-n", ns).out.splitlines()
    assert out[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert out[1].split()[1:4] == ["Normal", "Scheduled", "pod/web"]
    described = kubectl.ok("describe", "pod", "web", "-n", ns).out
    assert "Successfully assigned to the node" in described
