"""From a pod spec to the runtime's records: ``SandboxConfig``, ``ContainerConfig``, etc-hosts.

``generateContainerConfig`` resolved ahead of the runtime: argv from ``command``/``args``
with ``$(VAR)`` expansion, the environment, bind mounts for the volumes (plus the
kubelet-managed ``/etc/hosts`` when the pod has its own network), the security context
(container over pod), cgroup limits and the labels that let the kubelet recognise the
instance after a restart. Anything the kubelet itself cannot resolve raises
``ContainerConfigError`` (waiting reason ``CreateContainerConfigError``), among them a
container that names only an image: kubeproc runs the host's programs, so ``command`` is
required, and the message says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeproc.api.validation.quantity import parse_quantity
from kubeproc.kubelet.actions import format_pod
from kubeproc.kubelet.config import KubeletConfig
from kubeproc.kubelet.envvars import ConfigSources, EnvError, expand_command, make_environment
from kubeproc.kubelet.runtime.types import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerConfig,
    Mount,
    Resources,
    SandboxConfig,
    Security,
)
from kubeproc.kubelet.runtimestatus import (
    LABEL_CONTAINER_HASH,
    LABEL_CONTAINER_TYPE,
    LABEL_TERMINATION_GRACE,
    container_hash,
)
from kubeproc.kubelet.volumes import MountError, container_mounts
from kubeproc.util.resolvconf import DnsConfig

CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"


class ContainerConfigError(Exception):
    reason = CREATE_CONTAINER_CONFIG_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def no_command_message(container: dict[str, Any], *, init: bool) -> str:
    field = "initContainers" if init else "containers"
    return (
        f'container "{container.get("name", "")}" has no command: kubeproc runs the host\'s '
        f"programs, not images; set spec.{field}[].command"
    )


def pod_labels(pod: dict[str, Any]) -> dict[str, str]:
    meta = pod["metadata"]
    return {
        LABEL_POD_UID: meta.get("uid", ""),
        LABEL_POD_NAME: meta.get("name", ""),
        LABEL_POD_NAMESPACE: meta.get("namespace", ""),
    }


def sandbox_config(pod: dict[str, Any], config: KubeletConfig, dns: DnsConfig) -> SandboxConfig:
    """``generatePodSandboxConfig``: identity, hostname, DNS and the log directory."""
    meta = pod["metadata"]
    spec = pod["spec"]
    namespace = meta.get("namespace", "")
    return SandboxConfig(
        pod_uid=meta.get("uid", ""),
        pod_name=meta.get("name", ""),
        namespace=namespace,
        hostname=(spec.get("hostname") or meta.get("name", ""))[:63],
        log_dir=str(config.pod_log_dir(namespace, meta.get("name", ""), meta.get("uid", ""))),
        dns_servers=dns.servers,
        dns_searches=dns.searches,
        dns_options=dns.options,
        labels=pod_labels(pod),
    )


def etc_hosts(pod: dict[str, Any], pod_ip: str, config: KubeletConfig) -> str:
    """``managedHostsFileContent``: localhost entries, the pod's own name, host aliases."""
    spec = pod["spec"]
    meta = pod["metadata"]
    hostname = spec.get("hostname") or meta.get("name", "")
    lines = [
        "# Kubernetes-managed hosts file.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    if spec.get("subdomain"):
        namespace = meta.get("namespace", "")
        fqdn = f"{hostname}.{spec['subdomain']}.{namespace}.svc.{config.cluster_domain}"
        lines.append(f"{pod_ip}\t{fqdn}\t{hostname}")
    else:
        lines.append(f"{pod_ip}\t{hostname}")
    aliases = spec.get("hostAliases") or []
    if aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        lines += [f"{a.get('ip', '')}\t" + "\t".join(a.get("hostnames") or []) for a in aliases]
    return "\n".join(lines) + "\n"


def _millis(raw: Any) -> int | None:
    q = parse_quantity(raw) if raw is not None else None
    return math.ceil(q.value * 1000) if q is not None else None


def _bytes(raw: Any) -> int | None:
    q = parse_quantity(raw) if raw is not None else None
    return math.ceil(q.value) if q is not None else None


def resources_of(container: dict[str, Any], pids_limit: int | None) -> Resources:
    res = container.get("resources") or {}
    limits = res.get("limits") or {}
    requests = res.get("requests") or {}
    return Resources(
        memory_limit_bytes=_bytes(limits.get("memory")),
        cpu_limit_millis=_millis(limits.get("cpu")),
        cpu_request_millis=_millis(requests.get("cpu")),
        pids_limit=pids_limit,
    )


def security_of(pod: dict[str, Any], container: dict[str, Any]) -> Security:
    """The effective security context, refusing what ``runAsNonRoot`` forbids."""
    psc = pod["spec"].get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def pick(key: str) -> Any:
        return sc[key] if sc.get(key) is not None else psc.get(key)

    user = pick("runAsUser")
    if pick("runAsNonRoot"):
        name = container.get("name", "")
        if user == 0:
            raise ContainerConfigError(
                f'container\'s runAsUser breaks non-root policy (pod: "{format_pod(pod)}", '
                f"container: {name})"
            )
        if user is None and os.geteuid() == 0:
            raise ContainerConfigError(
                f'container has runAsNonRoot and image will run as root (pod: "{format_pod(pod)}", '
                f"container: {name})"
            )
    groups = [int(g) for g in psc.get("supplementalGroups") or []]
    if psc.get("fsGroup") is not None:
        groups.append(int(psc["fsGroup"]))
    caps = sc.get("capabilities") or {}
    return Security(
        run_as_user=user,
        run_as_group=pick("runAsGroup"),
        supplemental_groups=tuple(groups),
        read_only_root_filesystem=bool(sc.get("readOnlyRootFilesystem")),
        capabilities_add=tuple(caps.get("add") or ()),
        capabilities_drop=tuple(caps.get("drop") or ()),
        privileged=bool(sc.get("privileged")),
    )


@dataclass(frozen=True)
class PodContext:
    """What every container of one pod sync shares."""

    pod_ips: list[str]
    volumes: Mapping[str, tuple[str, bool]]
    services: Mapping[str, str]
    etc_hosts_path: str | None
    """The managed /etc/hosts to mount, or None (host network: the host's file)."""


async def generate_container_config(
    pod: dict[str, Any],
    container: dict[str, Any],
    *,
    init: bool,
    attempt: int,
    ctx: PodContext,
    sources: ConfigSources,
    config: KubeletConfig,
    allocatable: Mapping[str, str],
) -> tuple[ContainerConfig, list[str]]:
    """The runtime's ``ContainerConfig`` and warnings for events; or ``ContainerConfigError``."""
    if not container.get("command"):
        raise ContainerConfigError(no_command_message(container, init=init))
    try:
        environment = await make_environment(
            pod,
            container,
            sources,
            pod_ips=ctx.pod_ips,
            host_ip=config.host_ip,
            services=ctx.services if pod["spec"].get("enableServiceLinks", True) else {},
            allocatable=allocatable,
        )
    except EnvError as err:
        raise ContainerConfigError(err.message) from err
    env = environment.as_dict()
    try:
        mounts = container_mounts(container, ctx.volumes, env)
    except (MountError, OSError) as err:
        raise ContainerConfigError(str(err)) from err
    if ctx.etc_hosts_path and not any(m.container_path == "/etc/hosts" for m in mounts):
        mounts.append(Mount(ctx.etc_hosts_path, "/etc/hosts"))
    meta = pod["metadata"]
    name = container["name"]
    labels = {
        **pod_labels(pod),
        LABEL_CONTAINER_NAME: name,
        LABEL_ATTEMPT: str(attempt),
        LABEL_CONTAINER_HASH: container_hash(container),
        LABEL_CONTAINER_TYPE: "init" if init else "regular",
        LABEL_TERMINATION_GRACE: str(pod["spec"].get("terminationGracePeriodSeconds", 30)),
    }
    log_path = config.container_log_path(
        meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", ""), name, attempt
    )
    cfg = ContainerConfig(
        name=name,
        attempt=attempt,
        argv=tuple(expand_command(container, env)),
        env=tuple(environment.env),
        working_dir=container.get("workingDir") or "",
        mounts=tuple(mounts),
        resources=resources_of(container, config.pod_pids_limit),
        security=security_of(pod, container),
        tty=bool(container.get("tty")),
        stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        log_path=str(log_path),
        labels=labels,
    )
    return cfg, environment.warnings
