"""What changed since the last sync, as kube-proxy's service and endpoints change trackers.

The informers' caches hold the current Services and EndpointSlices; the tracker is their
listener. It notes which Services a change touches (a Service by its key, a slice by the
Service its ``kubernetes.io/service-name`` label names), ignores what the proxy does not
read (a slice of no Service), and asks the sync runner for a sync. A sync takes the
summary and builds the whole port map again from the caches with ``service_ports``: the
map is small next to a sync's cost (one nft transaction), and a full build can never
drift from the caches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubeproc.proxy.model import LABEL_SERVICE_NAME

Json = dict[str, Any]


@dataclass(frozen=True)
class ChangeSummary:
    services: frozenset[str]
    """``namespace/name`` of every Service whose spec, status or endpoints changed."""

    def __len__(self) -> int:
        return len(self.services)


def _slice_owner(obj: Json | None) -> str | None:
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    owner = (meta.get("labels") or {}).get(LABEL_SERVICE_NAME)
    return f"{meta.get('namespace', '')}/{owner}" if owner else None


def _proxied_view(svc: Json | None) -> tuple[Any, Any] | None:
    """The parts of a Service the proxy reads (a change elsewhere needs no sync)."""
    if svc is None:
        return None
    return svc.get("spec"), (svc.get("status") or {}).get("loadBalancer")


def _endpoints_view(eps: Json | None) -> tuple[Any, Any, Any, Any] | None:
    if eps is None:
        return None
    labels = (eps.get("metadata") or {}).get("labels") or {}
    return (
        labels.get(LABEL_SERVICE_NAME),
        eps.get("addressType"),
        eps.get("ports"),
        [(e.get("addresses"), e.get("conditions")) for e in eps.get("endpoints") or []],
    )


class ChangeTracker:
    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._changed: set[str] = set()

    def service_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        if _proxied_view(old) != _proxied_view(new):
            self._record(key)

    def slice_changed(self, key: str, old: Json | None, new: Json | None) -> None:
        if _endpoints_view(old) == _endpoints_view(new):
            return
        for owner in {_slice_owner(old), _slice_owner(new)}:
            if owner is not None:
                self._record(owner)

    def _record(self, service: str) -> None:
        self._changed.add(service)
        self._on_change()

    def take(self) -> ChangeSummary:
        """The changes since the last ``take``, forgotten as they are handed over."""
        summary = ChangeSummary(frozenset(self._changed))
        self._changed.clear()
        return summary
