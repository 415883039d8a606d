"""The NetworkPolicy component: policies, pods and namespaces in, the node's rules out.

As a network plugin's policy agent: three informers ask a bounded-frequency runner for a
sync on every change that can move a verdict (a pod's address, labels, ports or phase, a
namespace's labels, any policy); a sync evaluates every policy over every pod
(``model``), renders the whole table (``nftrules``) and replaces it in one nft
transaction, so a packet meets either the old rules or the new ones. The runner's
minimum interval is zero: a change reaches the kernel one transaction after its event.
An identical table is not applied again, except on the periodic resync that repairs a
table someone else changed. The table is removed when the component stops.

With the process runtime pods share the host's network and nothing can be enforced:
``UnenforcedPolicies`` says so with a Warning event on every NetworkPolicy it sees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from kubeproc.api.resources import Registry, ResourceType
from kubeproc.client import ApiClient, Informer
from kubeproc.client.events import WARNING, ControllerEvents
from kubeproc.netpol import host
from kubeproc.netpol.model import evaluate
from kubeproc.netpol.nftrules import PolicyNftConfig, delete_script, render
from kubeproc.netpol.pods import PodInfo, pod_info
from kubeproc.util.clock import Clock
from kubeproc.util.nft import NftError, run_nft
from kubeproc.util.syncrunner import BoundedFrequencyRunner

log = logging.getLogger(__name__)

NOT_ENFORCED_REASON = "NetworkPolicyNotEnforced"
NOT_ENFORCED = (
    "NetworkPolicy is not enforced on this node: it runs the process runtime, where pods "
    "share the host's network (start the node with --runtime oci to enforce it)"
)


class PolicyError(Exception):
    """A sync could not put the rules in place (retried with a back-off)."""


def _resource(registry: Registry, group: str, resource: str) -> ResourceType:
    rt = registry.get(group, "v1", resource)
    assert rt is not None, resource
    return rt


def _labels(obj: dict[str, Any] | None) -> dict[str, str]:
    return dict((obj or {}).get("metadata", {}).get("labels") or {})


class PolicyEnforcer:
    def __init__(
        self,
        client: ApiClient,
        registry: Registry,
        clock: Clock,
        *,
        table: str,
        bridge: str,
        peers_only: Sequence[PodInfo] = (),
        min_interval: float = 0.0,
        sync_period: float = 30.0,
    ) -> None:
        self.clock = clock
        self.config = PolicyNftConfig(table=table, bridge=bridge)
        self.peers_only = tuple(peers_only)
        self.sync_period = sync_period
        self.runner = BoundedFrequencyRunner(
            "networkpolicy",
            self.sync,
            clock,
            min_interval=min_interval,
            max_interval=sync_period,
            expected=(PolicyError,),
        )
        self.pods = Informer(
            client, _resource(registry, "", "pods"), clock, listener=self._pod_changed
        )
        self.namespaces = Informer(
            client, _resource(registry, "", "namespaces"), clock, listener=self._ns_changed
        )
        self.policies = Informer(
            client,
            _resource(registry, "networking.k8s.io", "networkpolicies"),
            clock,
            listener=self._policy_changed,
        )
        self._applied: str | None = None
        self._applied_at = 0.0
        self._host_problem: str | None = None

    # -- what asks for a sync -------------------------------------------------------------

    def _pod_changed(
        self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        before = pod_info(old) if old is not None else None
        after = pod_info(new) if new is not None else None
        if before != after:
            self.runner.run_soon()

    def _ns_changed(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if old is None or new is None or _labels(old) != _labels(new):
            self.runner.run_soon()

    def _policy_changed(
        self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        if old is None or new is None or old.get("spec") != new.get("spec"):
            self.runner.run_soon()

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.pods.run())
                tg.create_task(self.namespaces.run())
                tg.create_task(self.policies.run())
                await self.pods.synced.wait()
                await self.namespaces.synced.wait()
                await self.policies.synced.wait()
                self.runner.run_soon()
                tg.create_task(self.runner.run())
        finally:
            await self._remove()

    async def _remove(self) -> None:
        try:
            await run_nft(delete_script(self.config.table))
        except NftError as err:
            log.warning("cannot remove policy table table=%s error=%s", self.config.table, err)
        self._applied = None

    async def sync(self) -> None:
        started = self.clock.monotonic()
        problem = await asyncio.to_thread(host.prepare, self.config.bridge)
        if problem != self._host_problem:
            if problem is not None:
                log.warning(
                    "NetworkPolicy not enforced between pods on the bridge reason=%s "
                    "(traffic routed through the node, to Services and to the node, still is)",
                    problem,
                )
            self._host_problem = problem
        pods = [info for p in self.pods.objects.values() if (info := pod_info(p)) is not None]
        namespaces = {
            ns["metadata"]["name"]: _labels(ns) for ns in self.namespaces.objects.values()
        }
        policies = list(self.policies.objects.values())
        rules = evaluate(policies, pods, namespaces, peers_only=self.peers_only)
        script = render(rules, self.config)
        due = started - self._applied_at >= self.sync_period
        if script == self._applied and not due:
            return
        self._applied = None
        try:
            await run_nft(script)
        except NftError as err:
            raise PolicyError(str(err)) from err
        self._applied, self._applied_at = script, self.clock.monotonic()
        log.info(
            "networkpolicy synced policies=%d pods=%d isolated=%d duration=%.1fms",
            len(policies),
            len(pods),
            len(rules),
            (self.clock.monotonic() - started) * 1000,
        )


class UnenforcedPolicies:
    """The process runtime's stand-in: a Warning event on every NetworkPolicy, once each."""

    def __init__(self, client: ApiClient, registry: Registry, clock: Clock) -> None:
        self.rt = _resource(registry, "networking.k8s.io", "networkpolicies")
        self.events = ControllerEvents(
            client, _resource(registry, "", "events"), clock, component="networkpolicy-agent"
        )
        self.informer = Informer(client, self.rt, clock, listener=self._changed)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._told: set[str] = set()

    def _changed(self, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is not None and new["metadata"].get("uid") not in self._told:
            self._told.add(new["metadata"].get("uid", key))
            self._queue.put_nowait(new)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.informer.run())
            while True:
                policy = await self._queue.get()
                await self.events.record(
                    policy, self.rt, WARNING, NOT_ENFORCED_REASON, NOT_ENFORCED
                )
