"""What a node that died without its teardown left on the host, removed by ``down``.

A node that is killed (SIGKILL, a crash, the kernel's OOM killer) never runs its teardown:
its pods' containers run on under conmon, and their network namespaces, the node's bridge,
its cgroups and its nftables tables stay. ``up`` on the same data dir adopts the pods
again; ``down`` means the node and its pods stop, so it removes them as the node's own
teardown would have, holding the data dir's lock so that no ``up`` starts meanwhile.
The store is untouched.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from kubeproc.cluster.datadir import NodeConfig, NodeError, data_dir_lock
from kubeproc.cluster.podnetwork import pod_network
from kubeproc.cluster.runtimes import node_tag, purge_runtime
from kubeproc.cluster.serviceproxy import proxy_context
from kubeproc.kubelet.runtime import oci
from kubeproc.kubelet.runtime.types import ContainerRuntimeError
from kubeproc.netpol import nftrules as policy_rules
from kubeproc.proxy import nftrules as proxy_rules
from kubeproc.util.nft import NftError, run_nft

log = logging.getLogger(__name__)


def _node_file(config: NodeConfig) -> Path:
    return config.data_dir / "runtime" / "oci" / "node.json"


def left_behind(config: NodeConfig) -> bool:
    """Whether the data dir's last node left its runtime's state (a clean stop removes it)."""
    return _node_file(config).is_file()


async def remove_leftovers(config: NodeConfig) -> bool:
    """Stop and remove what the data dir's last node left running; False if it left none.

    Raises ``NodeError`` when a container still does not exit after SIGKILL (its state is
    kept, so a later ``down`` tries again).
    """
    node_file = _node_file(config)
    try:
        pod_cidr = str(json.loads(node_file.read_text())["podCIDR"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    with data_dir_lock(config):
        tag = node_tag(config)
        try:
            runtime = oci.OciRuntime.create(
                node_file.parent,
                pod_cidr=pod_cidr,
                bridge=f"kp{tag}",
                netns_prefix=f"kp{tag}",
                cgroup_parent=f"kubeproc-{tag}",
            )
        except (OSError, ValueError, ContainerRuntimeError) as err:
            log.warning("cannot remove what the last node left error=%s", err)
            return False
        stuck = await purge_runtime(runtime)
        last = dataclasses.replace(config, pod_cidr=pod_cidr)
        scripts = (
            proxy_rules.delete_script(proxy_context(last, runtime).table_name),
            policy_rules.delete_script(pod_network(last, runtime).table),
        )
        for script in scripts:
            try:
                await run_nft(script)
            except NftError as err:
                log.warning("cannot remove a table of the last node error=%s", err)
    if stuck:
        raise NodeError(
            f"{len(stuck)} of the last node's containers did not exit after SIGKILL "
            f"({', '.join(stuck)}); run `kubeproc down` again once they have"
        )
    return True
