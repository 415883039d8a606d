"""NetworkPolicy truth table: each policy set gives the reachability Kubernetes defines.

One real node (oci runtime) for the module, two namespaces labelled ``team=a`` and
``team=b``, five pods: in A ``web`` (app=web, tier=front), ``db`` (app=db) and ``client``
(app=client); in B ``web`` (app=web) and ``client`` (app=client). Each serves TCP 80
(``http``), TCP 81 (``alt``) and UDP 82 (``udp``); nothing listens on 8080. Service
``web`` in A sends its ports 80 and 81 to ``http`` and ``alt`` of a-web. Every pod probes
every other pod's four ports, the Service's two and the cluster DNS from inside its own
network namespace (``netpol_support``).

Each scenario applies its policies with kubectl, then waits until the whole matrix equals
the grid written below it, by hand, from the Kubernetes semantics (never computed by
kubeproc's code); a blocked connection must hang ("dropped"), not be refused. Then the
policies are deleted and every cell must be back to its no-policy answer before the next
scenario. ``pytest -s`` prints how long each matrix took to converge: the time from the
write returning to the end of the first probe that saw the whole grid, so it includes that
probe (about 0.4 s when every cell answers, 1.3 s when any is dropped: the probe waits
out its timeouts).

Grid rows: client pod, then per target pod ``80 81 82/udp 8080``, then the Service's 80
and 81, then DNS: ``o`` ok, ``r`` refused, ``x`` dropped, ``.`` not probed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.harness import Kubectl, Node
from tests.e2e.netpol_support import Cluster, Matrix, converge, grid, start_cluster
from tests.e2e.test_kubelet_support import kubectl_for, namespace, require_oci

pytestmark = [pytest.mark.e2e, pytest.mark.long]

#                a-web a-db a-cli b-web b-cli svc dns
#      each pod: 80 81 82/udp 8080; svc: 80 81
ALL_OK = grid("""
    a-web        .... ooor ooor ooor ooor  ..   o
    a-db         ooor .... ooor ooor ooor  oo   o
    a-cli        ooor ooor .... ooor ooor  oo   o
    b-web        ooor ooor ooor .... ooor  oo   o
    b-cli        ooor ooor ooor ooor ....  oo   o
""")
ALL_DROPPED = grid("""
    a-web        .... xxxx xxxx xxxx xxxx  ..   x
    a-db         xxxx .... xxxx xxxx xxxx  xx   x
    a-cli        xxxx xxxx .... xxxx xxxx  xx   x
    b-web        xxxx xxxx xxxx .... xxxx  xx   x
    b-cli        xxxx xxxx xxxx xxxx ....  xx   x
""")


def policy(name: str, spec: str, namespace: str = "NS_A") -> str:
    """One NetworkPolicy document; ``spec`` is its YAML, placeholders as in Cluster.render."""
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return (
        f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{body}\n---\n"
    )


DENY_INGRESS = policy("deny-ingress", "podSelector: {}\npolicyTypes: [Ingress]")
DENY_EGRESS = policy("deny-egress", "podSelector: {}\npolicyTypes: [Egress]")
DB_FROM_WEB = policy("db", """
    podSelector: {matchLabels: {app: db}}
    ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
""")  # fmt: skip
DB_FROM_CLIENT = policy("db", """
    podSelector: {matchLabels: {app: db}}
    ingress:
    - from: [{podSelector: {matchLabels: {app: client}}}]
""")  # fmt: skip
DB_FROM_FRIENDS = policy("db-friends", """
    podSelector: {matchLabels: {app: db}}
    ingress:
    - from:
      - podSelector: {matchLabels: {role: friend}}
      - namespaceSelector: {matchLabels: {access: granted}}
""")  # fmt: skip
DB_FROM_WEB_GRID = grid("""
    a-web        .... ooor ooor ooor ooor  ..   o
    a-db         ooor .... ooor ooor ooor  oo   o
    a-cli        ooor xxxx .... ooor ooor  oo   o
    b-web        ooor xxxx ooor .... ooor  oo   o
    b-cli        ooor xxxx ooor ooor ....  oo   o
""")
"""Only a-web reaches a-db: a podSelector alone picks pods of the policy's own namespace."""


@dataclass(frozen=True)
class Scenario:
    id: str
    policies: str  # YAML documents
    expect: Matrix


