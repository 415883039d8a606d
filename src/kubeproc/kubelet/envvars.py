"""A container's environment and the ``$(VAR)`` expansion of its command, as the kubelet does.

``make_environment`` ports ``makeEnvironmentVariables`` (kubelet_pods.go): ``envFrom``
first (invalid key names skipped with an ``InvalidEnvironmentVariableNames`` warning),
then ``env`` in order, each value expanded against what came before it and the service
variables, ``valueFrom`` resolved from ConfigMaps, Secrets, the pod's fields and the
container's resources; then the service link variables (``<SVC>_SERVICE_HOST`` …) not
already set. Failures carry the kubelet's exact texts (``configmap "cm" not found``,
``couldn't find key k in ConfigMap default/cm``); the caller turns them into the waiting
reason ``CreateContainerConfigError``.

ConfigMaps and Secrets come through ``ConfigSources`` (None: not found), so the
resolution is tested without an API server.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

from kubeproc.api.validation.names import is_relaxed_env_var_name
from kubeproc.api.validation.quantity import parse_quantity


class ConfigSources(Protocol):
    async def config_map(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def secret(self, namespace: str, name: str) -> dict[str, Any] | None: ...


class EnvError(Exception):
    """A required value could not be resolved; ``message`` is the kubelet's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Environment:
    env: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """``InvalidEnvironmentVariableNames`` event messages."""

    def as_dict(self) -> dict[str, str]:
        return dict(self.env)


def expand(text: str, *contexts: Mapping[str, str]) -> str:
    """``expansion.Expand``: ``$(VAR)`` from the first context that has it; ``$$`` escapes."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            rest = text[cursor + 1 :]
            if rest[0] == "$":
                out.append("$")
                advance = 1
            elif rest[0] == "(":
                close = rest.find(")", 1)
                if close == -1:
                    out.append("$(")
                    advance = 1
                else:
                    name = rest[1:close]
                    out.append(_lookup(name, contexts))
                    advance = close + 1
            else:
                out.append("$" + rest[0])
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _lookup(name: str, contexts: Iterable[Mapping[str, str]]) -> str:
    for ctx in contexts:
        if name in ctx:
            return ctx[name]
    return f"$({name})"


def expand_command(container: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    """``ExpandContainerCommandAndArgs``: command then args, each expanded."""
    command = [expand(str(c), env) for c in container.get("command") or []]
    args = [expand(str(a), env) for a in container.get("args") or []]
    return command + args


def _go_quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def format_map(values: Mapping[str, str]) -> str:
    """``fieldpath.FormatMap``: sorted ``key="value"`` lines."""
    return "\n".join(f"{k}={_go_quote(values[k])}" for k in sorted(values))


_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def field_value(pod: dict[str, Any], path: str, *, pod_ips: list[str], host_ip: str) -> str:
    """``podFieldSelectorRuntimeValue`` / ``ExtractFieldPathAsString``."""
    meta = pod.get("metadata", {})
    spec = pod.get("spec", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
        "status.podIP": pod_ips[0] if pod_ips else "",
        "status.podIPs": ",".join(pod_ips),
    }
    if path in simple:
        return str(simple[path])
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map(meta.get(path.split(".")[1]) or {})
    match = _SUBSCRIPT.match(path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise EnvError(f"unsupported fieldPath: {path}")


def _milli(value: Fraction) -> int:
    return math.ceil(value * 1000)


def resource_value(
    ref: dict[str, Any],
    pod: dict[str, Any],
    container: dict[str, Any],
    allocatable: Mapping[str, str],
) -> str:
    """``containerResourceRuntimeValue``: limits default to the node's allocatable."""
    target = container
    if ref.get("containerName"):
        spec = pod["spec"]
        candidates = [*spec.get("containers", []), *(spec.get("initContainers") or [])]
        found = next((c for c in candidates if c.get("name") == ref["containerName"]), None)
        if found is None:
            raise EnvError(f"container {ref['containerName']} not found")
        target = found
    kind, _, resource = str(ref.get("resource", "")).partition(".")
    resources = target.get("resources") or {}
    raw = (resources.get(kind) or {}).get(resource)
    if raw is None and kind == "limits":
        raw = allocatable.get(resource)
    quantity = parse_quantity(raw if raw is not None else "0")
    divisor = parse_quantity(ref.get("divisor") or "1")
    if quantity is None or divisor is None or divisor.value == 0:
        raise EnvError(f"unsupported container resource : {ref.get('resource')}")
    if resource == "cpu":
        return str(math.ceil(Fraction(_milli(quantity.value), _milli(divisor.value))))
    return str(math.ceil(quantity.value / divisor.value))


def _env_name(name: str) -> str:
    return name.replace("-", "_").upper()


