"""The kubelet's own settings (``KubeletConfiguration``'s subset) and its on-disk layout.

Everything timing-related is a field so the node can shorten it (the crash-loop curve
for end-to-end tests, as upstream's ``crashLoopBackOff.maxContainerRestartPeriod``
allows) and unit tests can drive it on a fake clock. Paths follow the real kubelet's:
pod directories by UID (volumes, ``etc-hosts``) and log directories by
``<namespace>_<name>_<uid>``, both under ``root_dir/pods``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KubeletConfig:
    node_name: str
    root_dir: Path
    """Pod directories, volumes and container logs live under ``root_dir/pods``."""

    backoff_initial: float = 10.0
    """First CrashLoopBackOff delay (seconds); doubles per restart."""
    backoff_max: float = 300.0
    """CrashLoopBackOff cap (``MaxContainerBackOff``)."""
    backoff_reset: float = 600.0
    """An exit this long after the last back-off step starts the curve over."""

    relist_period: float = 1.0
    """PLEG relist period."""
    status_resync: float = 10.0
    """How often every cached pod status is compared with the API and rewritten if it differs."""
    resync_period: float = 60.0
    """Every pod worker syncs at least this often (upstream ``syncFrequency``)."""
    sync_error_backoff: float = 10.0
    """A pod whose sync failed is retried after this long (upstream ``backOffPeriod``)."""
    housekeeping_period: float = 2.0
    """How often sandboxes and containers of pods that no longer exist are cleaned up."""
    min_grace_seconds: float = 2.0
    """Every container gets at least this long between SIGTERM and SIGKILL."""
    orphan_grace_seconds: float = 1.0
    """Grace period for containers whose pod is gone (upstream uses 1)."""

    host_ip: str = "127.0.0.1"
    cluster_dns: tuple[str, ...] = ()
    """Nameservers of pods with dnsPolicy ClusterFirst; empty: those pods get the host's."""
    cluster_domain: str = "cluster.local"
    resolv_conf: Path | None = Path("/etc/resolv.conf")
    """The node's resolver file, the base of every pod's DNS settings (``--resolv-conf``)."""
    pod_pids_limit: int | None = 4096
    """Per-container PID limit, so a fork bomb cannot take the node down (upstream: unlimited)."""

    @property
    def pods_dir(self) -> Path:
        return self.root_dir / "pods"

    def pod_dir(self, uid: str) -> Path:
        """``<root>/pods/<uid>``: volumes and kubelet-managed files of one pod."""
        return self.pods_dir / uid

    def volumes_dir(self, uid: str) -> Path:
        return self.pod_dir(uid) / "volumes"

    def pod_log_dir(self, namespace: str, name: str, uid: str) -> Path:
        """``<root>/pods/<ns>_<name>_<uid>``: one sub-directory per container."""
        return self.pods_dir / f"{namespace}_{name}_{uid}"

    def container_log_path(
        self, namespace: str, name: str, uid: str, container: str, attempt: int
    ) -> Path:
        return self.pod_log_dir(namespace, name, uid) / container / f"{attempt}.log"
