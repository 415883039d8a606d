"""The files every container of a pod sees at /etc/hostname, /etc/hosts and /etc/resolv.conf.

Written once per sandbox, after CNI has handed out the pod IP, and bind-mounted into each
container. ``hosts`` is the kubelet's managed hosts file; ``resolv.conf`` lists the
sandbox's search domains, DNS servers and options (the kubelet decides them, see
``kubelet.poddns``), or is the host's when none are given.
"""

from __future__ import annotations

from pathlib import Path

from kubeproc.kubelet.runtime.oci.state import SandboxRecord

HOSTS_HEADER = """\
# Kubernetes-managed hosts file.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
fe00::0\tip6-mcastprefix
fe00::1\tip6-allnodes
fe00::2\tip6-allrouters
"""

FILES = {"/etc/hostname": "hostname", "/etc/hosts": "hosts", "/etc/resolv.conf": "resolv.conf"}


def hosts(ip: str, hostname: str) -> str:
    return f"{HOSTS_HEADER}{ip}\t{hostname}\n"


def resolv_conf(
    servers: tuple[str, ...], searches: tuple[str, ...], options: tuple[str, ...], host_resolv: str
) -> str:
    """The pod's resolv.conf in the container runtimes' order (search, nameservers,
    options); the host's own file when the kubelet decided nothing."""
    if not servers and not searches and not options:
        return host_resolv
    lines = [f"search {' '.join(searches)}"] if searches else []
    lines += [f"nameserver {s}" for s in servers]
    if options:
        lines.append(f"options {' '.join(options)}")
    return "\n".join(lines) + "\n"


def write(directory: Path, record: SandboxRecord) -> dict[str, str]:
    """Write the three files; returns container path -> host path, for the mount plan."""
    try:
        host_resolv = Path("/etc/resolv.conf").read_text()
    except OSError:
        host_resolv = ""
    contents = {
        "hostname": record.hostname + "\n",
        "hosts": hosts(record.ip, record.hostname),
        "resolv.conf": resolv_conf(
            record.dns_servers, record.dns_searches, record.dns_options, host_resolv
        ),
    }
    for name, text in contents.items():
        (directory / name).write_text(text)
    return paths(directory)


def paths(directory: Path) -> dict[str, str]:
    return {dest: str(directory / name) for dest, name in FILES.items()}
