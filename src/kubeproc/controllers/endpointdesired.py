"""What a Service's endpoints should be, from the Service and the pods it selects.

Pure functions shared by the EndpointSlice and Endpoints controllers, as upstream's
``k8s.io/endpointslice`` utils (``podToEndpoint``, ``getEndpointPorts``, ``FindPort``,
``ShouldPodBeInEndpoints``) and the Endpoints controller's subset building plus
``RepackSubsets``. No I/O and no state: the controllers feed in informer objects and get
JSON-shaped endpoints, ports and subsets back, ready to compare with what is stored.

Membership: a selected pod with an IP that is not Succeeded/Failed. Per endpoint,
``serving`` is the pod's Ready condition, ``terminating`` its deletion timestamp, and
``ready`` is ``publishNotReadyAddresses or (serving and not terminating)``. Ports are
resolved per pod (a named ``targetPort`` missing from a pod drops that port for that pod),
so pods with different resolved port sets land in different groups.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
LABEL_HEADLESS = "service.kubernetes.io/headless"
MANAGED_BY = "endpointslice-controller.k8s.io"
TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
RESERVED_SLICE_LABELS = frozenset({LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS})

Json = dict[str, Any]


def selector_of(svc: Json) -> dict[str, str] | None:
    """The Service's pod selector, or None when this controller leaves it alone.

    An empty selector counts as none: the stored form drops an empty map, as upstream's
    protobuf storage does; ExternalName services never get endpoints."""
    spec = svc.get("spec") or {}
    selector = spec.get("selector")
    if spec.get("type") == "ExternalName" or not isinstance(selector, dict) or not selector:
        return None
    return {str(k): str(v) for k, v in selector.items()}


def selects(selector: dict[str, str], pod: Json) -> bool:
    labels = pod.get("metadata", {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def is_service_ip_set(svc: Json) -> bool:
    cluster_ip = (svc.get("spec") or {}).get("clusterIP")
    return bool(cluster_ip) and cluster_ip != "None"


def is_pod_ready(pod: Json) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_ips(pod: Json) -> list[str]:
    status = pod.get("status") or {}
    ips = [str(e.get("ip")) for e in status.get("podIPs") or [] if e.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return ips


def should_be_in_endpoints(pod: Json, include_terminating: bool) -> bool:
    """``ShouldPodBeInEndpoints``: not terminal, has an IP, terminating only if asked."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    if not pod_ips(pod):
        return False
    return include_terminating or not pod.get("metadata", {}).get("deletionTimestamp")


def endpoint_projection(pod: Json) -> tuple[Any, ...]:
    """What of a pod can change its endpoints; a change here re-syncs its services."""
    meta, spec, status = pod.get("metadata", {}), pod.get("spec") or {}, pod.get("status") or {}
    return (
        meta.get("deletionTimestamp"),
        is_pod_ready(pod),
        tuple(pod_ips(pod)),
        status.get("phase") in ("Succeeded", "Failed"),
        spec.get("nodeName"),
        spec.get("hostname"),
        spec.get("subdomain"),
    )


def address_types(svc: Json) -> list[str]:
    """``getAddressTypesForService``: from ipFamilies, else from the cluster IP."""
    spec = svc.get("spec") or {}
    families = [f"IP{f[2:]}" for f in spec.get("ipFamilies") or [] if f in ("IPv4", "IPv6")]
    if families:
        return sorted(set(families))
    if is_service_ip_set(svc):
        return ["IPv6" if ":" in str(spec["clusterIP"]) else "IPv4"]
    return ["IPv4", "IPv6"]


def _family(ip: str) -> str:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return ""


def find_port(pod: Json, svc_port: Json) -> int | None:
    """``FindPort``: a number as is; a name looked up in containers, then sidecars."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = svc_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for ctr in [*(spec.get("containers") or []), *sidecars]:
        for port in ctr.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_ports(svc: Json, pod: Json) -> list[Json]:
    """The discovery ports of ``pod`` for ``svc``, in the Service's order."""
    ports: list[Json] = []
    for svc_port in (svc.get("spec") or {}).get("ports") or []:
        number = find_port(pod, svc_port)
        if number is None:
            continue
        port: Json = {
            "name": svc_port.get("name") or "",
            "port": number,
            "protocol": svc_port.get("protocol") or "TCP",
        }
        if svc_port.get("appProtocol"):
            port["appProtocol"] = svc_port["appProtocol"]
        ports.append(port)
    return ports


def port_key(ports: list[Json]) -> str:
    """Identifies a port set whatever its order (upstream's PortMapKey)."""
    canonical = [
        {**p, "name": p.get("name") or "", "protocol": p.get("protocol") or "TCP"} for p in ports
    ]
    return json.dumps(sorted(json.dumps(p, sort_keys=True) for p in canonical))


def _should_set_hostname(pod: Json, svc: Json) -> bool:
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == svc["metadata"]["name"]


def _target_ref(pod: Json) -> Json:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}


