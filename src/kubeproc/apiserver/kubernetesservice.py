"""The ``kubernetes`` Service in ``default``, with its Endpoints and EndpointSlice.

kube-apiserver keeps these itself (its kubernetesservice controller and the endpoint
reconciler), not the endpoints controllers: the Service has no selector. What it writes,
and so what this module writes:

- Service ``default/kubernetes``, labels ``component: apiserver`` and ``provider:
  kubernetes``, type ClusterIP at the first address of the service CIDR, one port
  ``https`` 443/TCP whose targetPort is the API server's own port, session affinity None,
  single-stack. Ports and type are reset when someone changes them; other edits stay.
- Endpoints ``default/kubernetes`` labelled ``endpointslice.kubernetes.io/skip-mirror:
  "true"`` (so no mirroring controller copies it), one subset: the API server's address
  and the port ``https`` = the API server's port.
- EndpointSlice ``default/kubernetes`` derived from that Endpoints as upstream's
  endpoints adapter derives it: labelled only ``kubernetes.io/service-name: kubernetes``
  (no managed-by label, so the EndpointSlice controller leaves it alone), IPv4, the
  address ready.

Upstream checks all three every ten seconds and recreates what was deleted;
``maintain_kubernetes_service`` does the same. The address is the node's pod-network
gateway when pods run in their own network namespaces (oci): that is where a pod reaches
the host. On the process runtime pods share the host's loopback, which an Endpoints
address may not be, so the Endpoints and the slice are written without addresses. The
API server listens on 127.0.0.1 only, so a pod cannot yet connect to that address: the
objects say where the API server is meant to be reached, the listener does not follow.

Writes go straight to the object store (this is the API server talking to itself), as
``ensure_system_namespaces`` does, under the field manager ``kube-apiserver``.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.records import WriteOptions
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

Json = dict[str, Any]
NAME = "kubernetes"
NAMESPACE = "default"
PORT_NAME = "https"
SERVICE_PORT = 443
RECONCILE_INTERVAL = 10.0
"""Upstream's ``--endpoint-reconciler`` interval (EndpointInterval)."""
SERVICE_LABELS = {"component": "apiserver", "provider": "kubernetes"}
LABEL_SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
LABEL_SERVICE_NAME = "kubernetes.io/service-name"
_WRITE = WriteOptions(field_manager="kube-apiserver")
_TYPE_DEPENDENT = (
    "externalTrafficPolicy",
    "healthCheckNodePort",
    "allocateLoadBalancerNodePorts",
    "loadBalancerClass",
)


def endpoint_address(runtime: str, pod_cidr: str) -> str | None:
    """Where pods reach the API server: the pod network's gateway on oci, else None."""
    if runtime != "oci":
        return None
    return str(ipaddress.ip_network(pod_cidr).network_address + 1)


def service_ports(api_port: int) -> list[Json]:
    return [{"name": PORT_NAME, "port": SERVICE_PORT, "protocol": "TCP", "targetPort": api_port}]


def desired_service(cluster_ip: str, api_port: int) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(SERVICE_LABELS)},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": cluster_ip,
            "ipFamilyPolicy": "SingleStack",
            "sessionAffinity": "None",
            "ports": service_ports(api_port),
        },
    }


def service_update(current: Json, api_port: int) -> Json | None:
    """``current`` with its ports and type reset, or None when both are as they should be."""
    spec = current.get("spec") or {}
    if spec.get("type") == "ClusterIP" and spec.get("ports") == service_ports(api_port):
        return None
    body = copy.deepcopy(current)
    body["spec"]["type"] = "ClusterIP"
    body["spec"]["ports"] = service_ports(api_port)
    for field in _TYPE_DEPENDENT:  # a ClusterIP Service may not carry them
        body["spec"].pop(field, None)
    return body


def endpoints_body(
    name: str, namespace: str, labels: dict[str, str], address: str | None, ports: list[Json]
) -> Json:
    """A selectorless Service's Endpoints at one address (none: no subset), marked so that
    no mirroring controller copies it."""
    subsets = [{"addresses": [{"ip": address}], "ports": ports}] if address is not None else []
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, LABEL_SKIP_MIRROR: "true"},
        },
        "subsets": subsets,
    }


def desired_endpoints(address: str | None, api_port: int) -> Json:
    port = {"name": PORT_NAME, "port": api_port, "protocol": "TCP"}
    return endpoints_body(NAME, NAMESPACE, {}, address, [port])


