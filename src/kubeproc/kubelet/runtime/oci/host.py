"""The host programs the ``oci`` runtime runs, and whether this machine can run it at all."""

from __future__ import annotations

import os
import shutil

from kubeproc.kubelet.runtime.oci.cgroups import Cgroups
from kubeproc.kubelet.runtime.oci.network import find_cni_dir
from kubeproc.kubelet.runtime.types import ContainerRuntimeError

TOOLS = ("runc", "conmon", "ip", "nsenter", "setpriv", "setsid", "env", "sh")


def available() -> str | None:
    """None when this machine can run the oci runtime, else the reason it cannot."""
    if os.geteuid() != 0:
        return "the oci runtime needs root (runc, network namespaces, cgroups)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (scripts/system-packages installs them)"
    if find_cni_dir() is None:
        return (
            "missing the CNI plugins bridge, host-local and loopback (containernetworking-plugins)"
        )
    if not Cgroups.read().hierarchies:
        return "no cgroup filesystem is mounted"
    return None


def which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ContainerRuntimeError(f"{tool} not found")
    return path
