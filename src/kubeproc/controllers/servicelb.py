"""The service load-balancer controller: a LoadBalancer Service's ingress is its cluster IP.

One node has no cloud to ask for a load balancer, so this controller does what
``minikube tunnel`` does: the service CIDR is routed to the node's bridge, the cluster IP
is reachable from the host and the Service proxy answers on it, so the cluster IP *is*
the balancer's address. For every Service of type LoadBalancer that has a cluster IP it
writes ``status.loadBalancer.ingress: [{ip: <clusterIP>, ipMode: VIP}]`` (``kubectl get
svc`` then shows it as EXTERNAL-IP instead of ``<pending>``); when the type changes away
from LoadBalancer it clears the ingress again, as the cloud service controller does when
it tears a balancer down. Services with a ``loadBalancerClass`` belong to another
implementation and are left alone, as upstream's controller leaves them.

Shaped as the other controllers: a Service informer feeds a work queue of keys, a worker
decides in the pure ``ingress_to_write`` and writes through the status subresource with
the cached resourceVersion (a conflict retries the key after its back-off).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from kubeproc.api import errors
from kubeproc.api.resources import Registry
from kubeproc.client import ApiClient, Informer
from kubeproc.controllers.workqueue import WorkQueue, run_workers
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)

Json = dict[str, Any]
WORKERS = 1


def _ingress(svc: Json) -> list[Json]:
    status = svc.get("status") or {}
    balancer = status.get("loadBalancer") or {}
    return list(balancer.get("ingress") or [])


def desired_ingress(svc: Json) -> list[Json] | None:
    """The ingress this controller wants, or None when the Service is not its to manage."""
    spec = svc.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return []
    if spec.get("loadBalancerClass"):
        return None
    cluster_ip = spec.get("clusterIP")
    if not cluster_ip or cluster_ip == "None":
        return []  # not allocated yet: stays <pending>
    return [{"ip": cluster_ip, "ipMode": "VIP"}]


def ingress_to_write(svc: Json) -> Json | None:
    """The Service with the ingress it should have, or None when it already has it."""
    wanted = desired_ingress(svc)
    if wanted is None or _ingress(svc) == wanted:
        return None
    body = copy.deepcopy(svc)
    status = body.setdefault("status", {})
    if wanted:
        status["loadBalancer"] = {"ingress": wanted}
    else:
        status["loadBalancer"] = {}
    return body


class ServiceLoadBalancerController:
    def __init__(self, client: ApiClient, registry: Registry, clock: Clock) -> None:
        svc_rt = registry.get("", "v1", "services")
        assert svc_rt is not None
        self.client = client
        self.svc_rt = svc_rt
        self.queue = WorkQueue(clock, "service-lb")
        self.services = Informer(client, svc_rt, clock, listener=self._service_changed)

    def _service_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        if new is not None and ingress_to_write(new) is not None:
            self.queue.add(key)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.services.run())
            await self.services.synced.wait()
            tg.create_task(run_workers(self.queue, self.sync, workers=WORKERS))

    async def sync(self, key: str) -> None:
        svc = self.services.objects.get(key)
        if svc is None:
            return
        body = ingress_to_write(svc)
        if body is None:
            return
        namespace, _, name = key.partition("/")
        ingress = _ingress(body)
        try:
            await self.client.update(self.svc_rt, namespace, name, body, subresource="status")
        except errors.NotFound:
            return  # deleted meanwhile: nothing to balance
        log.info(
            "load balancer %s service=%s ingress=%s",
            "ensured" if ingress else "cleared",
            key,
            ",".join(i["ip"] for i in ingress) or "-",
        )
