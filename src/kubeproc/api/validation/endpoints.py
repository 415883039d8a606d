"""Endpoints, and the "non-special IP" rule endpoints of every kind share.

Mirrors ``ValidateEndpoints`` (subsets with at least one address, addresses that are real
unicast IPs, ports named when there are several) and ``ValidateNonSpecialIP``, which
EndpointSlices and Service external IPs reuse.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kubeproc.api.errors import FieldError, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_dict, as_int, as_list, as_str, child, index
from kubeproc.api.validation.meta import (
    name_is_dns_subdomain,
    validate_label_name,
    validate_object_meta,
    validate_object_meta_update,
)

_PROTOCOLS = ["SCTP", "TCP", "UDP"]


def validate_non_special_ip(value: str, path: str) -> list[FieldError]:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return [invalid(path, value, "must be a valid IP address")]
    errs: list[FieldError] = []
    if ip.is_unspecified:
        errs.append(invalid(path, value, f"may not be unspecified ({value})"))
    if ip.is_loopback:
        errs.append(invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if ip.is_link_local and not ip.is_multicast:
        errs.append(
            invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        )
    if ip.is_multicast and (
        ip in ipaddress.ip_network("224.0.0.0/24") or str(ip).startswith("ff02:")
    ):
        errs.append(
            invalid(
                path,
                value,
                "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
            )
        )
    return errs


def validate_endpoints(ep: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(ep, name_is_dns_subdomain)
    for i, raw in enumerate(as_list(ep.get("subsets"))):
        subset, spath = as_dict(raw), f"subsets[{i}]"
        addresses, not_ready = (
            as_list(subset.get("addresses")),
            as_list(subset.get("notReadyAddresses")),
        )
        if not addresses and not not_ready:
            errs.append(required(spath, "must specify `addresses` or `notReadyAddresses`"))
        for field, items in (("addresses", addresses), ("notReadyAddresses", not_ready)):
            for j, addr in enumerate(items):
                errs.extend(_endpoint_address(as_dict(addr), index(child(spath, field), j)))
        ports = as_list(subset.get("ports"))
        for j, port in enumerate(ports):
            errs.extend(
                _endpoint_port(as_dict(port), len(ports) > 1, index(child(spath, "ports"), j))
            )
    return errs


def _endpoint_address(addr: dict[str, Any], path: str) -> list[FieldError]:
    ip = as_str(addr.get("ip"))
    errs = [invalid(child(path, "ip"), ip, m) for m in names.is_valid_ip(ip)]
    hostname = as_str(addr.get("hostname"))
    if hostname:
        errs.extend(
            invalid(child(path, "hostname"), hostname, m) for m in names.is_dns1123_label(hostname)
        )
    if addr.get("nodeName") is not None:
        node = as_str(addr.get("nodeName"))
        errs.extend(
            invalid(child(path, "nodeName"), node, m) for m in names.is_dns1123_subdomain(node)
        )
    return errs + validate_non_special_ip(ip, child(path, "ip"))


def _endpoint_port(port: dict[str, Any], require_name: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = as_str(port.get("name"))
    if require_name and not name:
        errs.append(required(child(path, "name")))
    elif name:
        errs.extend(invalid(child(path, "name"), name, m) for m in names.is_dns1123_label(name))
    number = as_int(port.get("port"))
    errs.extend(invalid(child(path, "port"), number, m) for m in names.is_valid_port_num(number))
    protocol = as_str(port.get("protocol"))
    if not protocol:
        errs.append(required(child(path, "protocol")))
    elif protocol not in _PROTOCOLS:
        errs.append(unsupported(child(path, "protocol"), protocol, _PROTOCOLS))
    if port.get("appProtocol") is not None:
        errs.extend(
            validate_label_name(as_str(port.get("appProtocol")), child(path, "appProtocol"))
        )
    return errs


def validate_endpoints_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta_update(new, old) + validate_endpoints(new)
