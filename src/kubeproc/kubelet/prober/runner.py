"""The kubelet's ``ProbeRunner``: one probe spec and target in, one handler ``Outcome`` out.

As ``prober.runProbe``: the handler is chosen by the spec's one-of, its target resolved at
probe time (host defaulting to the pod IP, a named port looked up in the container's own
``ports``, ``$(VAR)`` in an exec command expanded from the container's literal ``env``
only), and the attempt bounded by ``timeoutSeconds``. What cannot be judged at all (a
port that does not resolve, an exec the runtime could not start) is an ``ERROR``; the
worker retries it and then discards it, so it never restarts a container (§2.10).

Exec goes through ``Runtime.exec_sync``, which kills the probe's whole process group at
the deadline; the network handlers dial from the node, as the kubelet does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubeproc.kubelet.envvars import expand
from kubeproc.kubelet.lifecycle import go_quote
from kubeproc.kubelet.prober.grpcprobe import grpc_probe
from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome, ProbeTarget
from kubeproc.kubelet.prober.httpprobe import http_probe
from kubeproc.kubelet.prober.results import ProbeType
from kubeproc.kubelet.prober.tcpprobe import tcp_probe
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, Runtime

USER_AGENT = "kube-probe/1.33"
"""``kube-probe/<major>.<minor>`` of the version kubeproc reports (decision 0001)."""
OUTPUT_LIMIT = 10 * 1024
"""Exec output kept per attempt: stdout then stderr, at most 10 KiB."""


_DECIMAL = re.compile(r"[+-]?[0-9]+")


class PortNotResolved(Exception):
    """A probe port that names no port of the container, or a number out of range."""


def resolve_port(port: Any, container: Mapping[str, Any]) -> int:
    """``ResolveContainerPort``: a number, or a name from the container's ``ports``.

    A name that matches no port falls back to reading it as a number, and it is that
    fallback's error the kubelet reports (Go's ``strconv.Atoi`` text).
    """
    if isinstance(port, bool):
        raise PortNotResolved(f"intOrString had no kind: {port!r}")
    if isinstance(port, int):
        number = port
    else:
        text = str(port)
        found = next(
            (
                int(p.get("containerPort", 0))
                for p in container.get("ports") or []
                if p.get("name") == text
            ),
            None,
        )
        if found is not None:
            number = found
        elif _DECIMAL.fullmatch(text):
            number = int(text)
        else:
            raise PortNotResolved(f'strconv.Atoi: parsing "{text}": invalid syntax')
    if 0 < number < 65536:
        return number
    raise PortNotResolved(f"invalid port number: {number}")


def exec_command(probe_exec: Mapping[str, Any], container: Mapping[str, Any]) -> tuple[str, ...]:
    """``ExpandContainerCommandOnlyStatic``: ``$(VAR)`` from literal ``env`` values only."""
    literal = {
        str(e["name"]): str(e.get("value", ""))
        for e in container.get("env") or []
        if "valueFrom" not in e and "name" in e
    }
    return tuple(expand(str(arg), literal) for arg in probe_exec.get("command") or [])


def exec_outcome(
    argv: tuple[str, ...], exit_code: int, output: bytes, *, timed_out: bool
) -> Outcome:
    """An exec attempt's verdict: exit 0 healthy, any other exit or the deadline a failure."""
    if timed_out:
        # What the kubelet reports when the runtime's exec deadline passes (a Go %q).
        return Outcome(HandlerResult.FAILURE, f"command {go_quote(' '.join(argv))} timed out")
    text = output.decode("utf-8", errors="replace")
    if exit_code == 0:
        return Outcome(HandlerResult.SUCCESS, text, exit_code)
    return Outcome(HandlerResult.FAILURE, text, exit_code)


class KubeletProbeRunner:
    """Runs probe handlers for real: exec in the container, HTTP, TCP and gRPC dials."""

    def __init__(self, runtime: Runtime, *, user_agent: str = USER_AGENT) -> None:
        self.runtime = runtime
        self.user_agent = user_agent

    async def run(
        self, kind: ProbeType, probe_spec: Mapping[str, Any], target: ProbeTarget
    ) -> Outcome:
        timeout = float(probe_spec.get("timeoutSeconds") or 1)
        try:
            if "exec" in probe_spec:
                return await self._exec(probe_spec["exec"] or {}, target, timeout)
            if "httpGet" in probe_spec:
                return await self._http(probe_spec["httpGet"] or {}, target, timeout)
            if "tcpSocket" in probe_spec:
                action = probe_spec["tcpSocket"] or {}
                port = resolve_port(action.get("port"), target.container)
                return await tcp_probe(action.get("host") or target.pod_ip, port, timeout)
            if "grpc" in probe_spec:
                action = probe_spec["grpc"] or {}
                return await grpc_probe(
                    host=target.pod_ip,
                    port=int(action.get("port", 0)),
                    service=str(action.get("service") or ""),
                    timeout=timeout,
                    user_agent=self.user_agent,
                )
        except PortNotResolved as err:
            return Outcome(HandlerResult.ERROR, str(err))
        return Outcome(HandlerResult.ERROR, "missing probe handler")

    async def _exec(
        self, action: Mapping[str, Any], target: ProbeTarget, seconds: float
    ) -> Outcome:
        argv = exec_command(action, target.container)
        try:
            result = await self.runtime.exec_sync(
                target.container_id, argv, timeout_seconds=seconds, output_limit=OUTPUT_LIMIT
            )
        except ContainerRuntimeError as err:
            return Outcome(HandlerResult.ERROR, err.message)
        return exec_outcome(argv, result.exit_code, result.output, timed_out=result.timed_out)

    async def _http(
        self, action: Mapping[str, Any], target: ProbeTarget, seconds: float
    ) -> Outcome:
        port = resolve_port(action.get("port"), target.container)
        headers = [
            (str(h.get("name", "")), str(h.get("value", "")))
            for h in action.get("httpHeaders") or []
        ]
        return await http_probe(
            scheme=str(action.get("scheme") or "HTTP").lower(),
            host=str(action.get("host") or target.pod_ip),
            port=port,
            path=str(action.get("path") or "/"),
            headers=headers,
            timeout=seconds,
            user_agent=self.user_agent,
        )
