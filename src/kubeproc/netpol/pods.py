"""The pods as NetworkPolicy sees them: an address, labels and named ports (pure).

``pod_info`` reduces an API Pod to a ``PodInfo``, a hashable value: the agent compares a
pod's old and new values to tell whether a change can move a verdict at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Labels(Mapping[str, str]):
    """An immutable, hashable label map, so a ``PodInfo`` is a value."""

    __slots__ = ("_items",)

    def __init__(self, labels: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._items = dict(labels)

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._items == dict(other.items())

    def __repr__(self) -> str:
        return f"Labels({self._items!r})"


@dataclass(frozen=True)
class NamedPort:
    name: str
    protocol: str
    port: int


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    ip: str
    labels: Mapping[str, str] = field(default_factory=Labels)
    ports: tuple[NamedPort, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.labels, Labels):
            object.__setattr__(self, "labels", Labels(self.labels))


# -- from the API ----------------------------------------------------------------------------------


def ipv4(value: object) -> str | None:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        return None


def _container_ports(spec: Mapping[str, Any]) -> Iterator[NamedPort]:
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for container in [*(spec.get("containers") or []), *sidecars]:
        for port in container.get("ports") or []:
            name, number = port.get("name"), port.get("containerPort")
            protocol = port.get("protocol") or "TCP"
            # A policy can only name a port, so an unnamed one is of no use here.
            if name and isinstance(number, int) and 1 <= number <= 65535:
                yield NamedPort(str(name), str(protocol), number)


def pod_info(pod: dict[str, Any]) -> PodInfo | None:
    """What policy needs of ``pod``; ``None`` when it has no pod-network IPv4 address."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    meta = pod.get("metadata") or {}
    ip = ipv4(status.get("podIP"))
    if ip is None or spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    return PodInfo(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        ip=ip,
        labels=Labels(meta.get("labels") or {}),
        ports=tuple(_container_ports(spec)),
    )
