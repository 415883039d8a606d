"""Every other served kind decodes from protobuf: controllers, endpoints, events, nodes...

Bodies are written by hand with field numbers read from each group's ``generated.proto``
(and apimachinery's meta/v1), independently of the tables under test.
"""

from __future__ import annotations

from kubeproc.api.protobuf import can_decode, decode_body
from kubeproc.api.protobuf.testing import body, entry, field, message

T0 = 1_700_000_000
T0_JSON = "2023-11-14T22:13:20Z"


def _meta(name: str, namespace: str = "default") -> bytes:
    return message(field(1, name), field(3, namespace))


def _meta_json(name: str, namespace: str = "default") -> dict[str, object]:
    return {"name": name, "namespace": namespace, "creationTimestamp": None}


def _microtime(seconds: int, nanos: int) -> bytes:
    return message(field(1, seconds), field(2, nanos))


def _template() -> bytes:
    labels = message(entry(11, "app", "web"))
    spec = message(field(2, message(field(1, "c"), field(2, "nginx"))))
    return message(field(1, labels), field(2, spec))


TEMPLATE_JSON = {
    "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
    "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {}}]},
}


def test_replicaset_with_selector_expressions_and_status() -> None:
    """A ReplicaSet's selector, template and status decode; status.replicas is always set."""
    selector = message(
        entry(1, "app", "web"),
        field(2, message(field(1, "tier"), field(2, "In"), field(3, ["a", "b"]))),
    )
    spec = message(field(1, 3), field(2, selector), field(3, _template()), field(4, 5))
    status = message(field(3, 7), field(4, 2))
    raw = message(field(1, _meta("rs")), field(2, spec), field(3, status))

    assert decode_body(body("apps/v1", "ReplicaSet", raw)) == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": _meta_json("rs"),
        "spec": {
            "replicas": 3,
            "minReadySeconds": 5,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
            },
            "template": TEMPLATE_JSON,
        },
        "status": {"replicas": 0, "observedGeneration": 7, "readyReplicas": 2},
    }


def test_deployment_strategy_with_int_and_percent_surge() -> None:
    """RollingUpdate maxUnavailable/maxSurge are IntOrString: an int and a percent string."""
    rolling = message(
        field(1, message(field(1, 0), field(2, 1))),
        field(2, message(field(1, 1), field(3, "25%"))),
    )
    spec = message(field(4, message(field(1, "RollingUpdate"), field(2, rolling))))
    deployment = decode_body(body("apps/v1", "Deployment", message(field(2, spec))))

    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"},
    }
    assert deployment["spec"]["selector"] is None  # a pointer without omitempty


def test_replication_controller_with_map_selector() -> None:
    """A ReplicationController's selector is a plain map and its template a pointer."""
    spec = message(field(1, 2), entry(2, "app", "web"), field(3, _template()))
    rc = decode_body(
        body("v1", "ReplicationController", message(field(1, _meta("rc")), field(2, spec)))
    )

    assert rc["spec"] == {"replicas": 2, "selector": {"app": "web"}, "template": TEMPLATE_JSON}
    assert rc["status"] == {"replicas": 0}


def test_endpoints_subsets() -> None:
    """Endpoints subsets keep addresses, targetRefs and ports."""
    target = message(field(1, "Pod"), field(2, "default"), field(3, "web-1"), field(4, "uid-1"))
    subset = message(
        field(1, message(field(1, "10.0.0.5"), field(2, target), field(4, "node-1"))),
        field(2, message(field(1, "10.0.0.6"))),
        field(3, message(field(1, "http"), field(2, 8080), field(3, "TCP"))),
    )
    endpoints = decode_body(
        body("v1", "Endpoints", message(field(1, _meta("web")), field(2, subset)))
    )

    assert endpoints["subsets"] == [
        {
            "addresses": [
                {
                    "ip": "10.0.0.5",
                    "nodeName": "node-1",
                    "targetRef": {
                        "kind": "Pod",
                        "namespace": "default",
                        "name": "web-1",
                        "uid": "uid-1",
                    },
                }
            ],
            "notReadyAddresses": [{"ip": "10.0.0.6"}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        }
    ]


def test_endpointslice_keeps_false_conditions_and_null_lists() -> None:
    """Endpoint conditions are pointers (false is kept); ports without omitempty is null."""
    endpoint = message(
        field(1, "10.0.0.5"),
        field(2, message(field(1, True), field(3, False))),
        field(6, "node-1"),
    )
    raw = message(field(1, _meta("web-abc")), field(2, endpoint), field(4, "IPv4"))

    assert decode_body(body("discovery.k8s.io/v1", "EndpointSlice", raw)) == {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": _meta_json("web-abc"),
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["10.0.0.5"],
                "conditions": {"ready": True, "terminating": False},
                "nodeName": "node-1",
            }
        ],
        "ports": None,
    }


