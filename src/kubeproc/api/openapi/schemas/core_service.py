"""Schemas of core/v1 Service and Endpoints: service spec and ports, load
balancer status, and the endpoint subsets that back a service.

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
meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")

PROTOCOL = enum("SCTP", "TCP", "UDP")

SCHEMAS: tuple[Schema, ...] = (
    core.struct(
        "Endpoints",
        "The addresses that implement a service, grouped into subsets of addresses and ports. "
        "Superseded by EndpointSlice.",
        [
            *TYPE_META,
            OBJECT_META,
            f(
                "subsets",
                list_of(core.ref("EndpointSubset")),
                "Groups of addresses that all expose the same ports.",
                list_type="atomic",
            ),
        ],
    ),
    core.list_kind("Endpoints"),
    core.struct(
        "EndpointSubset",
        "Addresses and the ports they all serve. The endpoints are the cross product of the two.",
        [
            f(
                "addresses",
                list_of(core.ref("EndpointAddress")),
                "Addresses that are ready to serve.",
                list_type="atomic",
            ),
            f(
                "notReadyAddresses",
                list_of(core.ref("EndpointAddress")),
                "Addresses that are not ready yet or have recently failed.",
                list_type="atomic",
            ),
            f(
                "ports",
                list_of(core.ref("EndpointPort")),
                "Ports available on every address.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "EndpointAddress",
        "One endpoint address.",
        [
            f("ip", STRING, "IP address of the endpoint."),
            f("hostname", STRING, "Hostname of the endpoint."),
            f("nodeName", STRING, "Node hosting the endpoint."),
            f(
                "targetRef",
                core.ref("ObjectReference"),
                "Object that provides the endpoint, usually a pod.",
            ),
        ],
        required=("ip",),
        atomic=True,
    ),
    core.struct(
        "EndpointPort",
        "One port of an endpoint.",
        [
            f("name", STRING, "Port name, matching the service port name."),
            f("port", INT32, "Port number."),
            f("protocol", PROTOCOL, "TCP, UDP or SCTP. Defaults to TCP."),
            f("appProtocol", STRING, "Application protocol of the port."),
        ],
        required=("port",),
        atomic=True,
    ),
    core.struct(
        "Service",
        "A stable name and virtual address for a set of pods chosen by label selector, with "
        "load balancing across them.",
        [
            *TYPE_META,
            OBJECT_META,
            f("spec", core.ref("ServiceSpec"), "Desired behaviour of the service."),
            f(
                "status",
                core.ref("ServiceStatus"),
                "Most recently observed state of the service, such as its load balancer.",
            ),
        ],
    ),
    core.list_kind("Service"),
    core.struct(
        "ServiceSpec",
        "How a service exposes its pods.",
        [
            f(
                "ports",
                list_of(core.ref("ServicePort")),
                "Ports the service exposes.",
                list_type="map",
                map_keys=("port", "protocol"),
                patch="merge",
                merge_key="port",
            ),
            f(
                "selector",
                map_of(STRING),
                "Pods with these labels receive the service's traffic. Without a selector, "
                "endpoints are managed by someone else.",
                map_type="atomic",
            ),
            f(
                "clusterIP",
                STRING,
                'Virtual IP address of the service, usually assigned at random. "None" makes '
                "a headless service. Mostly immutable: it can only be cleared, by changing the "
                "type to ExternalName.",
            ),
            f(
                "clusterIPs",
                list_of(STRING),
                "Virtual IP addresses of the service, one per IP family; the first equals "
                "clusterIP.",
                list_type="atomic",
            ),
            f(
                "type",
                enum("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"),
                "How the service is exposed: ClusterIP (default), NodePort, LoadBalancer or "
                "ExternalName.",
            ),
            f(
                "externalIPs",
                list_of(STRING),
                "External addresses for which nodes also accept the service's traffic. Not "
                "managed by Kubernetes.",
                list_type="atomic",
            ),
            f(
                "sessionAffinity",
                enum("ClientIP", "None"),
                "ClientIP sends each client to the same endpoint; None (default) does not.",
            ),
            f(
                "loadBalancerIP",
                STRING,
                "Deprecated: address requested from the load balancer, if the provider supports "
                "it.",
            ),
            f(
                "loadBalancerSourceRanges",
                list_of(STRING),
                "Client CIDRs allowed through a provider load balancer.",
                list_type="atomic",
            ),
            f("externalName", STRING, "DNS name returned as a CNAME for ExternalName services."),
            f(
                "externalTrafficPolicy",
                enum("Cluster", "Local"),
                "Cluster (default) spreads external traffic over all endpoints; Local keeps it "
                "on the receiving node and preserves the client address.",
            ),
            f(
                "healthCheckNodePort",
                INT32,
                "Node port for load balancer health checks with externalTrafficPolicy Local.",
            ),
            f("publishNotReadyAddresses", BOOL, "Publish endpoints for pods that are not ready."),
            f(
                "sessionAffinityConfig",
                core.ref("SessionAffinityConfig"),
                "Settings for session affinity.",
            ),
            f(
                "ipFamilies",
                list_of(enum("", "IPv4", "IPv6")),
                "IP families (IPv4, IPv6) of the service, in order.",
                list_type="atomic",
            ),
            f(
                "ipFamilyPolicy",
                enum("PreferDualStack", "RequireDualStack", "SingleStack"),
                "SingleStack, PreferDualStack or RequireDualStack.",
            ),
            f(
                "allocateLoadBalancerNodePorts",
                BOOL,
                "Whether LoadBalancer services get node ports. Defaults to true.",
            ),
            f(
                "loadBalancerClass",
                STRING,
                "Class of load balancer implementation to use, for LoadBalancer services.",
            ),
            f(
                "internalTrafficPolicy",
                enum("Cluster", "Local"),
                "Cluster (default) or Local: where traffic from inside the cluster is routed.",
            ),
            f(
                "trafficDistribution",
                STRING,
                "Preference for routing traffic to endpoints, e.g. PreferClose.",
            ),
        ],
    ),
    core.struct(
        "ServicePort",
        "One port of a service.",
        [
            f(
                "name",
                STRING,
                "Port name, unique within the service; required when there is more than one port.",
            ),
            f("protocol", PROTOCOL, "TCP, UDP or SCTP. Defaults to TCP."),
            f(
                "appProtocol",
                STRING,
                "Application protocol of the port, e.g. http or kubernetes.io/h2c.",
            ),
            f("port", INT32, "Port the service exposes."),
            f(
                "targetPort",
                INT_OR_STRING,
                "Port on the pods to send traffic to: a number or a named container port. "
                "Defaults to port.",
            ),
            f(
                "nodePort",
                INT32,
                "Port opened on every node for NodePort and LoadBalancer services. Allocated if "
                "not given.",
            ),
        ],
        required=("port",),
    ),
    core.struct(
        "SessionAffinityConfig",
        "Settings for session affinity.",
        [
            f("clientIP", core.ref("ClientIPConfig"), "Settings for ClientIP affinity."),
        ],
    ),
    core.struct(
        "ClientIPConfig",
        "Settings for ClientIP session affinity.",
        [
            f(
                "timeoutSeconds",
                INT32,
                "How long a client sticks to one endpoint, 1-86400 seconds. Defaults to 10800 "
                "(3 hours).",
            ),
        ],
    ),
    core.struct(
        "ServiceStatus",
        "Observed state of a service.",
        [
            f(
                "loadBalancer",
                core.ref("LoadBalancerStatus"),
                "State of the service's load balancer, if any.",
            ),
            f(
                "conditions",
                list_of(meta.ref("Condition")),
                "Current conditions of the service.",
                list_type="map",
                map_keys=("type",),
                patch="merge",
                merge_key="type",
            ),
        ],
    ),
    core.struct(
        "LoadBalancerStatus",
        "State of a load balancer.",
        [
            f(
                "ingress",
                list_of(core.ref("LoadBalancerIngress")),
                "Entry points of the load balancer.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "LoadBalancerIngress",
        "An entry point of a load balancer.",
        [
            f("ip", STRING, "IP address of the entry point."),
            f("hostname", STRING, "DNS name of the entry point."),
            f("ipMode", STRING, "How the load balancer IP behaves: VIP or Proxy."),
            f(
                "ports",
                list_of(core.ref("PortStatus")),
                "Status of each service port on this entry point.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "PortStatus",
        "Status of one port.",
        [
            f("port", INT32, "Port number."),
            f("protocol", PROTOCOL, "TCP, UDP or SCTP."),
            f(
                "error",
                STRING,
                "Problem with the port, as a CamelCase reason. Empty means no problem.",
            ),
        ],
        required=("port", "protocol"),
    ),
)
