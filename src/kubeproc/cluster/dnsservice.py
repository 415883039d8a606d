"""The ``kube-dns`` Service in ``kube-system``: the cluster DNS's address, as pods use it.

A kubeadm cluster installs CoreDNS behind Service ``kube-system/kube-dns`` at the tenth
address of the service CIDR (10.96.0.10 by default) and gives that address to the
kubelet as ``clusterDNS``. The node's DNS server is no pod, so the Service has no
selector; its Endpoints and EndpointSlice name the server's address (the bridge gateway)
with ports ``dns`` 53/UDP and ``dns-tcp`` 53/TCP, and the Service proxy carries pods'
queries there like any other Service's traffic.

``ensure_dns_service`` runs once as the node starts, before the kubelet: it creates the
Service when it is missing (at the tenth address, or wherever the allocator puts it when
that one is taken) and leaves an existing one as the user left it; it creates or
corrects the Endpoints and the EndpointSlice, whose address follows the node's bridge.
It returns the Service's cluster IP, the nameserver of every ClusterFirst pod.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry, ResourceType
from kubeproc.apiserver.kubernetesservice import (
    corrected,
    endpoints_body,
    slice_from_endpoints,
)
from kubeproc.client import ApiClient

log = logging.getLogger(__name__)

Json = dict[str, Any]
NAME = "kube-dns"
NAMESPACE = "kube-system"
DNS_PORT = 53
SERVICE_LABELS = {
    "k8s-app": "kube-dns",
    "kubernetes.io/cluster-service": "true",
    "kubernetes.io/name": "CoreDNS",
}
PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))


def preferred_ip(service_cidr: str) -> str:
    """The tenth address of the service CIDR, where kubeadm puts the cluster DNS."""
    return str(ipaddress.ip_network(service_cidr, strict=False).network_address + 10)


def desired_service(cluster_ip: str | None) -> Json:
    spec: Json = {
        "type": "ClusterIP",
        "ports": [
            {"name": name, "port": DNS_PORT, "protocol": proto, "targetPort": DNS_PORT}
            for name, proto in PORTS
        ],
    }
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(SERVICE_LABELS)},
        "spec": spec,
    }


def desired_endpoints(address: str) -> Json:
    ports = [{"name": name, "port": DNS_PORT, "protocol": proto} for name, proto in PORTS]
    return endpoints_body(NAME, NAMESPACE, SERVICE_LABELS, address, ports)


def _rt(registry: Registry, group: str, plural: str) -> ResourceType:
    found = registry.get(group, "v1", plural)
    assert found is not None
    return found


async def ensure_dns_service(
    client: ApiClient, registry: Registry, *, service_cidr: str, address: str
) -> str | None:
    """The Service's cluster IP once it and its endpoints exist; None when it cannot be made."""
    services = _rt(registry, "", "services")
    try:
        cluster_ip = await _service(client, services, service_cidr)
        endpoints = desired_endpoints(address)
        await _correct(client, _rt(registry, "", "endpoints"), endpoints, ("subsets",))
        await _correct(
            client,
            _rt(registry, "discovery.k8s.io", "endpointslices"),
            slice_from_endpoints(endpoints),
            ("addressType", "endpoints", "ports"),
        )
    except errors.StatusError as err:
        log.warning("no kube-dns service: pods name the DNS server directly reason=%s", err)
        return None
    return cluster_ip


async def _service(client: ApiClient, rt: ResourceType, service_cidr: str) -> str | None:
    try:
        current = await client.get(rt, NAMESPACE, NAME)
    except errors.NotFound:
        try:
            current = await client.create(
                rt, NAMESPACE, desired_service(preferred_ip(service_cidr))
            )
        except errors.Invalid as err:  # the address is someone else's: take another
            log.info("kube-dns at %s refused (%s); the allocator picks", service_cidr, err)
            current = await client.create(rt, NAMESPACE, desired_service(None))
        log.info("created service=kube-system/kube-dns cluster_ip=%s", current["spec"]["clusterIP"])
    cluster_ip = (current.get("spec") or {}).get("clusterIP")
    return cluster_ip if cluster_ip and cluster_ip != "None" else None


async def _correct(
    client: ApiClient, rt: ResourceType, desired: Json, fields: tuple[str, ...]
) -> None:
    try:
        current = await client.get(rt, NAMESPACE, NAME)
    except errors.NotFound:
        await client.create(rt, NAMESPACE, desired)
        return
    body = corrected(current, desired, fields)
    if body is not None:
        await client.update(rt, NAMESPACE, NAME, body)
