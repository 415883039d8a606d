"""The OCI runtime spec (``config.json``) of one container: a pure function of its inputs.

Everything a container is, as runc sees it, is decided here: argv, environment, user and
groups, capabilities, namespaces (its own PID, mount, IPC and UTS namespaces; the pod's
network namespace by path), cgroup limits and the mounts ``fsview`` planned. The same
process section is what exec reproduces (``exec``), so both read it from the bundle.

Choices that follow Kubernetes on containerd/runc:
- capabilities: containerd's default set; ``add``/``drop`` with ``ALL`` handled as the
  CRI plugin does (ALL first, then single names, drop after add); none inheritable;
- environment: the kubelet's, plus ``PATH`` (containerd's default) and ``HOSTNAME`` and
  ``HOME`` when unset (``HOME`` from the user's passwd entry, else ``/``), ``TERM`` for a tty;
- CPU: quota = limit x 100 ms period, shares = request x 1024 / 1000 (minimum 2);
  memory: the limit, and memory+swap equal to it (no swap) where swap is accounted;
- the usual masked and read-only /proc and /sys paths, unless privileged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubeproc.kubelet.runtime.types import ContainerConfig, Resources, Security

OCI_VERSION = "1.0.2"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CPU_PERIOD_US = 100_000

DEFAULT_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)
"""containerd's (and Docker's) default capability set."""

ALL_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip
"""Capability numbers 0..40, in order."""

MASKED_PATHS = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def _cap_name(name: str) -> str:
    upper = name.strip().upper()
    return upper if upper.startswith("CAP_") or upper == "ALL" else f"CAP_{upper}"


def capabilities(security: Security, *, grantable: tuple[str, ...] = ALL_CAPABILITIES) -> list[str]:
    """The container's capability set, from the defaults and securityContext add/drop.

    ``grantable``: what kubeproc itself holds (its bounding set), the meaning of "all"
    for privileged containers and ``add: [ALL]``, as containerd does.
    """
    known = list(grantable)
    if security.privileged:
        return list(known)
    add = [_cap_name(c) for c in security.capabilities_add]
    drop = [_cap_name(c) for c in security.capabilities_drop]
    caps = list(DEFAULT_CAPABILITIES)
    if "ALL" in add:
        caps = list(known)
    if "ALL" in drop:
        caps = []
    for cap in add:
        if cap != "ALL" and cap not in caps:
            caps.append(cap)
    return [c for c in caps if c not in drop]


@dataclass(frozen=True)
class User:
    uid: int
    gid: int
    additional_gids: tuple[int, ...]
    home: str


def environment(config: ContainerConfig, *, hostname: str, home: str) -> list[str]:
    """``KEY=value`` lines: the kubelet's, with PATH, HOSTNAME, HOME and TERM filled in."""
    env = dict(config.env)
    defaults = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": home}
    if config.tty:
        defaults["TERM"] = "xterm"
    merged = {k: v for k, v in defaults.items() if k not in env} | env
    return [f"{k}={v}" for k, v in merged.items()]


def linux_resources(
    resources: Resources, *, memsw: bool, privileged: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": [{"allow": privileged, "access": "rwm"}]}
    if resources.memory_limit_bytes is not None:
        memory: dict[str, int] = {"limit": resources.memory_limit_bytes}
        if memsw:
            memory["swap"] = resources.memory_limit_bytes
        out["memory"] = memory
    cpu: dict[str, int] = {}
    if resources.cpu_limit_millis is not None:
        cpu["quota"] = max(1000, resources.cpu_limit_millis * CPU_PERIOD_US // 1000)
        cpu["period"] = CPU_PERIOD_US
    if resources.cpu_request_millis is not None:
        cpu["shares"] = max(2, resources.cpu_request_millis * 1024 // 1000)
    if cpu:
        out["cpu"] = cpu
    if resources.pids_limit is not None:
        out["pids"] = {"limit": resources.pids_limit}
    return out


def render(
    config: ContainerConfig,
    *,
    user: User,
    hostname: str,
    rootfs: str,
    netns_path: str,
    cgroups_path: str,
    mounts: list[dict[str, Any]],
    memsw: bool,
    annotations: dict[str, str],
    grantable: tuple[str, ...] = ALL_CAPABILITIES,
) -> dict[str, Any]:
    """The ``config.json`` of the container (pure)."""
    security = config.security
    caps = capabilities(security, grantable=grantable)
    linux: dict[str, Any] = {
        "cgroupsPath": cgroups_path,
        "resources": linux_resources(config.resources, memsw=memsw, privileged=security.privileged),
        "namespaces": [
            {"type": "pid"},
            {"type": "ipc"},
            {"type": "uts"},
            {"type": "mount"},
            {"type": "network", "path": netns_path},
        ],
    }
    if not security.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": config.tty,
            "user": {
                "uid": user.uid,
                "gid": user.gid,
                "additionalGids": list(user.additional_gids),
            },
            "args": list(config.argv),
            "env": environment(config, hostname=hostname, home=user.home),
            "cwd": config.working_dir or "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps,
                "inheritable": [],
                "ambient": [],
            },
            "noNewPrivileges": False,
        },
        "root": {"path": rootfs, "readonly": True},
        "hostname": hostname,
        "mounts": mounts,
        "annotations": annotations,
        "linux": linux,
    }


def bounding_set(status: str) -> tuple[str, ...]:
    """The capability names in a ``/proc/<pid>/status`` text's ``CapBnd`` mask (pure)."""
    for line in status.splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return tuple(c for i, c in enumerate(ALL_CAPABILITIES) if mask & (1 << i))
    return ALL_CAPABILITIES


def label_annotations(labels: dict[str, str], sandbox_id: str) -> dict[str, str]:
    """The labels travel with the bundle too, for tools that only see runc's state."""
    return {
        "io.kubeproc.sandbox-id": sandbox_id,
        "io.kubeproc.labels": json.dumps(labels, sort_keys=True),
    }