def test_core_event_with_series_and_microtime() -> None:
    """A core Event's MicroTime keeps microseconds; unset Times are null."""
    series = message(field(1, 4), field(2, _microtime(T0, 123_456_789)))
    raw = message(
        field(1, _meta("web.1")),
        field(2, message(field(1, "Pod"), field(3, "web"))),
        field(3, "Started"),
        field(5, message(field(1, "kubelet"))),
        field(6, message(field(1, T0))),
        field(8, 1),
        field(9, "Normal"),
        field(10, _microtime(T0, 5_000)),
        field(11, series),
        field(14, "kubelet"),
    )

    assert decode_body(body("v1", "Event", raw)) == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": _meta_json("web.1"),
        "involvedObject": {"kind": "Pod", "name": "web"},
        "reason": "Started",
        "source": {"component": "kubelet"},
        "firstTimestamp": T0_JSON,
        "lastTimestamp": None,
        "count": 1,
        "type": "Normal",
        "eventTime": "2023-11-14T22:13:20.000005Z",
        "series": {"count": 4, "lastObservedTime": "2023-11-14T22:13:20.123456Z"},
        "reportingComponent": "kubelet",
        "reportingInstance": "",
    }


def test_events_k8s_io_event() -> None:
    """An events.k8s.io/v1 Event uses its own field numbers, not core's."""
    raw = message(
        field(1, _meta("web.2")),
        field(2, _microtime(T0, 0)),
        field(4, "kubeproc/scheduler"),
        field(6, "Binding"),
        field(7, "Scheduled"),
        field(8, message(field(1, "Pod"), field(3, "web"))),
        field(10, "assigned"),
        field(11, "Normal"),
    )

    assert decode_body(body("events.k8s.io/v1", "Event", raw)) == {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": _meta_json("web.2"),
        "eventTime": "2023-11-14T22:13:20.000000Z",
        "reportingController": "kubeproc/scheduler",
        "action": "Binding",
        "reason": "Scheduled",
        "regarding": {"kind": "Pod", "name": "web"},
        "note": "assigned",
        "type": "Normal",
        "deprecatedSource": {},
        "deprecatedFirstTimestamp": None,
        "deprecatedLastTimestamp": None,
    }


def test_network_policy_rules() -> None:
    """Peers, ipBlocks and ports (named or numbered, with endPort) decode."""
    peer = message(field(1, message(entry(1, "role", "client"))))
    block = message(field(3, message(field(1, "10.0.0.0/8"), field(2, "10.1.0.0/16"))))
    port = message(field(1, "TCP"), field(2, message(field(1, 0), field(2, 8000))), field(3, 9000))
    spec = message(
        field(1, b""),
        field(2, message(field(1, port), field(2, [peer, block]))),
        field(4, "Ingress"),
    )
    policy = decode_body(body("networking.k8s.io/v1", "NetworkPolicy", message(field(2, spec))))

    assert policy["spec"] == {
        "podSelector": {},
        "ingress": [
            {
                "ports": [{"protocol": "TCP", "port": 8000, "endPort": 9000}],
                "from": [
                    {"podSelector": {"matchLabels": {"role": "client"}}},
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                ],
            }
        ],
        "policyTypes": ["Ingress"],
    }


