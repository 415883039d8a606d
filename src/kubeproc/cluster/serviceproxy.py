"""The node's Service proxy: the runtime facts it needs, its backend, its own client.

kube-proxy is a process of its own with its own API connection; here it is a component
of the node that gets the same: a client of its own, so its two long watches never wait
on the connections the other components share. The runtime decides where pods are (the
oci runtime's bridge and pod network, or the host's loopback for the process runtime);
the proxy itself imports nothing of the runtime.
"""

from __future__ import annotations

import logging

from kubeproc.api.resources import REGISTRY
from kubeproc.client import RestClient
from kubeproc.cluster.datadir import NodeConfig, NodeError
from kubeproc.cluster.pki import Credentials
from kubeproc.cluster.runtimes import node_tag
from kubeproc.kubelet.runtime.oci import OciRuntime
from kubeproc.kubelet.runtime.types import Runtime
from kubeproc.proxy.backend import (
    BackendContext,
    ProxyBackend,
    ProxyError,
    make_backend,
    resolve_mode,
)
from kubeproc.proxy.proxier import Proxier
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


def proxy_context(config: NodeConfig, runtime: Runtime) -> BackendContext:
    """The runtime facts the service proxy needs: where pods are, and its own names."""
    table = f"kubeproc-{node_tag(config)}"
    if isinstance(runtime, OciRuntime):
        layout = runtime.layout
        return BackendContext(
            bridge=layout.bridge,
            gateway=str(layout.gateway),
            pod_cidr=str(layout.pod_cidr),
            service_cidr=config.service_cidr,
            proxy_source=str(layout.proxy_source),
            table_name=table,
            runtime="oci",
        )
    return BackendContext(
        bridge="lo",
        gateway="127.0.0.1",
        pod_cidr=config.pod_cidr,
        service_cidr=config.service_cidr,
        proxy_source="127.0.0.1",
        table_name=table,
        runtime="process",
    )


def service_proxy_backend(config: NodeConfig, runtime: Runtime) -> ProxyBackend | None:
    """The proxy's backend; None (with a warning) when ``auto`` picks one not available.

    A mode the user named that cannot run here stops the node with the reason.
    """
    ctx = proxy_context(config, runtime)
    try:
        mode = resolve_mode(config.proxy_mode, ctx.runtime)
        backend = make_backend(mode, ctx)
    except ProxyError as err:
        if config.proxy_mode != "auto":
            raise NodeError(f"--proxy-mode {config.proxy_mode}: {err}") from err
        log.warning("no Service proxy on this node reason=%s", err)
        return None
    log.info(
        "service proxy mode=%s table=%s dev=%s source=%s",
        mode,
        ctx.table_name,
        ctx.bridge,
        ctx.proxy_source,
    )
    return backend


async def run_service_proxy(
    config: NodeConfig, creds: Credentials, clock: Clock, backend: ProxyBackend
) -> None:
    """The proxy with its own API client, as kube-proxy is its own process: its two
    long watches never wait on the connections the other components share."""
    async with RestClient(
        config.server, creds.token, ca_file=str(creds.ca_cert), user_agent="kubeproc/proxy"
    ) as client:
        await Proxier(client, REGISTRY, clock, backend).run()