SCENARIOS = [
    Scenario("no-policy", "", ALL_OK),
    Scenario("deny-all-ingress", DENY_INGRESS, grid("""
        a-web    .... xxxx xxxx ooor ooor  ..   o
        a-db     xxxx .... xxxx ooor ooor  xx   o
        a-cli    xxxx xxxx .... ooor ooor  xx   o
        b-web    xxxx xxxx xxxx .... ooor  xx   o
        b-cli    xxxx xxxx xxxx ooor ....  xx   o
    """)),
    Scenario("allow-all-beside-deny-all", DENY_INGRESS + policy("allow-all", """
        podSelector: {}
        ingress: [{}]
    """), ALL_OK),
    Scenario("pod-selector-same-namespace-only", DB_FROM_WEB, DB_FROM_WEB_GRID),
    Scenario("namespace-selector", policy("db", """
        podSelector: {matchLabels: {app: db}}
        ingress:
        - from: [{namespaceSelector: {matchLabels: {team: b}}}]
    """), grid("""
        a-web    .... xxxx ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor xxxx .... ooor ooor  oo   o
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("namespace-and-pod-selector-in-one-peer", policy("db", """
        podSelector: {matchLabels: {app: db}}
        ingress:
        - from:
          - namespaceSelector: {matchLabels: {team: b}}
            podSelector: {matchLabels: {app: client}}
    """), grid("""
        a-web    .... xxxx ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor xxxx .... ooor ooor  oo   o
        b-web    ooor xxxx ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("namespace-or-pod-selector-as-two-peers", policy("db", """
        podSelector: {matchLabels: {app: db}}
        ingress:
        - from:
          - namespaceSelector: {matchLabels: {team: b}}
          - podSelector: {matchLabels: {app: client}}
    """), grid("""
        a-web    .... xxxx ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor ooor .... ooor ooor  oo   o
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("empty-namespace-selector-means-every-namespace", policy("db", """
        podSelector: {matchLabels: {app: db}}
        ingress:
        - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}]
    """), grid("""
        a-web    .... xxxx ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor ooor .... ooor ooor  oo   o
        b-web    ooor xxxx ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("match-expressions", policy("web", """
        podSelector: {matchExpressions: [{key: tier, operator: Exists}]}
        ingress:
        - from:
          - namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [a, b]}]}
            podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [client]}]}
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    xxxx ooor .... ooor ooor  xx   o
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    xxxx ooor ooor ooor ....  xx   o
    """)),
    Scenario("ip-block-with-except", policy("db", """
        podSelector: {matchLabels: {app: db}}
        ingress:
        - from: [{ipBlock: {cidr: POD_CIDR, except: [IP_B_CLI/32]}}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor ooor .... ooor ooor  oo   o
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    ooor xxxx ooor ooor ....  oo   o
    """)),
    Scenario("port-number", policy("web", """
        podSelector: {matchLabels: {app: web}}
        ingress: [{ports: [{port: 81}]}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     xoxx .... ooor ooor ooor  xo   o
        a-cli    xoxx ooor .... ooor ooor  xo   o
        b-web    xoxx ooor ooor .... ooor  xo   o
        b-cli    xoxx ooor ooor ooor ....  xo   o
    """)),
    Scenario("named-port", policy("web", """
        podSelector: {matchLabels: {app: web}}
        ingress: [{ports: [{port: http}]}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     oxxx .... ooor ooor ooor  ox   o
        a-cli    oxxx ooor .... ooor ooor  ox   o
        b-web    oxxx ooor ooor .... ooor  ox   o
        b-cli    oxxx ooor ooor ooor ....  ox   o
    """)),
    Scenario("end-port-range", policy("web", """
        podSelector: {matchLabels: {app: web}}
        ingress: [{ports: [{protocol: TCP, port: 81, endPort: 8080}]}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     xoxr .... ooor ooor ooor  xo   o
        a-cli    xoxr ooor .... ooor ooor  xo   o
        b-web    xoxr ooor ooor .... ooor  xo   o
        b-cli    xoxr ooor ooor ooor ....  xo   o
    """)),
    Scenario("udp-ports-do-not-open-tcp", policy("web", """
        podSelector: {matchLabels: {app: web}}
        ingress: [{ports: [{protocol: UDP, port: udp}, {protocol: UDP, port: 81}]}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     xxox .... ooor ooor ooor  xx   o
        a-cli    xxox ooor .... ooor ooor  xx   o
        b-web    xxox ooor ooor .... ooor  xx   o
        b-cli    xxox ooor ooor ooor ....  xx   o
    """)),
    Scenario("deny-all-egress", DENY_EGRESS, grid("""
        a-web    .... xxxx xxxx xxxx xxxx  ..   x
        a-db     xxxx .... xxxx xxxx xxxx  xx   x
        a-cli    xxxx xxxx .... xxxx xxxx  xx   x
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("egress-to-a-pod-and-its-service", policy("client", """
        podSelector: {matchLabels: {app: client}}
        policyTypes: [Egress]
        egress:
        - to: [{podSelector: {matchLabels: {app: web}}}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor xxxx .... xxxx xxxx  oo   x
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("egress-dns-only", policy("client", """
        podSelector: {matchLabels: {app: client}}
        policyTypes: [Egress]
        egress:
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
            podSelector: {matchLabels: {k8s-app: kube-dns}}
          ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    xxxx xxxx .... xxxx xxxx  xx   o
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("egress-named-port-and-ports-only-dns", policy("client", """
        podSelector: {matchLabels: {app: client}}
        policyTypes: [Egress]
        egress:
        - to: [{namespaceSelector: {matchLabels: {team: b}}}]
          ports: [{port: alt}]
        - ports: [{protocol: UDP, port: 53}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    xxxx xxxx .... xoxx xoxx  xx   o
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("egress-ip-block-with-except", policy("client", """
        podSelector: {matchLabels: {app: client}}
        policyTypes: [Egress]
        egress:
        - to: [{ipBlock: {cidr: POD_CIDR, except: [IP_A_DB/32]}}]
        - ports: [{protocol: UDP, port: 53}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor xxxx .... ooor ooor  oo   o
        b-web    ooor ooor ooor .... ooor  oo   o
        b-cli    ooor ooor ooor ooor ....  oo   o
    """)),
    Scenario("policies-add-up", DB_FROM_WEB + policy("db-alt-from-b", """
        podSelector: {matchLabels: {app: db}}
        ingress:
        - from: [{namespaceSelector: {matchLabels: {team: b}}}]
          ports: [{port: 81}]
    """), grid("""
        a-web    .... ooor ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor xxxx .... ooor ooor  oo   o
        b-web    ooor xoxx ooor .... ooor  oo   o
        b-cli    ooor xoxx ooor ooor ....  oo   o
    """)),
    Scenario("both-policy-types-with-ingress-rules-only", policy("web", """
        podSelector: {matchLabels: {app: web}}
        policyTypes: [Ingress, Egress]
        ingress:
        - from: [{podSelector: {matchLabels: {app: client}}}]
    """), grid("""
        a-web    .... xxxx xxxx xxxx xxxx  ..   x
        a-db     xxxx .... ooor ooor ooor  xx   o
        a-cli    ooor ooor .... ooor ooor  oo   o
        b-web    xxxx ooor ooor .... ooor  xx   o
        b-cli    xxxx ooor ooor ooor ....  xx   o
    """)),
    Scenario("pod-selector-matching-nothing", policy("nobody", """
        podSelector: {matchLabels: {app: nobody}}
        policyTypes: [Ingress, Egress]
    """), ALL_OK),
]  # fmt: skip


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def cluster(kubectl: Kubectl, node: Node) -> Iterator[Cluster]:
    require_oci(node)
    with namespace(kubectl, "npa") as ns_a, namespace(kubectl, "npb") as ns_b:
        yield start_cluster(kubectl, node, {"a": ns_a, "b": ns_b})


@pytest.fixture(autouse=True)
def restored(cluster: Cluster, kubectl: Kubectl) -> Iterator[None]:
    """After each scenario: no policy left, and every cell back to its no-policy answer."""
    yield
    for ns in cluster.namespaces.values():
        kubectl.ok("delete", "networkpolicies", "--all", "-n", ns)
    took, probes = converge(cluster, ALL_OK, "restored after deleting the policies")
    print(f"  policies deleted -> all cells restored in {took:.2f} s ({probes} probes)")


def step(cluster: Cluster, title: str, expect: Matrix) -> None:
    took, probes = converge(cluster, expect, title)
    print(f"\n{title}: matrix converged in {took:.2f} s ({probes} probes)", end="")


def apply(kubectl: Kubectl, cluster: Cluster, documents: str) -> None:
    if documents:
        kubectl.ok("apply", "-f", "-", stdin=cluster.render(documents))


# -- the scenarios ----------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_policy_gives_the_expected_matrix(
    cluster: Cluster, kubectl: Kubectl, scenario: Scenario
) -> None:
    """The scenario's policies, applied with kubectl, give exactly its hand-written matrix."""
    apply(kubectl, cluster, scenario.policies)
    step(cluster, scenario.id, scenario.expect)


def test_deleting_the_policies_restores_every_cell(cluster: Cluster, kubectl: Kubectl) -> None:
    """Deny-all both ways in both namespaces drops every cell; deleting them restores all."""
    deny_both = "podSelector: {}\npolicyTypes: [Ingress, Egress]"
    apply(kubectl, cluster, policy("deny", deny_both) + policy("deny", deny_both, "NS_B"))
    step(cluster, "deny-all-both-namespaces", ALL_DROPPED)
    for ns in cluster.namespaces.values():
        kubectl.ok("delete", "networkpolicy", "deny", "-n", ns)
    step(cluster, "deny-all-deleted", ALL_OK)


def test_label_changes_flip_the_outcome(cluster: Cluster, kubectl: Kubectl) -> None:
    """Pod and namespace label changes move pods in and out of a policy's peers and targets."""
    a, b = cluster.namespaces["a"], cluster.namespaces["b"]
    apply(kubectl, cluster, DB_FROM_FRIENDS)
    try:
        step(cluster, "db-friends: no friend yet", grid("""
            a-web    .... xxxx ooor ooor ooor  ..   o
            a-db     ooor .... ooor ooor ooor  oo   o
            a-cli    ooor xxxx .... ooor ooor  oo   o
            b-web    ooor xxxx ooor .... ooor  oo   o
            b-cli    ooor xxxx ooor ooor ....  oo   o
        """))  # fmt: skip
        kubectl.ok("label", "pod", "client", "-n", a, "role=friend")
        step(cluster, "db-friends: a-cli labelled role=friend", grid("""
            a-web    .... xxxx ooor ooor ooor  ..   o
            a-db     ooor .... ooor ooor ooor  oo   o
            a-cli    ooor ooor .... ooor ooor  oo   o
            b-web    ooor xxxx ooor .... ooor  oo   o
            b-cli    ooor xxxx ooor ooor ....  oo   o
        """))  # fmt: skip
        kubectl.ok("label", "namespace", b, "access=granted")
        step(cluster, "db-friends: namespace B labelled access=granted", grid("""
            a-web    .... xxxx ooor ooor ooor  ..   o
            a-db     ooor .... ooor ooor ooor  oo   o
            a-cli    ooor ooor .... ooor ooor  oo   o
            b-web    ooor ooor ooor .... ooor  oo   o
            b-cli    ooor ooor ooor ooor ....  oo   o
        """))  # fmt: skip
        kubectl.ok("label", "pod", "client", "-n", a, "role-")
        step(cluster, "db-friends: role removed from a-cli", grid("""
            a-web    .... xxxx ooor ooor ooor  ..   o
            a-db     ooor .... ooor ooor ooor  oo   o
            a-cli    ooor xxxx .... ooor ooor  oo   o
            b-web    ooor ooor ooor .... ooor  oo   o
            b-cli    ooor ooor ooor ooor ....  oo   o
        """))  # fmt: skip
        kubectl.ok("label", "pod", "db", "-n", a, "app=store", "--overwrite")
        step(cluster, "db-friends: a-db relabelled app=store, no longer selected", ALL_OK)
    finally:
        kubectl("label", "pod", "client", "-n", a, "role-")
        kubectl("label", "namespace", b, "access-")
        kubectl("label", "pod", "db", "-n", a, "app=db", "--overwrite")


def test_kubectl_apply_of_a_changed_policy_flips_the_outcome(
    cluster: Cluster, kubectl: Kubectl
) -> None:
    """Re-applying a policy with another peer swaps who gets in, then deleting it opens all."""
    apply(kubectl, cluster, DB_FROM_WEB)
    step(cluster, "db from app=web", DB_FROM_WEB_GRID)
    apply(kubectl, cluster, DB_FROM_CLIENT)
    step(cluster, "db updated to from app=client", grid("""
        a-web    .... xxxx ooor ooor ooor  ..   o
        a-db     ooor .... ooor ooor ooor  oo   o
        a-cli    ooor ooor .... ooor ooor  oo   o
        b-web    ooor xxxx ooor .... ooor  oo   o
        b-cli    ooor xxxx ooor ooor ....  oo   o
    """))  # fmt: skip
    kubectl.ok("delete", "networkpolicy", "db", "-n", cluster.namespaces["a"])
    step(cluster, "db deleted", ALL_OK)
