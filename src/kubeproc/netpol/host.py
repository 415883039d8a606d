"""The host side of enforcement: the bridge's own traffic through the ip hooks.

Pods on one bridge reach each other at layer 2, where the ip family's hooks never see
the packets. ``br_netfilter`` passes a bridge's IPv4 frames through the ip hooks (with
conntrack) when the bridge asks for it (its ``nf_call_iptables``) or when the
machine-wide ``bridge-nf-call-iptables`` sysctl says so for every bridge. The node turns
on its own bridge's option only, so the machine's other bridges keep whatever they had.
Routed traffic (a pod to a Service address, then DNAT'ed to a pod) passes the ip hooks
either way.

``prepare`` runs before every sync: the bridge appears with the first pod (or the Service
proxy) and a node restart finds it again. It returns why bridged traffic cannot be
filtered, or None when it is.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

BRIDGE_SYSCTLS = Path("/proc/sys/net/bridge")
SYS_CLASS_NET = Path("/sys/class/net")
MODPROBE_TIMEOUT = 10.0


def _load_br_netfilter() -> str | None:
    """Load the module; when this node loaded it, keep other bridges unfiltered as before."""
    modprobe = shutil.which("modprobe")
    if modprobe is None:
        return "br_netfilter is not loaded and there is no modprobe to load it"
    try:
        subprocess.run(
            [modprobe, "br_netfilter"],
            capture_output=True,
            check=True,
            timeout=MODPROBE_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError) as err:
        return f"cannot load br_netfilter: {err}"
    if not BRIDGE_SYSCTLS.is_dir():
        return "br_netfilter loaded but /proc/sys/net/bridge is missing"
    try:
        # Loading the module turns the machine-wide switch on for every bridge; before, no
        # bridge's frames went through the ip hooks. Ours asks for it below on its own.
        (BRIDGE_SYSCTLS / "bridge-nf-call-iptables").write_text("0\n")
    except OSError as err:
        log.warning("cannot restore bridge-nf-call-iptables error=%s", err)
    log.info("loaded br_netfilter for NetworkPolicy on bridged traffic")
    return None


def prepare(bridge: str) -> str | None:
    """Make ``bridge``'s frames pass the ip hooks; the reason when they cannot."""
    if not BRIDGE_SYSCTLS.is_dir():
        reason = _load_br_netfilter()
        if reason is not None:
            return reason
    option = SYS_CLASS_NET / bridge / "bridge" / "nf_call_iptables"
    try:
        if option.read_text().strip() != "1":
            option.write_text("1\n")
    except FileNotFoundError:
        return None  # no bridge yet: no pod on it either; the next sync looks again
    except OSError as err:
        return f"cannot set nf_call_iptables on {bridge}: {err}"
    return None
