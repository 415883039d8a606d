"""NetworkPolicies and EndpointSlices.

Mirrors networking's ``ValidateNetworkPolicy`` (selectors, ports, peers, ipBlocks, policy
types) and discovery's ``ValidateEndpointSlice`` (address type, endpoints and their
addresses, ports). CIDRs are checked the legacy ("sloppy") way these fields still use.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kubeproc.api.errors import FieldError, duplicate, forbidden, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.endpoints import validate_non_special_ip
from kubeproc.api.validation.fields import (
    as_dict,
    as_int,
    as_list,
    as_str,
    child,
    index,
    json_list,
    too_many,
)
from kubeproc.api.validation.meta import (
    immutable,
    name_is_dns_subdomain,
    validate_label_name,
    validate_label_selector,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)

_NP_PROTOCOLS = ["TCP", "UDP", "SCTP"]
_SLICE_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
_CIDR_ERROR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def _np_port(port: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in _NP_PROTOCOLS:
        errs.append(unsupported(child(path, "protocol"), protocol, _NP_PROTOCOLS))
    number, end = port.get("port"), port.get("endPort")
    if number is not None:
        if isinstance(number, str):
            if end is not None:
                errs.append(
                    invalid(
                        child(path, "endPort"),
                        end,
                        "may not be specified when `port` is non-numeric",
                    )
                )
            errs.extend(
                invalid(child(path, "port"), number, m) for m in names.is_valid_port_name(number)
            )
        else:
            value = as_int(number)
            errs.extend(
                invalid(child(path, "port"), value, m) for m in names.is_valid_port_num(value)
            )
            if end is not None:
                if as_int(end) < value:
                    errs.append(
                        invalid(
                            child(path, "endPort"), end, "must be greater than or equal to `port`"
                        )
                    )
                errs.extend(
                    invalid(child(path, "endPort"), end, m)
                    for m in names.is_valid_port_num(as_int(end))
                )
    elif end is not None:
        errs.append(
            invalid(
                child(path, "endPort"), end, "may not be specified when `port` is not specified"
            )
        )
    return errs


def _parse_cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _ip_block(block: dict[str, Any], path: str) -> list[FieldError]:
    cidr = as_str(block.get("cidr"))
    if not cidr:
        return [required(child(path, "cidr"))]
    net = _parse_cidr(cidr)
    if net is None:
        return [invalid(child(path, "cidr"), cidr, _CIDR_ERROR)]
    errs: list[FieldError] = []
    for i, raw in enumerate(as_list(block.get("except"))):
        value, epath = as_str(raw), index(child(path, "except"), i)
        inner = _parse_cidr(value)
        if inner is None:
            errs.append(invalid(epath, value, _CIDR_ERROR))
            continue
        contains = inner.version == net.version and inner.network_address in net
        if not contains or net.prefixlen >= inner.prefixlen:
            errs.append(invalid(epath, value, "must be a strict subset of `cidr`"))
    return errs


def _peer(peer: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for field in ("podSelector", "namespaceSelector"):
        if peer.get(field) is not None:
            count += 1
            errs.extend(validate_label_selector(as_dict(peer.get(field)), child(path, field)))
    if peer.get("ipBlock") is not None:
        count += 1
        errs.extend(_ip_block(as_dict(peer.get("ipBlock")), child(path, "ipBlock")))
    if count == 0:
        errs.append(required(path, "must specify a peer"))
    elif count > 1 and peer.get("ipBlock") is not None:
        errs.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return errs


def _np_spec(spec: dict[str, Any]) -> list[FieldError]:
    errs = validate_label_selector(as_dict(spec.get("podSelector")), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, raw in enumerate(as_list(spec.get(direction))):
            rule, rpath = as_dict(raw), index(f"spec.{direction}", i)
            for j, port in enumerate(as_list(rule.get("ports"))):
                errs.extend(_np_port(as_dict(port), index(child(rpath, "ports"), j)))
            for j, peer in enumerate(as_list(rule.get(peers))):
                errs.extend(_peer(as_dict(peer), index(child(rpath, peers), j)))
    types = as_list(spec.get("policyTypes"))
    if len(types) > 2:
        return [
            *errs,
            invalid(
                "spec.policyTypes", json_list(types), "may not specify more than two policyTypes"
            ),
        ]
    for i, ptype in enumerate(types):
        if ptype not in ("Ingress", "Egress"):
            errs.append(unsupported(f"spec.policyTypes[{i}]", ptype, ["Ingress", "Egress"]))
    return errs


def validate_network_policy(np: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta(np, name_is_dns_subdomain) + _np_spec(as_dict(np.get("spec")))


def validate_network_policy_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    return validate_object_meta_update(new, old) + _np_spec(as_dict(new.get("spec")))


def _fqdn(value: str, path: str) -> list[FieldError]:
    if not value:
        return [required(path)]
    name = value.removesuffix(".")
    msgs = names.is_dns1123_subdomain(name)
    if msgs:
        return [invalid(path, name, ",".join(msgs))]
    labels = name.split(".")
    if len(labels) < 2:
        return [
            invalid(path, name, "should be a domain with at least two segments separated by dots")
        ]
    for label in labels:
        msgs = names.is_dns1123_label(label)
        if msgs:
            return [invalid(path, label, ",".join(msgs))]
    return []


def _address(address: str, address_type: str, path: str) -> list[FieldError]:
    if address_type == "FQDN":
        return _fqdn(address, path)
    if address_type not in ("IPv4", "IPv6", "IP"):
        return []
    msgs = names.is_valid_ip(address)
    if msgs:
        return [invalid(path, address, m) for m in msgs]
    version = ipaddress.ip_address(address).version
    if address_type == "IPv4" and version != 4:
        return [invalid(path, address, "must be an IPv4 address")]
    if address_type == "IPv6" and version != 6:
        return [invalid(path, address, "must be an IPv6 address")]
    return validate_non_special_ip(address, path) if address_type != "IP" else []


def _endpoints(endpoints: list[Any], address_type: str) -> list[FieldError]:
    if len(endpoints) > 1000:
        return [too_many("endpoints", len(endpoints), 1000)]
    errs: list[FieldError] = []
    for i, raw in enumerate(endpoints):
        ep, epath = as_dict(raw), index("endpoints", i)
        addresses, apath = as_list(ep.get("addresses")), child(epath, "addresses")
        if not addresses:
            errs.append(required(apath, "must contain at least 1 address"))
        elif len(addresses) > 100:
            errs.append(too_many(apath, len(addresses), 100))
        for j, address in enumerate(addresses):
            errs.extend(_address(as_str(address), address_type, index(apath, j)))
        topology = as_dict(ep.get("deprecatedTopology"))
        if len(topology) > 16:
            errs.append(too_many(child(epath, "topology"), len(topology), 16))
        errs.extend(validate_labels(topology, child(epath, "topology")))
        if ep.get("hostname") is not None:
            host = as_str(ep.get("hostname"))
            errs.extend(
                invalid(child(epath, "hostname"), host, m) for m in names.is_dns1123_label(host)
            )
    return errs


def _slice_ports(ports: list[Any]) -> list[FieldError]:
    if len(ports) > 100:
        return [too_many("ports", len(ports), 100)]
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, raw in enumerate(ports):
        port, ppath = as_dict(raw), index("ports", i)
        name = as_str(port.get("name"))
        if name:
            errs.extend(
                invalid(child(ppath, "name"), name, m) for m in names.is_dns1123_label(name)
            )
        if name in seen:
            errs.append(duplicate(child(ppath, "name"), name))
        seen.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            errs.append(required(child(ppath, "protocol")))
        elif protocol not in _SLICE_PROTOCOLS:
            errs.append(unsupported(child(ppath, "protocol"), protocol, _SLICE_PROTOCOLS))
        if port.get("appProtocol") is not None:
            errs.extend(
                validate_label_name(as_str(port.get("appProtocol")), child(ppath, "appProtocol"))
            )
    return errs


def validate_endpoint_slice(
    eps: dict[str, Any], *, allowed: list[str] = _ADDRESS_TYPES
) -> list[FieldError]:
    errs = validate_object_meta(eps, name_is_dns_subdomain)
    address_type = as_str(eps.get("addressType"))
    if not address_type:
        errs.append(required("addressType"))
    elif address_type not in allowed:
        errs.append(unsupported("addressType", address_type, allowed))
    errs.extend(_endpoints(as_list(eps.get("endpoints")), address_type))
    return errs + _slice_ports(as_list(eps.get("ports")))


def validate_endpoint_slice_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_endpoint_slice(new, allowed=["FQDN", "IP", "IPv4", "IPv6"])
    return errs + immutable(new.get("addressType", ""), old.get("addressType", ""), "addressType")
