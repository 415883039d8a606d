"""A pod's DNS settings: nameservers, search path and options, decided as the kubelet does.

The base is the node's own resolver file (the kubelet's ``--resolv-conf``), read by
``read_host_dns``. Per ``dnsPolicy``:

- ``ClusterFirst`` (a pod on its own network) and ``ClusterFirstWithHostNet``: the cluster's
  nameservers, the search path ``<ns>.svc.<domain> svc.<domain> <domain>`` followed by the
  host's own search domains, and ``ndots:5``. Without cluster DNS these fall back to the
  host's settings.
- ``Default``, and ``ClusterFirst`` on the host's network: the host's settings.
- ``None``: nothing but the pod's ``dnsConfig``.

``dnsConfig`` then adds nameservers and search domains (duplicates dropped) and replaces
options by name. Last, the result is cut to what resolvers accept: three nameservers, 32
search domains of at most 253 characters and 2048 in all; each cut is reported in the
kubelet's words, for a ``DNSConfigForming`` warning event.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeproc.util import resolvconf
from kubeproc.util.resolvconf import DnsConfig

MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_LINE_CHARS = 2048
MAX_SEARCH_PATH_CHARS = 253
CLUSTER_OPTIONS = ("ndots:5",)
SYSTEMD_RESOLVED_UPSTREAMS = Path("/run/systemd/resolve/resolv.conf")


@dataclass(frozen=True)
class PodDns:
    config: DnsConfig
    warnings: tuple[str, ...] = ()
    """Messages of the ``DNSConfigForming`` events: what had to be cut, and what is left."""


def node_resolver_file(
    etc: Path = Path("/etc/resolv.conf"), upstream: Path = SYSTEMD_RESOLVED_UPSTREAMS
) -> Path:
    """The node's resolver file for pods: ``/etc/resolv.conf``, unless it names only
    loopback servers (systemd-resolved's stub, 127.0.0.53) that no pod can reach and the
    file of the real upstream servers exists, which kubeadm would pick too."""
    servers = resolvconf.read(etc).servers
    if servers and all(_loopback(s) for s in servers) and upstream.is_file():
        return upstream
    return etc


def _loopback(server: str) -> bool:
    try:
        return ipaddress.ip_address(server.partition("%")[0]).is_loopback
    except ValueError:
        return False


def read_host_dns(path: Path | None) -> DnsConfig:
    """The node's resolver settings; none without a file (``--resolv-conf ""``)."""
    return resolvconf.read(path) if path is not None else DnsConfig()


def pod_dns(
    pod: dict[str, Any], *, cluster_dns: tuple[str, ...], cluster_domain: str, host: DnsConfig
) -> PodDns:
    """``GetPodDNS``: the pod's DNS settings over ``host``, cut to the resolvers' limits."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    cluster = policy == "ClusterFirstWithHostNet" or (
        policy == "ClusterFirst" and not spec.get("hostNetwork")
    )
    if policy == "None":
        base = DnsConfig()
    elif cluster and cluster_dns:
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        own = (
            (f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain)
            if cluster_domain
            else ()
        )
        base = DnsConfig(cluster_dns, _unique((*own, *host.searches)), CLUSTER_OPTIONS)
    else:
        base = host
    extra = spec.get("dnsConfig") or {}
    config = DnsConfig(
        _unique((*base.servers, *_strings(extra.get("nameservers")))),
        _unique((*base.searches, *_strings(extra.get("searches")))),
        _merge_options(base.options, extra.get("options") or ()),
    )
    return _fit_limits(config)


def _strings(raw: Any) -> tuple[str, ...]:
    return tuple(str(x) for x in raw or () if x)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _merge_options(base: tuple[str, ...], extra: Iterable[Any]) -> tuple[str, ...]:
    """Options by name: the pod's ``dnsConfig.options`` replace same-named ones."""
    merged: dict[str, str] = {}
    for option in base:
        name, _, value = option.partition(":")
        merged[name] = option if value else name
    for option in extra:
        if not isinstance(option, dict):
            continue
        name = str(option.get("name") or "")
        if name:
            given = option.get("value")
            merged[name] = f"{name}:{given}" if given not in (None, "") else name
    return tuple(merged.values())


def _fit_limits(config: DnsConfig) -> PodDns:
    warnings: list[str] = []
    servers = config.servers
    if len(servers) > MAX_NAMESERVERS:
        servers = servers[:MAX_NAMESERVERS]
        warnings.append(
            "Nameserver limits were exceeded, some nameservers have been omitted, "
            f"the applied nameserver line is: {' '.join(servers)}"
        )
    searches = list(config.searches)
    cut = len(searches) > MAX_SEARCH_PATHS
    searches = searches[:MAX_SEARCH_PATHS]
    kept = [s for s in searches if len(s) <= MAX_SEARCH_PATH_CHARS]
    cut = cut or len(kept) < len(searches)
    while kept and len(" ".join(kept)) > MAX_SEARCH_LINE_CHARS:
        kept.pop()  # the last domains go first, as the kubelet cuts them
        cut = True
    if cut:
        warnings.append(
            "Search Line limits were exceeded, some search paths have been omitted, "
            f"the applied search line is: {' '.join(kept)}"
        )
    return PodDns(DnsConfig(servers, tuple(kept), config.options), tuple(warnings))
