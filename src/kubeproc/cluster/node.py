"""The node process: one store, the API server, and the components, under one owner.

``run_node`` holds the data dir's lock for its whole life, opens the store, serves the API
over HTTPS, and runs the scheduler, controllers, the kubelet's node status and the store
compactor, each under ``supervise`` so a failing one is restarted, not fatal. They reach
the API only through the client. The scopes nest (listener, client, components), so
cancelling ``run_node`` stops them in reverse and everything has stopped when it returns.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import secrets
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

from kubeproc.api.resources import REGISTRY
from kubeproc.apiserver.allocators import ServiceAllocator
from kubeproc.apiserver.app import ApiServer, build_app
from kubeproc.apiserver.bootstrap import compact_periodically, ensure_system_namespaces
from kubeproc.apiserver.kubernetesservice import endpoint_address, maintain_kubernetes_service
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.client import RestClient
from kubeproc.cluster.datadir import NodeConfig, NodeError, data_dir_lock
from kubeproc.cluster.dnsservice import ensure_dns_service
from kubeproc.cluster.pki import Credentials, ensure_credentials, kubeconfig
from kubeproc.cluster.podnetwork import PodNetwork, pod_network
from kubeproc.cluster.runtimes import (
    become_subreaper,
    choose_runtime,
    purge_runtime,
    reap_orphans_periodically,
)
from kubeproc.cluster.serviceproxy import run_service_proxy, service_proxy_backend
from kubeproc.controllers.deployment import DeploymentController
from kubeproc.controllers.endpoints import EndpointsController
from kubeproc.controllers.endpointslice import EndpointSliceController
from kubeproc.controllers.garbagecollector import GarbageCollector
from kubeproc.controllers.namespace import NamespaceController
from kubeproc.controllers.replicaset import ReplicaSetController
from kubeproc.controllers.serviceaccounts import ServiceAccountController
from kubeproc.controllers.servicelb import ServiceLoadBalancerController
from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.kubelet import Kubelet
from kubeproc.kubelet.locator import LocatedContainer, PodContainers
from kubeproc.kubelet.nodestatus import NodeStatus
from kubeproc.kubelet.poddns import node_resolver_file
from kubeproc.kubelet.server import KubeletServer
from kubeproc.scheduler.scheduler import Scheduler
from kubeproc.storage import SqliteStore, StorageError
from kubeproc.util.clock import Clock, SystemClock
from kubeproc.util.supervise import supervise

log = logging.getLogger(__name__)


def server_ssl(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def run_node(config: NodeConfig, *, on_ready: Callable[[], None] | None = None) -> None:
    """Run the node until cancelled; everything it started has stopped when it returns."""
    clock = SystemClock()
    become_subreaper()
    with data_dir_lock(config):
        creds = ensure_credentials(config.data_dir / "pki")
        try:
            store = SqliteStore.open(config.data_dir / "state.db")
        except StorageError as err:
            raise NodeError(f"cannot open the store in {config.data_dir}: {err}") from err
        try:
            objects = ObjectStore(
                store, REGISTRY, clock, allocator=ServiceAllocator(config.service_cidr)
            )
            ensure_system_namespaces(objects, REGISTRY)
            _write_kubeconfig(config, creds)
            await _serve(config, creds, objects, clock, on_ready)
        finally:
            store.close()


def _write_kubeconfig(config: NodeConfig, creds: Credentials) -> None:
    text = kubeconfig(config.server, creds.ca_cert, creds.token)
    tmp = config.kubeconfig_path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(config.kubeconfig_path)


async def _serve(
    config: NodeConfig,
    creds: Credentials,
    objects: ObjectStore,
    clock: Clock,
    on_ready: Callable[[], None] | None,
) -> None:
    """The API server, then the client, then the components, each scope inside the last.

    Teardown runs in reverse: the components stop while the client and the listener are
    still there (a component that met a closed client would fail and be restarted in the
    middle of the shutdown), then the client closes, then the listener.
    """
    token = creds.token
    kubelet_token = secrets.token_urlsafe(32)
    choice = choose_runtime(config)
    if choice.warning:
        log.warning("%s", choice.warning)
    backend = service_proxy_backend(config, choice.runtime)
    network = pod_network(config, choice.runtime)
    proxy = None
    if backend is not None:
        proxy = functools.partial(run_service_proxy, config, creds, clock, backend)
    kubelet: Kubelet | None = None
    app = build_app(
        objects,
        REGISTRY,
        clock,
        token=token,
        kubelet_token=kubelet_token,
        ready=lambda: kubelet is not None and kubelet.ready.is_set(),
        write_warnings=network.write_warnings,
    )
    server = ApiServer(
        app,
        host=config.host,
        port=config.port,
        ssl_context=server_ssl(creds.server_cert, creds.server_key),
    )
    try:
        async with asyncio.TaskGroup() as serving_group:
            serving = serving_group.create_task(server.run(), name="apiserver")
            await _wait_started(server, serving)
            async with RestClient(
                config.server, token, ca_file=str(creds.ca_cert), user_agent="kubeproc/node"
            ) as client:
                locator = _LateLocator()
                kubelet_server = KubeletServer(locator, choice.runtime, token=kubelet_token)
                serving_group.create_task(kubelet_server.run(), name="kubelet-server")
                await kubelet_server.started.wait()
                node_status = NodeStatus(
                    client,
                    REGISTRY,
                    clock,
                    node_name=config.node_name,
                    data_dir=config.data_dir,
                    kubelet_port=kubelet_server.port or 0,
                )
                await node_status.register()
                # Pods name the kube-dns Service when the proxy carries its UDP; else the
                # DNS server's own address.
                cluster_dns = network.cluster_dns
                if cluster_dns and backend is not None and "UDP" in backend.protocols:
                    dns_ip = await ensure_dns_service(
                        client, REGISTRY, service_cidr=config.service_cidr, address=network.gateway
                    )
                    cluster_dns = (dns_ip,) if dns_ip else cluster_dns
                kubelet = Kubelet(
                    client,
                    REGISTRY,
                    clock,
                    choice.runtime,
                    KubeletConfig(
                        node_name=config.node_name,
                        root_dir=config.data_dir / "kubelet",
                        backoff_initial=config.backoff_initial,
                        backoff_max=config.backoff_max,
                        backoff_reset=config.backoff_reset,
                        cluster_dns=cluster_dns,
                        resolv_conf=node_resolver_file(),
                    ),
                    on_ready=node_status.set_runtime_ready,
                )
                locator.target = kubelet
                kubelet_server.probes.history = kubelet.prober.history
                try:
                    await _run_components(
                        config,
                        client=client,
                        objects=objects,
                        clock=clock,
                        node_status=node_status,
                        kubelet=kubelet,
                        proxy=proxy,
                        network=network,
                        on_ready=on_ready,
                    )
                finally:
                    await _drain(kubelet, config.shutdown_grace_period)
    finally:
        await purge_runtime(choice.runtime)


async def freeze_long_lived(clock: Clock, interval: float = 30.0) -> None:
    """Keep Python's full collections short as the object caches grow.

    The store's decoded cache and the components' informers hold millions of long-lived,
    acyclic JSON objects; a full collection scanning them paused the node for 2-3 s at
    10,000 pods (bench/README.md). Freezing moves what survived so far out of the scans;
    reference counting still frees it when released.
    """
    while True:
        await clock.sleep(interval)
        gc.collect(1)
        gc.freeze()


class _LateLocator:
    """The kubelet server starts before the kubelet exists; this points it there later."""

    def __init__(self) -> None:
        self.target: PodContainers | None = None

    def locate(
        self, namespace: str, pod: str, container: str, *, previous: bool
    ) -> LocatedContainer | None:
        if self.target is None:
            return None
        return self.target.locate(namespace, pod, container, previous=previous)

    def is_running(self, container_id: str) -> bool:
        return self.target is not None and self.target.is_running(container_id)


async def _run_components(
    config: NodeConfig,
    *,
    client: RestClient,
    objects: ObjectStore,
    clock: Clock,
    node_status: NodeStatus,
    kubelet: Kubelet,
    proxy: Callable[[], Awaitable[None]] | None,
    network: PodNetwork,
    on_ready: Callable[[], None] | None,
) -> None:
    components: dict[str, Callable[[], Awaitable[None]]] = {
        "node-status": node_status.run,
        "kubelet": kubelet.run,
        "scheduler": Scheduler(client, REGISTRY, clock, config.node_name).run,
        "namespace-controller": NamespaceController(client, REGISTRY, clock).run,
        "garbage-collector": GarbageCollector(client, REGISTRY, clock).run,
        "endpointslice-controller": EndpointSliceController(client, REGISTRY, clock).run,
        "endpoints-controller": EndpointsController(client, REGISTRY, clock).run,
        "service-lb-controller": ServiceLoadBalancerController(client, REGISTRY, clock).run,
        "kubernetes-service": functools.partial(
            maintain_kubernetes_service,
            objects,
            REGISTRY,
            clock,
            address=endpoint_address(kubelet.runtime.name, config.pod_cidr),
            api_port=config.port,
        ),
        "serviceaccount-controller": ServiceAccountController(client, REGISTRY, clock).run,
        "replicaset-controller": ReplicaSetController(client, REGISTRY, clock).run,
        "deployment-controller": DeploymentController(client, REGISTRY, clock).run,
        "replicationcontroller-controller": ReplicaSetController(
            client, REGISTRY, clock, kind="ReplicationController"
        ).run,
        "compactor": functools.partial(compact_periodically, objects, clock),
        "orphan-reaper": functools.partial(reap_orphans_periodically, clock),
        "gc-freezer": functools.partial(freeze_long_lived, clock),
    }
    if proxy is not None:
        components["service-proxy"] = proxy
    components.update(network.components(client, clock))
    async with asyncio.TaskGroup() as component_group:
        for name, run in components.items():
            component_group.create_task(supervise(name, run, clock), name=name)
        log.info("node ready server=%s node=%s", config.server, config.node_name)
        if on_ready is not None:
            on_ready()


async def _drain(kubelet: Kubelet, grace: float) -> None:
    """``kubeproc down``: stop every pod gracefully and remove what the kubelet made.

    Runs after the components were cancelled, with the API still served. Grace periods
    are cut at ``grace`` seconds in all (``--shutdown-grace-period``, shorter than
    ``kubeproc down``'s wait): a pod with a grace period of minutes is then killed by the
    runtime's purge that follows, rather than the node being killed with containers
    running that nothing would stop. A second signal cuts the drain short too.
    """
    log.info("draining pods before the node stops timeout=%.0fs", grace)
    try:
        async with asyncio.timeout(grace):
            await kubelet.drain()
    except TimeoutError:
        log.warning("drain cut at %.0fs; the purge kills the pods left", grace)
    except Exception:
        log.exception("drain failed; the purge removes the pods left")


async def _wait_started(server: ApiServer, serving: asyncio.Task[None]) -> None:
    started = asyncio.ensure_future(server.started.wait())
    try:
        done, _ = await asyncio.wait({started, serving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        started.cancel()
    if serving in done:
        exc = serving.exception()
        if isinstance(exc, OSError):
            raise NodeError(f"cannot listen on the API port: {exc.strerror}") from exc
        if exc is not None:
            raise exc
