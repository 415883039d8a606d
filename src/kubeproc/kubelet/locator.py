"""How the kubelet's server finds a pod's container: the seam between sync and serving.

The kubelet core knows which container instance belongs to which pod (and which instance
came before it); the server that answers logs, exec and attach only needs to ask. Kept
here so neither side imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LocatedContainer:
    pod_uid: str
    container_id: str
    log_path: str
    running: bool
    """False once the instance exited (a ``follow`` stream then ends when drained)."""


class PodContainers(Protocol):
    def locate(
        self, namespace: str, pod: str, container: str, *, previous: bool
    ) -> LocatedContainer | None:
        """The current (or, with ``previous``, the last exited) instance, if any."""

    def is_running(self, container_id: str) -> bool:
        """Whether that instance is still running (polled by log followers)."""
