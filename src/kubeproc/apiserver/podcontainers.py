"""Which container of a pod a request means, and whether it has logs to show: pure checks.

Owns the checks kube-apiserver (and, for log state, the kubelet) make before a pod's
container is read or entered, with their exact words: the container named or the pod's
only one (``a container name must be specified for pod p, choose one of: [i a b]``,
init containers first, as kube-apiserver lists them; ``container c is not valid for pod
p``), and the kubelet's ``validateContainerLogStatus`` on the pod's published status
(``container "c" in pod "p" is waiting to start: ContainerCreating``, ``previous
terminated container "c" in pod "p" not found``). Used by ``podproxy``.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import BadRequest


def container_names(pod: dict[str, Any]) -> list[str]:
    """Init, regular, then ephemeral containers: the order kube-apiserver lists them in."""
    spec = pod.get("spec") or {}
    return [
        str(c.get("name", ""))
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]


def validate_container(pod: dict[str, Any], container: str) -> str:
    """The container a request addresses: the one given, or the pod's only container."""
    name = pod["metadata"]["name"]
    if not container:
        regular = (pod.get("spec") or {}).get("containers") or []
        if len(regular) == 1:
            return str(regular[0].get("name", ""))
        if not regular:
            raise BadRequest(f"a container name must be specified for pod {name}")
        choices = " ".join(container_names(pod))
        raise BadRequest(
            f"a container name must be specified for pod {name}, choose one of: [{choices}]"
        )
    if container not in container_names(pod):
        raise BadRequest(f"container {container} is not valid for pod {name}")
    return container


def _container_status(pod: dict[str, Any], container: str) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == container:
                return dict(entry)
    return None


def log_status_error(pod: dict[str, Any], container: str, *, previous: bool) -> BadRequest | None:
    """The kubelet's ``validateContainerLogStatus``, on the status the kubelet published.

    None when there are logs to read. The container ID checks of the original are left to
    the kubelet, which knows its instances better than a status written a moment ago.
    """
    pod_name = pod["metadata"]["name"]
    who = f'container "{container}" in pod "{pod_name}"'
    entry = _container_status(pod, container)
    if entry is None:
        if _container_statuses_empty(pod):
            return BadRequest(f"{who} is waiting to start: ContainerCreating")
        return BadRequest(f"{who} is not available")
    state = entry.get("state") or {}
    last_terminated = (entry.get("lastState") or {}).get("terminated")
    if previous:
        if not last_terminated:
            return BadRequest(f"previous terminated {who} not found")
        return None
    if state.get("running") is not None or state.get("terminated") is not None:
        return None
    if last_terminated:
        return None
    waiting = state.get("waiting")
    if waiting is not None:
        reason = waiting.get("reason", "")
        if reason == "ErrImagePull":
            return BadRequest(f"{who} is waiting to start: image can't be pulled")
        if reason == "ImagePullBackOff":
            return BadRequest(f"{who} is waiting to start: trying and failing to pull image")
        return BadRequest(f"{who} is waiting to start: {reason}")
    return BadRequest(f"{who} is waiting to start - no logs yet")


def _container_statuses_empty(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    keys = ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses")
    return not any(status.get(key) for key in keys)
