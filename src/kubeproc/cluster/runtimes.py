"""Choose and build the node's container runtime, with names that never collide.

``auto`` takes ``oci`` where it can run (root, runc, conmon, the CNI plugins) and falls
back to ``process`` with a warning that says what is lost. Every host-level name the
runtime creates (bridge, network namespaces, cgroup parent) is derived from the data
dir, so two nodes on one machine, and parallel tests, stay apart.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from kubeproc.cluster.datadir import NodeConfig, NodeError
from kubeproc.kubelet.runtime import oci
from kubeproc.kubelet.runtime.process import ProcessRuntime
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, Runtime
from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)
PR_SET_CHILD_SUBREAPER = 36

PROCESS_WARNING = (
    "running pods as plain processes (runtime process): no isolation, every pod on the "
    "host network at 127.0.0.1, volumes not mounted at their paths, NetworkPolicy not "
    "enforced"
)


@dataclass(frozen=True)
class RuntimeChoice:
    runtime: Runtime
    warning: str | None


def node_tag(config: NodeConfig) -> str:
    """Six hex digits naming this node's host objects."""
    return hashlib.sha256(str(config.data_dir).encode()).hexdigest()[:6]


def become_subreaper() -> None:
    """Adopt orphaned grandchildren (exec'd commands, conmon) so they are always reaped."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError) as err:
        log.warning("cannot become a child subreaper reason=%s", err)


# Orphans we adopt as subreaper that nothing else waits for: conmon daemonizes, so its
# exit is never awaited by the process that started it.
ADOPTED_ORPHANS = frozenset({"conmon"})


def pid_ns_depth(pid: str) -> int:
    """How many PID namespaces ``pid`` is nested in (its ``NSpid`` entries; zombies too)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return len(line.split()) - 1
    except OSError:
        pass
    return 0


def reap_adopted_orphans() -> int:
    """Reap zombie children that are adopted orphans; return how many.

    Two kinds: conmon (by name), and any process of a container's PID namespace. The
    latter reach us when an exec's ``nsenter`` dies before the command it forked (a probe
    killed at its timeout): nothing else will ever wait for them, and while they stay
    zombies the container's PID namespace cannot end, so its init cannot be killed.
    kubeproc never forks into a container's namespace itself, so a child of ours nested
    deeper than we are is always such an orphan.
    """
    own_depth = pid_ns_depth("self")
    reaped = 0
    try:
        tasks = list(Path(f"/proc/{os.getpid()}/task").iterdir())
    except OSError:
        return 0
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid_text in children:
            try:
                stat = Path(f"/proc/{pid_text}/stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            state = stat[stat.rindex(")") + 2 :].split(" ", 1)[0]
            if state == "Z" and (comm in ADOPTED_ORPHANS or pid_ns_depth(pid_text) > own_depth):
                try:
                    os.waitpid(int(pid_text), os.WNOHANG)
                    reaped += 1
                except ChildProcessError:
                    continue
    return reaped


async def reap_orphans_periodically(clock: Clock, interval: float = 1.0) -> None:
    while True:
        reap_adopted_orphans()
        await clock.sleep(interval)


async def purge_runtime(runtime: Runtime) -> tuple[str, ...]:
    """Final teardown on ``kubeproc down``: the runtime's bridge, cgroups and state go too.

    Returns what would not stop (see ``OciRuntime.purge``); its state is kept for ``down``.
    """
    purge = getattr(runtime, "purge", None)
    stuck: tuple[str, ...] = await purge() if purge is not None else ()
    await runtime.close()
    reap_adopted_orphans()
    return stuck


def choose_runtime(config: NodeConfig) -> RuntimeChoice:
    tag = node_tag(config)
    state = config.data_dir / "runtime"
    wanted = config.runtime
    reason = oci.available()
    if wanted == "oci" and reason is not None:
        raise NodeError(f"the oci runtime cannot run here: {reason}")
    if wanted in ("oci", "auto") and reason is None:
        try:
            runtime = oci.OciRuntime.create(
                state / "oci",
                pod_cidr=config.pod_cidr,
                bridge=f"kp{tag}",
                netns_prefix=f"kp{tag}",
                cgroup_parent=f"kubeproc-{tag}",
            )
        except (OSError, ValueError, ContainerRuntimeError) as err:
            raise NodeError(f"the oci runtime cannot start: {err}") from err
        return RuntimeChoice(runtime, None)
    warning = PROCESS_WARNING
    if wanted == "auto":
        warning += f" (oci unavailable: {reason})"
    cgroup_parent = f"kubeproc-{tag}" if os.geteuid() == 0 else None
    return RuntimeChoice(ProcessRuntime(state / "process", cgroup_parent=cgroup_parent), warning)