def test_lease_spec() -> None:
    """A Lease keeps pointer zeros (leaseTransitions: 0) and MicroTime renewTime."""
    spec = message(
        field(1, "node-1"), field(2, 40), field(4, _microtime(T0, 250_000_000)), field(5, 0)
    )
    lease = decode_body(body("coordination.k8s.io/v1", "Lease", message(field(2, spec))))

    assert lease["spec"] == {
        "holderIdentity": "node-1",
        "leaseDurationSeconds": 40,
        "renewTime": "2023-11-14T22:13:20.250000Z",
        "leaseTransitions": 0,
    }


def test_node_status_capacity_and_conditions() -> None:
    """Node capacity is a map of quantities; nodeInfo prints all its non-omitempty strings."""
    status = message(
        entry(1, "cpu", message(field(1, "4"))),
        field(1, message(field(1, "pods"), field(2, message(field(1, "110"))))),
        field(4, message(field(1, "Ready"), field(2, "True"), field(3, message(field(1, T0))))),
        field(5, message(field(1, "InternalIP"), field(2, "127.0.0.1"))),
        field(6, message(field(1, message(field(1, 10250))))),
        field(7, message(field(10, "amd64"), field(9, "linux"))),
    )
    spec = message(
        field(7, "10.244.0.0/24"), field(5, message(field(1, "k"), field(3, "NoSchedule")))
    )
    node = decode_body(
        body(
            "v1",
            "Node",
            message(field(1, message(field(1, "n"))), field(2, spec), field(3, status)),
        )
    )

    assert node["metadata"] == {"name": "n", "creationTimestamp": None}
    assert node["spec"] == {
        "podCIDRs": ["10.244.0.0/24"],
        "taints": [{"key": "k", "effect": "NoSchedule"}],
    }
    unset = ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage")
    info = dict.fromkeys(
        (*unset, "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion"), ""
    )
    assert node["status"] == {
        "capacity": {"cpu": "4", "pods": "110"},
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "lastHeartbeatTime": T0_JSON,
                "lastTransitionTime": None,
            }
        ],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": info | {"operatingSystem": "linux", "architecture": "amd64"},
    }


def test_scale_subresource() -> None:
    """autoscaling/v1 Scale: spec.replicas drops at zero, status.replicas does not."""
    raw = message(field(1, _meta("web")), field(2, message(field(1, 0))), field(3, b""))

    assert decode_body(body("autoscaling/v1", "Scale", raw)) == {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": _meta_json("web"),
        "spec": {},
        "status": {"replicas": 0},
    }


def test_delete_options_under_any_api_version() -> None:
    """DeleteOptions is accepted whatever group it was posted under, with pointer zeros kept."""
    raw = message(
        field(1, 0),
        field(2, message(field(1, "uid-1"))),
        field(4, "Foreground"),
        field(5, "All"),
    )
    expected = {
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "uid-1"},
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    }

    for api_version in ("v1", "meta.k8s.io/v1", "apps/v1"):
        decoded = decode_body(body(api_version, "DeleteOptions", raw))
        assert decoded == {"apiVersion": api_version, "kind": "DeleteOptions"} | expected


def test_binding_and_eviction() -> None:
    """The pods/binding and pods/eviction request kinds decode."""
    binding = message(field(1, _meta("web")), field(2, message(field(1, "Node"), field(3, "n1"))))
    eviction = message(field(1, _meta("web")), field(2, message(field(1, 30))))

    assert decode_body(body("v1", "Binding", binding))["target"] == {"kind": "Node", "name": "n1"}
    assert decode_body(body("policy/v1", "Eviction", eviction))["deleteOptions"] == {
        "gracePeriodSeconds": 30
    }


def test_can_decode_lists_served_kinds_only() -> None:
    """can_decode answers for the kinds with a schema, by apiVersion and kind."""
    assert can_decode("v1", "Pod")
    assert can_decode("events.k8s.io/v1", "Event")
    assert can_decode("anything/v1", "DeleteOptions")
    assert not can_decode("apps/v1", "StatefulSet")
    assert not can_decode("apps/v1", "Pod")