def service_env(services: Iterable[dict[str, Any]]) -> dict[str, str]:
    """``envvars.FromServices``: host, ports and Docker link variables per Service."""
    out: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec", {})
        ip = spec.get("clusterIP", "")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = _env_name(svc["metadata"]["name"])
        out[prefix + "_SERVICE_HOST"] = ip
        out[prefix + "_SERVICE_PORT"] = str(ports[0].get("port"))
        for port in ports:
            if port.get("name"):
                out[f"{prefix}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port.get("port"))
        for i, port in enumerate(ports):
            proto = str(port.get("protocol") or "TCP")
            host = f"[{ip}]:{port.get('port')}" if ":" in ip else f"{ip}:{port.get('port')}"
            url = f"{proto.lower()}://{host}"
            if i == 0:
                out[prefix + "_PORT"] = url
            pp = f"{prefix}_PORT_{port.get('port')}_{proto.upper()}"
            out[pp] = url
            out[pp + "_PROTO"] = proto.lower()
            out[pp + "_PORT"] = str(port.get("port"))
            out[pp + "_ADDR"] = ip
    return out


def _decoded(secret: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in (secret.get("data") or {}).items():
        out[key] = base64.b64decode(value).decode(errors="replace")
    return out


class _Lookups:
    """Fetches each ConfigMap and Secret once per container; missing ones cached as None."""

    def __init__(self, sources: ConfigSources, namespace: str) -> None:
        self.sources = sources
        self.namespace = namespace
        self.maps: dict[str, dict[str, Any] | None] = {}
        self.secrets: dict[str, dict[str, Any] | None] = {}

    async def config_map(self, name: str, optional: bool) -> dict[str, str] | None:
        if name not in self.maps:
            self.maps[name] = await self.sources.config_map(self.namespace, name)
        found = self.maps[name]
        if found is None:
            if optional:
                return None
            raise EnvError(f'configmap "{name}" not found')
        return dict(found.get("data") or {})

    async def secret(self, name: str, optional: bool) -> dict[str, str] | None:
        if name not in self.secrets:
            self.secrets[name] = await self.sources.secret(self.namespace, name)
        found = self.secrets[name]
        if found is None:
            if optional:
                return None
            raise EnvError(f'secret "{name}" not found')
        return _decoded(found)


async def _env_from(
    container: dict[str, Any], lookups: _Lookups, result: Environment, values: dict[str, str]
) -> None:
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        if source.get("configMapRef") is not None:
            ref, kind = source["configMapRef"], "configMap"
            data = await lookups.config_map(ref.get("name", ""), bool(ref.get("optional")))
        elif source.get("secretRef") is not None:
            ref, kind = source["secretRef"], "secret"
            data = await lookups.secret(ref.get("name", ""), bool(ref.get("optional")))
        else:
            continue
        if data is None:
            continue
        invalid = []
        for key, value in data.items():
            name = prefix + key
            if is_relaxed_env_var_name(name):
                invalid.append(name)
                continue
            values[name] = value
        if invalid:
            result.warnings.append(
                f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {kind} "
                f"{lookups.namespace}/{ref.get('name', '')} were skipped since they are "
                "considered invalid environment variable names."
            )


async def make_environment(
    pod: dict[str, Any],
    container: dict[str, Any],
    sources: ConfigSources,
    *,
    pod_ips: list[str],
    host_ip: str,
    services: Mapping[str, str] | None = None,
    allocatable: Mapping[str, str] | None = None,
) -> Environment:
    """The container's environment, or ``EnvError`` with the kubelet's message."""
    namespace = pod.get("metadata", {}).get("namespace", "")
    lookups = _Lookups(sources, namespace)
    result = Environment()
    values: dict[str, str] = {}
    service_vars = dict(services or {})
    await _env_from(container, lookups, result, values)
    for var in container.get("env") or []:
        name = var.get("name", "")
        value = var.get("value") or ""
        source = var.get("valueFrom")
        if value:
            value = expand(value, values, service_vars)
        elif source:
            resolved = await _value_from(
                source,
                pod,
                container,
                lookups,
                pod_ips=pod_ips,
                host_ip=host_ip,
                allocatable=allocatable or {},
            )
            if resolved is None:
                continue
            value = resolved
        values[name] = value
    result.env = list(values.items())
    result.env += [(k, v) for k, v in sorted(service_vars.items()) if k not in values]
    return result


async def _value_from(
    source: dict[str, Any],
    pod: dict[str, Any],
    container: dict[str, Any],
    lookups: _Lookups,
    *,
    pod_ips: list[str],
    host_ip: str,
    allocatable: Mapping[str, str],
) -> str | None:
    """One ``valueFrom``; None when an optional reference is missing (the var is skipped)."""
    namespace = lookups.namespace
    if source.get("fieldRef") is not None:
        return field_value(
            pod, source["fieldRef"].get("fieldPath", ""), pod_ips=pod_ips, host_ip=host_ip
        )
    if source.get("resourceFieldRef") is not None:
        return resource_value(source["resourceFieldRef"], pod, container, allocatable)
    if source.get("configMapKeyRef") is not None:
        ref = source["configMapKeyRef"]
        optional = bool(ref.get("optional"))
        data = await lookups.config_map(ref.get("name", ""), optional)
        if data is None:
            return None
        if ref.get("key") not in data:
            if optional:
                return None
            raise EnvError(
                f"couldn't find key {ref.get('key')} in ConfigMap {namespace}/{ref.get('name')}"
            )
        return data[ref["key"]]
    if source.get("secretKeyRef") is not None:
        ref = source["secretKeyRef"]
        optional = bool(ref.get("optional"))
        data = await lookups.secret(ref.get("name", ""), optional)
        if data is None:
            return None
        if ref.get("key") not in data:
            if optional:
                return None
            raise EnvError(
                f"couldn't find key {ref.get('key')} in Secret {namespace}/{ref.get('name')}"
            )
        return data[ref["key"]]
    return ""
