"""Probes and lifecycle handlers (spec kubelet-probes.md §1.3, rules V1-V13).

Mirrors ``validateProbe``/``validateHandler`` and the per-kind wrappers: the handler first
(exactly one of exec, httpGet, tcpSocket, grpc, checked in that order so the *second*
handler is the one reported), then the five counters, then the probe's own grace period,
and finally the rule of the probe kind (liveness/startup ``successThreshold`` must be 1,
readiness may not carry ``terminationGracePeriodSeconds``). Rules V14/V15 (where probes may
appear at all) live with the container lists.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, forbidden, invalid, not_supported, required
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_int, as_list, as_str, child, opt_int
from kubeproc.api.validation.meta import nonnegative

_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
_COUNTERS = (
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
)


def validate_port_num_or_name(port: object, path: str) -> list[FieldError]:
    """``ValidatePortNumOrName``: an IntOrString holding a port number or an IANA name."""
    if isinstance(port, str):
        return [invalid(path, port, msg) for msg in names.is_valid_port_name(port)]
    number = as_int(port)
    return [invalid(path, number, msg) for msg in names.is_valid_port_num(number)]


def _exec(action: dict[str, Any], path: str) -> list[FieldError]:
    if not as_list(action.get("command")):
        return [required(child(path, "command"))]
    return []


def _http_get(action: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not as_str(action.get("path")):
        errs.append(required(child(path, "path")))
    errs.extend(validate_port_num_or_name(action.get("port"), child(path, "port")))
    scheme = as_str(action.get("scheme"))
    if scheme not in ("HTTP", "HTTPS"):
        errs.append(not_supported(child(path, "scheme"), scheme, ["HTTP", "HTTPS"]))
    for header in as_list(action.get("httpHeaders")):
        name = as_str(as_dict(header).get("name"))
        errs.extend(
            invalid(child(path, "httpHeaders"), name, m) for m in names.is_http_header_name(name)
        )
    return errs


def _tcp_socket(action: dict[str, Any], path: str) -> list[FieldError]:
    return validate_port_num_or_name(action.get("port"), child(path, "port"))


def _grpc(action: dict[str, Any], path: str) -> list[FieldError]:
    # gRPC ports are plain int32: never a name.
    return validate_port_num_or_name(as_int(action.get("port")), child(path, "port"))


def _sleep(action: dict[str, Any], grace: int | None, path: str) -> list[FieldError]:
    seconds = as_int(action.get("seconds"))
    if grace is not None and (seconds < 0 or seconds > grace):
        return [
            invalid(
                path,
                seconds,
                f"must be non-negative and less than terminationGracePeriodSeconds ({grace})",
            )
        ]
    return []


def validate_handler(
    handler: dict[str, Any], kinds: tuple[str, ...], grace: int | None, path: str
) -> list[FieldError]:
    """Exactly one handler type; the extra ones are reported, in declaration order."""
    errs: list[FieldError] = []
    seen = 0
    for kind in kinds:
        if handler.get(kind) is None:
            continue
        hpath = child(path, kind)
        if seen:
            errs.append(forbidden(hpath, "may not specify more than 1 handler type"))
            continue
        seen += 1
        action = as_dict(handler.get(kind))
        if kind == "exec":
            errs.extend(_exec(action, hpath))
        elif kind == "httpGet":
            errs.extend(_http_get(action, hpath))
        elif kind == "tcpSocket":
            errs.extend(_tcp_socket(action, hpath))
        elif kind == "grpc":
            errs.extend(_grpc(action, hpath))
        else:
            errs.extend(_sleep(action, grace, hpath))
    if not seen:
        errs.append(required(path, "must specify a handler type"))
    return errs


def _probe(probe: dict[str, Any], grace: int | None, path: str) -> list[FieldError]:
    errs = validate_handler(probe, _PROBE_HANDLERS, grace, path)
    for counter in _COUNTERS:
        errs.extend(nonnegative(as_int(probe.get(counter)), child(path, counter)))
    tgps = opt_int(probe.get("terminationGracePeriodSeconds"))
    if tgps is not None and tgps <= 0:
        errs.append(
            invalid(child(path, "terminationGracePeriodSeconds"), tgps, "must be greater than 0")
        )
    return errs


def validate_probes(container: dict[str, Any], grace: int | None, path: str) -> list[FieldError]:
    """Liveness, readiness and startup probes of one container, in that order."""
    errs: list[FieldError] = []
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        raw = container.get(kind)
        if raw is None:
            continue
        probe, ppath = as_dict(raw), child(path, kind)
        errs.extend(_probe(probe, grace, ppath))
        if kind == "readinessProbe":
            tgps = probe.get("terminationGracePeriodSeconds")
            if tgps is not None:
                errs.append(
                    invalid(
                        child(ppath, "terminationGracePeriodSeconds"),
                        tgps,
                        "must not be set for readinessProbes",
                    )
                )
        else:
            threshold = as_int(probe.get("successThreshold"))
            if threshold != 1:
                errs.append(invalid(child(ppath, "successThreshold"), threshold, "must be 1"))
    return errs


def validate_lifecycle(lifecycle: dict[str, Any], grace: int | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for hook in ("postStart", "preStop"):
        if lifecycle.get(hook) is not None:
            errs.extend(
                validate_handler(
                    as_dict(lifecycle.get(hook)), _LIFECYCLE_HANDLERS, grace, child(path, hook)
                )
            )
    return errs
