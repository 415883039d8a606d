"""Schemas of discovery.k8s.io/v1 EndpointSlice and networking.k8s.io/v1
NetworkPolicy.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    BOOL,
    INT32,
    INT_OR_STRING,
    OBJECT_META,
    STRING,
    TYPE_META,
    Package,
    Schema,
    enum,
    f,
    list_of,
    map_of,
)

core = Package("io.k8s.api.core.v1")
discovery = Package("io.k8s.api.discovery.v1")
meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")
networking = Package("io.k8s.api.networking.v1")

PROTOCOL = enum("SCTP", "TCP", "UDP")

SCHEMAS: tuple[Schema, ...] = (
    discovery.struct(
        "EndpointSlice",
        "A subset of the endpoints of a service, all of one address type.",
        [
            *TYPE_META,
            OBJECT_META,
            f(
                "addressType",
                enum("FQDN", "IPv4", "IPv6"),
                "Type of every address in the slice: IPv4, IPv6 or FQDN. Cannot change.",
            ),
            f(
                "endpoints",
                list_of(discovery.ref("Endpoint")),
                "Endpoints in this slice; at most 1000.",
                list_type="atomic",
            ),
            f(
                "ports",
                list_of(discovery.ref("EndpointPort")),
                "Ports every endpoint serves; at most 100. Empty means no ports; a port with an "
                "empty name and no number means all ports.",
                list_type="atomic",
            ),
        ],
        required=("addressType", "endpoints"),
    ),
    discovery.list_kind("EndpointSlice"),
    discovery.struct(
        "Endpoint",
        "One endpoint of a slice.",
        [
            f(
                "addresses",
                list_of(STRING),
                "Addresses of the endpoint, interpreted by the slice's addressType. Consumers "
                "use the first.",
                list_type="set",
            ),
            f(
                "conditions",
                discovery.ref("EndpointConditions"),
                "Current conditions of the endpoint.",
            ),
            f("hostname", STRING, "Hostname of the endpoint."),
            f(
                "targetRef",
                core.ref("ObjectReference"),
                "Object that provides the endpoint, usually a pod.",
            ),
            f(
                "deprecatedTopology",
                map_of(STRING),
                "Deprecated topology labels; use nodeName and zone.",
            ),
            f("nodeName", STRING, "Node hosting the endpoint."),
            f("zone", STRING, "Zone the endpoint is in."),
            f("hints", discovery.ref("EndpointHints"), "Routing hints for consumers."),
        ],
        required=("addresses",),
    ),
    discovery.struct(
        "EndpointConditions",
        "Conditions of an endpoint.",
        [
            f(
                "ready",
                BOOL,
                "Ready to receive traffic. False while terminating unless "
                "publishNotReadyAddresses is set.",
            ),
            f("serving", BOOL, "Able to receive traffic, whether terminating or not."),
            f("terminating", BOOL, "The endpoint is shutting down."),
        ],
    ),
    discovery.struct(
        "EndpointHints",
        "Hints on where an endpoint should be used.",
        [
            f(
                "forZones",
                list_of(discovery.ref("ForZone")),
                "Zones whose clients should use this endpoint.",
                list_type="atomic",
            ),
            f(
                "forNodes",
                list_of(discovery.ref("ForNode")),
                "Nodes whose clients should use this endpoint.",
                list_type="atomic",
            ),
        ],
    ),
    discovery.struct(
        "ForZone",
        "A zone a hint applies to.",
        [
            f("name", STRING, "Zone name."),
        ],
        required=("name",),
    ),
    discovery.struct(
        "ForNode",
        "A node a hint applies to.",
        [
            f("name", STRING, "Node name."),
        ],
        required=("name",),
    ),
    discovery.struct(
        "EndpointPort",
        "A port of the endpoints in a slice.",
        [
            f("name", STRING, "Port name; matches the service port name."),
            f("protocol", PROTOCOL, "TCP, UDP or SCTP. Defaults to TCP."),
            f("port", INT32, "Port number. Unset means any port."),
            f("appProtocol", STRING, "Application protocol of the port."),
        ],
        atomic=True,
    ),
    networking.struct(
        "NetworkPolicy",
        "Rules for the traffic allowed to and from a set of pods.",
        [
            *TYPE_META,
            OBJECT_META,
            f("spec", networking.ref("NetworkPolicySpec"), "The rules of the policy."),
        ],
    ),
    networking.list_kind("NetworkPolicy"),
    networking.struct(
        "NetworkPolicySpec",
        "What a network policy selects and allows.",
        [
            f(
                "podSelector",
                meta.ref("LabelSelector"),
                "Pods the policy applies to, in its namespace. An empty selector selects all of "
                "them.",
            ),
            f(
                "ingress",
                list_of(networking.ref("NetworkPolicyIngressRule")),
                "Allowed incoming traffic. Pods selected for Ingress allow only traffic that "
                "matches some rule.",
                list_type="atomic",
            ),
            f(
                "egress",
                list_of(networking.ref("NetworkPolicyEgressRule")),
                "Allowed outgoing traffic. Pods selected for Egress allow only traffic that "
                "matches some rule.",
                list_type="atomic",
            ),
            f(
                "policyTypes",
                list_of(enum("Egress", "Ingress")),
                "Directions the policy applies to: Ingress, Egress or both. Defaults to Ingress, "
                "plus Egress when egress rules are given.",
                list_type="atomic",
            ),
        ],
        required=("podSelector",),
    ),
    networking.struct(
        "NetworkPolicyIngressRule",
        "Incoming traffic allowed by a policy: it must match both ports and from.",
        [
            f(
                "ports",
                list_of(networking.ref("NetworkPolicyPort")),
                "Destination ports allowed. Empty means all ports.",
                list_type="atomic",
            ),
            f(
                "from",
                list_of(networking.ref("NetworkPolicyPeer")),
                "Allowed sources. Empty means all sources.",
                list_type="atomic",
            ),
        ],
    ),
    networking.struct(
        "NetworkPolicyPort",
        "A port, or port range, that traffic may use.",
        [
            f("protocol", PROTOCOL, "TCP, UDP or SCTP. Defaults to TCP."),
            f("port", INT_OR_STRING, "Port number or named port. Unset means all ports."),
            f("endPort", INT32, "Last port of a range starting at port."),
        ],
    ),
    networking.struct(
        "NetworkPolicyPeer",
        "A source or destination of traffic. Set ipBlock alone, or pod and namespace selectors.",
        [
            f(
                "podSelector",
                meta.ref("LabelSelector"),
                "Pods to match, in the namespaces chosen by namespaceSelector (or the policy's "
                "own).",
            ),
            f(
                "namespaceSelector",
                meta.ref("LabelSelector"),
                "Namespaces whose pods match. An empty selector means all namespaces.",
            ),
            f("ipBlock", networking.ref("IPBlock"), "An IP range."),
        ],
    ),
    networking.struct(
        "IPBlock",
        "An IP range, with exceptions.",
        [
            f("cidr", STRING, "The range, e.g. 192.168.1.0/24."),
            f("except", list_of(STRING), "Ranges inside cidr to leave out.", list_type="atomic"),
        ],
        required=("cidr",),
    ),
    networking.struct(
        "NetworkPolicyEgressRule",
        "Outgoing traffic allowed by a policy: it must match both ports and to.",
        [
            f(
                "ports",
                list_of(networking.ref("NetworkPolicyPort")),
                "Destination ports allowed. Empty means all ports.",
                list_type="atomic",
            ),
            f(
                "to",
                list_of(networking.ref("NetworkPolicyPeer")),
                "Allowed destinations. Empty means all destinations.",
                list_type="atomic",
            ),
        ],
    ),
)
