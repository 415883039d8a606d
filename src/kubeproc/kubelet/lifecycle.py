"""postStart and preStop hooks: exec in the container, HTTP GET to the pod, or sleep.

A port of the kubelet's ``handlerRunner`` (pkg/kubelet/lifecycle/handlers.go). ``run``
returns None on success or the kubelet's failure message, word for word:
``Exec lifecycle hook ([cmd]) for Container "c" in Pod "p_ns(uid)" failed - error: …,
message: "…"`` and ``HTTP lifecycle hook (/path) for Container … failed - error: …``.
As upstream, an HTTP hook fails only when no response arrives (any status code counts as
done), and hooks have no timeout of their own: preStop is bounded by the grace period
by its caller, postStart by the pod worker (a deletion cancels the sync).

The HTTP client is a seam (``HttpGetter``) so tests need no sockets.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from kubeproc.kubelet.actions import format_pod
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, Runtime
from kubeproc.util.clock import Clock

HttpGetter = Callable[[str, Mapping[str, str]], Awaitable[None]]
"""GET ``url`` with headers; raise ``OSError``/``aiohttp.ClientError`` when no response came."""

HOOK_EXEC_TIMEOUT = 24 * 3600.0
_OUTPUT_LIMIT = 10 * 1024


async def aiohttp_get(url: str, headers: Mapping[str, str]) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    connector = aiohttp.TCPConnector(ssl=False, force_close=True)
    async with (
        aiohttp.ClientSession(timeout=timeout, connector=connector) as session,
        session.get(url, headers=dict(headers), allow_redirects=True) as resp,
    ):
        await resp.content.read(_OUTPUT_LIMIT)


def go_quote(text: str) -> str:
    """Go's ``%q`` for the texts hooks produce (printable ASCII and common escapes)."""
    return json.dumps(text, ensure_ascii=False)


def go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def resolve_port(port: Any, container: dict[str, Any]) -> int:
    if isinstance(port, int):
        return port
    text = str(port)
    if text.isdigit():
        return int(text)
    for spec in container.get("ports") or []:
        if spec.get("name") == text:
            return int(spec.get("containerPort", 0))
    raise ValueError(f"couldn't find port: {text} in {container.get('name', '')}")


class HookRunner:
    def __init__(
        self, runtime: Runtime, clock: Clock, *, http_get: HttpGetter | None = None
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.http_get = http_get or aiohttp_get

    async def run(
        self,
        pod: dict[str, Any],
        container: dict[str, Any],
        container_id: str,
        handler: dict[str, Any],
        pod_ip: str,
    ) -> str | None:
        """Run one hook; None when it succeeded, else the kubelet's failure message."""
        name = go_quote(container.get("name", ""))
        where = f"for Container {name} in Pod {go_quote(format_pod(pod))}"
        if handler.get("exec") is not None:
            command = [str(c) for c in handler["exec"].get("command") or []]
            error, output = await self._exec(container_id, command)
            if error is None:
                return None
            return (
                f"Exec lifecycle hook ({go_list(command)}) {where} failed - error: {error}, "
                f"message: {go_quote(output)}"
            )
        if handler.get("httpGet") is not None:
            action = handler["httpGet"]
            error = await self._http(action, container, pod_ip)
            if error is None:
                return None
            return f"HTTP lifecycle hook ({action.get('path', '')}) {where} failed - error: {error}"
        if handler.get("sleep") is not None:
            await self.clock.sleep(float(handler["sleep"].get("seconds", 0)))
            return None
        return f"Cannot run handler: invalid handler: {handler}"

    async def _exec(self, container_id: str, command: list[str]) -> tuple[str | None, str]:
        try:
            result = await self.runtime.exec_sync(
                container_id,
                tuple(command),
                timeout_seconds=HOOK_EXEC_TIMEOUT,
                output_limit=_OUTPUT_LIMIT,
            )
        except ContainerRuntimeError as err:
            return err.message, ""
        output = result.output.decode(errors="replace")
        if result.exit_code == 0:
            return None, output
        return f"command '{' '.join(command)}' exited with {result.exit_code}: {output}", output

    async def _http(
        self, action: dict[str, Any], container: dict[str, Any], pod_ip: str
    ) -> str | None:
        host = action.get("host") or pod_ip
        try:
            port = resolve_port(action.get("port"), container)
        except ValueError as err:
            return str(err)
        scheme = str(action.get("scheme") or "HTTP").lower()
        path = action.get("path") or ""
        if path and not path.startswith("/"):
            path = "/" + path
        hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        url = f"{scheme}://{hostport}{path}"
        headers = {"User-Agent": "kube-lifecycle/1.33"}
        for header in action.get("httpHeaders") or []:
            headers[str(header.get("name", ""))] = str(header.get("value", ""))
        try:
            await self.http_get(url, headers)
        except ConnectionRefusedError:
            return f'Get "{url}": dial tcp {hostport}: connect: connection refused'
        except (OSError, aiohttp.ClientError) as err:
            cause = err.__cause__ or err
            if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(err):
                return f'Get "{url}": dial tcp {hostport}: connect: connection refused'
            return f'Get "{url}": {err}'
        return None