def pod_to_endpoint(pod: Json, svc: Json, address_type: str) -> Json:
    """``podToEndpoint``: the endpoint of ``pod`` with its three conditions."""
    serving = is_pod_ready(pod)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    endpoint: Json = {
        "addresses": [ip for ip in pod_ips(pod) if _family(ip) == address_type],
        "conditions": {
            "ready": publish or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
        "targetRef": _target_ref(pod),
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        endpoint["nodeName"] = node
    if _should_set_hostname(pod, svc):
        endpoint["hostname"] = pod["spec"]["hostname"]
    return endpoint


def endpoint_key(endpoint: Json) -> tuple[Any, ...]:
    """Which pod an endpoint stands for (upstream's endpoint hash)."""
    ref = endpoint.get("targetRef") or {}
    return (
        tuple(sorted(endpoint.get("addresses") or [])),
        endpoint.get("hostname") or "",
        ref.get("namespace") or "",
        ref.get("name") or "",
    )


@dataclass(frozen=True)
class PortGroup:
    """The endpoints that share one resolved port set."""

    ports: list[Json]
    endpoints: dict[tuple[Any, ...], Json] = field(default_factory=dict)


def desired_groups(svc: Json, pods: list[Json], address_type: str) -> dict[str, PortGroup]:
    """The desired endpoints of one address type, grouped by port set (key: ``port_key``)."""
    headless_no_ports = not (svc.get("spec") or {}).get("ports") and not is_service_ip_set(svc)
    groups: dict[str, PortGroup] = {}
    for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
        if not should_be_in_endpoints(pod, include_terminating=True):
            continue
        ports = [] if headless_no_ports else endpoint_ports(svc, pod)
        group = groups.setdefault(port_key(ports), PortGroup(ports))
        endpoint = pod_to_endpoint(pod, svc, address_type)
        if endpoint["addresses"]:
            group.endpoints[endpoint_key(endpoint)] = endpoint
    return groups


def slice_labels(svc: Json) -> dict[str, str]:
    """``setEndpointSliceLabels``: the Service's labels plus the reserved ones."""
    labels = {
        k: v
        for k, v in (svc["metadata"].get("labels") or {}).items()
        if k not in RESERVED_SLICE_LABELS
    }
    if not is_service_ip_set(svc):
        labels[LABEL_HEADLESS] = ""
    labels[LABEL_SERVICE_NAME] = svc["metadata"]["name"]
    labels[LABEL_MANAGED_BY] = MANAGED_BY
    return labels


# -- legacy Endpoints ---------------------------------------------------------------------


def _address(pod: Json, svc: Json) -> Json | None:
    """``podToEndpointAddressForService``: the pod IP of the Service's first family."""
    families = (svc.get("spec") or {}).get("ipFamilies") or []
    family = families[0] if families else (_family(pod_ips(pod)[0]) or "IPv4")
    ip = next((ip for ip in pod_ips(pod) if _family(ip) == family), None)
    if ip is None:
        return None
    address: Json = {"ip": ip, "targetRef": _target_ref(pod)}
    if (pod.get("spec") or {}).get("nodeName"):
        address["nodeName"] = pod["spec"]["nodeName"]
    if _should_set_hostname(pod, svc):
        address["hostname"] = pod["spec"]["hostname"]
    return address


def _legacy_port(svc_port: Json, number: int) -> Json:
    port: Json = {"port": number, "protocol": svc_port.get("protocol") or "TCP"}
    if svc_port.get("name"):
        port["name"] = svc_port["name"]
    if svc_port.get("appProtocol"):
        port["appProtocol"] = svc_port["appProtocol"]
    return port


def desired_subsets(svc: Json, pods: list[Json]) -> list[Json]:
    """The Endpoints subsets: ready and not-ready addresses grouped by the ports they offer.

    Terminating pods are left out unless ``publishNotReadyAddresses``; the result is in
    ``RepackSubsets``' canonical form (one subset per distinct address set, sorted)."""
    spec = svc.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    # port (None: a headless Service without ports) -> address key -> ready
    by_port: dict[str | None, dict[tuple[str, str], bool]] = {}
    addresses: dict[tuple[str, str], Json] = {}
    for pod in pods:
        if not should_be_in_endpoints(pod, include_terminating=publish):
            continue
        address = _address(pod, svc)
        if address is None:
            continue
        key = (address["ip"], address["targetRef"]["uid"])
        addresses.setdefault(key, address)
        ready = publish or is_pod_ready(pod)
        ports: list[str | None] = []
        if not spec.get("ports"):
            ports = [] if is_service_ip_set(svc) else [None]
        for svc_port in spec.get("ports") or []:
            number = find_port(pod, svc_port)
            if number is not None:
                ports.append(json.dumps(_legacy_port(svc_port, number), sort_keys=True))
        for port in ports:
            seen = by_port.setdefault(port, {})
            # Not ready trumps ready, as RepackSubsets does.
            seen[key] = seen.get(key, True) and ready
    return _repack(by_port, addresses)


def _repack(
    by_port: dict[str | None, dict[tuple[str, str], bool]],
    addresses: dict[tuple[str, str], Json],
) -> list[Json]:
    ports_by_set: dict[frozenset[tuple[tuple[str, str], bool]], list[str | None]] = {}
    for port, seen in by_port.items():
        ports_by_set.setdefault(frozenset(seen.items()), []).append(port)
    subsets: list[Json] = []
    for members, ports in ports_by_set.items():
        subset: Json = {}
        ready = sorted(k for k, r in members if r)
        not_ready = sorted(k for k, r in members if not r)
        if ready:
            subset["addresses"] = [addresses[k] for k in ready]
        if not_ready:
            subset["notReadyAddresses"] = [addresses[k] for k in not_ready]
        real = sorted(p for p in ports if p is not None)
        if real:
            subset["ports"] = [json.loads(p) for p in real]
        subsets.append(subset)
    return sorted(subsets, key=lambda s: json.dumps(s, sort_keys=True))