def slice_from_endpoints(endpoints: Json) -> Json:
    """The EndpointSlice upstream's endpoints adapter derives: first subset, ready first."""
    body: Json = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": endpoints["metadata"]["name"],
            "namespace": endpoints["metadata"]["namespace"],
            "labels": {LABEL_SERVICE_NAME: endpoints["metadata"]["name"]},
        },
        "addressType": "IPv4",
        "endpoints": [],
    }
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return body
    subset = subsets[0]
    body["ports"] = [
        {"name": p.get("name", ""), "port": p["port"], "protocol": p.get("protocol", "TCP")}
        for p in subset.get("ports") or []
    ]
    for field, ready in (("addresses", True), ("notReadyAddresses", False)):
        for address in subset.get(field) or []:
            endpoint: Json = {"addresses": [address["ip"]], "conditions": {"ready": ready}}
            for key in ("nodeName", "hostname", "targetRef"):
                if address.get(key):
                    endpoint[key] = address[key]
            body["endpoints"].append(endpoint)
    return body


def corrected(current: Json, desired: Json, fields: tuple[str, ...]) -> Json | None:
    """``current`` with ``desired``'s labels and ``fields``, or None when they already agree
    (for the objects a component keeps for itself, such as these and kube-dns's)."""
    labels = (current.get("metadata") or {}).get("labels") or {}
    if labels == desired["metadata"]["labels"] and all(
        (current.get(f) or None) == (desired.get(f) or None) for f in fields
    ):
        return None
    body = copy.deepcopy(current)
    body["metadata"]["labels"] = dict(desired["metadata"]["labels"])
    for field in fields:
        if field in desired:
            body[field] = copy.deepcopy(desired[field])
        else:
            body.pop(field, None)
    return body


class _Writer:
    """Create-or-correct against the object store, one kind at a time."""

    def __init__(self, objects: ObjectStore, registry: Registry) -> None:
        self.objects = objects

        def rt(group: str, version: str, plural: str) -> ResourceType:
            found = registry.get(group, version, plural)
            assert found is not None
            return found

        self.services = rt("", "v1", "services")
        self.endpoints = rt("", "v1", "endpoints")
        self.slices = rt("discovery.k8s.io", "v1", "endpointslices")

    def service(self, cluster_ip: str, api_port: int) -> None:
        current = self.objects.try_get(self.services, NAMESPACE, NAME)
        if current is None:
            self.objects.create(
                self.services, NAMESPACE, desired_service(cluster_ip, api_port), _WRITE
            )
            log.info("created service=default/kubernetes cluster_ip=%s", cluster_ip)
            return
        body = service_update(current, api_port)
        if body is not None:
            self.objects.update(self.services, NAMESPACE, NAME, body, _WRITE)
            log.warning("reset ports and type of service=default/kubernetes")

    def object(self, rt: ResourceType, desired: Json, fields: tuple[str, ...]) -> None:
        current = self.objects.try_get(rt, NAMESPACE, NAME)
        if current is None:
            self.objects.create(rt, NAMESPACE, desired, _WRITE)
            log.info("created %s=default/kubernetes", rt.plural)
        elif (body := corrected(current, desired, fields)) is not None:
            self.objects.update(rt, NAMESPACE, NAME, body, _WRITE)
            log.info("updated %s=default/kubernetes", rt.plural)


def ensure_kubernetes_service(
    objects: ObjectStore, registry: Registry, *, address: str | None, api_port: int
) -> None:
    """Create or correct the Service, its Endpoints and its EndpointSlice (one pass)."""
    writer = _Writer(objects, registry)
    cluster_ip = objects.allocator.kubernetes_service_ip()
    endpoints = desired_endpoints(address, api_port)
    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("service", lambda: writer.service(cluster_ip, api_port)),
        ("endpoints", lambda: writer.object(writer.endpoints, endpoints, ("subsets",))),
        (
            "endpointslice",
            lambda: writer.object(
                writer.slices,
                slice_from_endpoints(endpoints),
                ("addressType", "endpoints", "ports"),
            ),
        ),
    )
    for what, step in steps:
        try:
            step()
        except (errors.AlreadyExists, errors.Conflict) as err:
            log.debug("kubernetes %s raced another writer; next pass retries: %s", what, err)
        except errors.StatusError as err:
            log.warning("cannot reconcile kubernetes %s reason=%s", what, err)


async def maintain_kubernetes_service(
    objects: ObjectStore,
    registry: Registry,
    clock: Clock,
    *,
    address: str | None,
    api_port: int,
    interval: float = RECONCILE_INTERVAL,
) -> None:
    """``ensure_kubernetes_service`` now and every ``interval`` seconds, as upstream does."""
    while True:
        ensure_kubernetes_service(objects, registry, address=address, api_port=api_port)
        await clock.sleep(interval)
