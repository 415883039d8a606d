"""The node's configuration and its data dir: the layout, and one node per data dir.

The lock file is the truth about who runs on a data dir: the kernel drops an flock
however its holder exits, so a crashed node never blocks the next ``up``. The pid file
only names the holder, for ``down``. Kept apart from ``node`` and its heavy imports so
``kubeproc down`` and the ``up --detach`` parent start in a tenth of a second.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class NodeError(Exception):
    """The node cannot start; the message says why, for the user."""


@dataclass(frozen=True)
class NodeConfig:
    """Where a node keeps its state and where it serves; every path derives from data_dir."""

    data_dir: Path
    port: int
    node_name: str
    host: str = "127.0.0.1"
    runtime: str = "auto"
    """``oci``, ``process``, or ``auto`` (oci where root and its packages are present)."""
    pod_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/16"
    proxy_mode: str = "auto"
    """The Service proxy: ``nftables``, ``userspace``, or ``auto`` (nftables with the oci
    runtime, userspace with the process runtime)."""
    backoff_initial: float = 10.0
    """CrashLoopBackOff's first delay; upstream lets a node shorten the curve."""
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    """A run longer than this after the last back-off step starts the curve over."""
    shutdown_grace_period: float = 45.0
    """The longest ``down`` lets pods' grace periods run before it kills what is left (the
    kubelet's shutdownGracePeriod); below ``down``'s own 60 s wait, so the purge always runs."""

    @property
    def server(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "kubeproc.pid"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "kubeproc.lock"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kubeproc.log"


def holder_pid(config: NodeConfig) -> int | None:
    """The pid of the node holding this data dir, or None when it is free.

    The flock is the truth (the kernel drops it however the holder exits); the pid file
    only names the holder. -1 means held but not named yet: the node is starting.
    """
    if not config.lock_path.exists():
        return None
    with config.lock_path.open("rb") as f:  # flock needs no write access
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return int(config.pid_path.read_text().strip())
            except (OSError, ValueError):
                return -1
        fcntl.flock(f, fcntl.LOCK_UN)
    return None


def make_data_dir(data_dir: Path) -> None:
    """Create the data dir, owner-only (it holds the store, secrets included)."""
    if data_dir.exists() and not data_dir.is_dir():
        raise NodeError(f"data dir {data_dir} is not a directory")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise NodeError(f"cannot create data dir {data_dir}: {err.strerror}") from err


@contextlib.contextmanager
def data_dir_lock(config: NodeConfig) -> Iterator[None]:
    """Hold the data dir for this process: one node per data dir, its pid in the pid file."""
    make_data_dir(config.data_dir)
    try:
        fd = os.open(config.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise NodeError(f"data dir {config.data_dir} is not writable: {err.strerror}") from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = holder_pid(config)
            raise NodeError(
                f"another kubeproc node is running with data dir {config.data_dir}"
                + (f" (pid {pid})" if pid and pid > 0 else "")
            ) from None
        # Replaced whole, so a reader never sees it half written.
        tmp = config.pid_path.with_suffix(".pid.tmp")
        tmp.write_text(f"{os.getpid()}\n")
        tmp.replace(config.pid_path)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                config.pid_path.unlink()
    finally:
        os.close(fd)
