"""Services and Endpoints.

Mirrors ``ValidateService`` (ports, type, session affinity, cluster IPs and IP families,
external IPs, node ports, traffic policies), ``ValidateServiceUpdate`` (cluster IPs and
families may not change once set) and ``ValidateEndpoints``. Allocation of cluster IPs and
node ports is the server's and happens before validation, as in kube-apiserver.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import FieldError, duplicate, forbidden, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.clusterips import (
    cluster_ips,
    is_headless,
    validate_ip_fields,
    validate_ip_updates,
)
from kubeproc.api.validation.endpoints import validate_non_special_ip
from kubeproc.api.validation.fields import (
    as_dict,
    as_int,
    as_list,
    as_str,
    child,
    index,
    key,
)
from kubeproc.api.validation.meta import (
    name_is_dns1035_label,
    validate_label_name,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from kubeproc.api.validation.probes import validate_port_num_or_name

_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_POLICIES = ["Cluster", "Local"]
_TRAFFIC_DISTRIBUTIONS = ["PreferClose", "PreferSameZone", "PreferSameNode"]
_HINTS = "service.kubernetes.io/topology-aware-hints"
_MODE = "service.kubernetes.io/topology-mode"


def _service_port(
    port: dict[str, Any], require_name: bool, seen: set[str], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = as_str(port.get("name"))
    if require_name and not name:
        errs.append(required(child(path, "name")))
    elif name:
        errs.extend(invalid(child(path, "name"), name, m) for m in names.is_dns1123_label(name))
        if name in seen:
            errs.append(duplicate(child(path, "name"), name))
        seen.add(name)
    number = as_int(port.get("port"))
    errs.extend(invalid(child(path, "port"), number, m) for m in names.is_valid_port_num(number))
    protocol = as_str(port.get("protocol"))
    if not protocol:
        errs.append(required(child(path, "protocol")))
    elif protocol not in _PROTOCOLS:
        errs.append(unsupported(child(path, "protocol"), protocol, _PROTOCOLS))
    errs.extend(validate_port_num_or_name(port.get("targetPort"), child(path, "targetPort")))
    if port.get("appProtocol") is not None:
        errs.extend(
            validate_label_name(as_str(port.get("appProtocol")), child(path, "appProtocol"))
        )
    return errs


def _type_rules(spec: dict[str, Any]) -> list[FieldError]:
    stype = as_str(spec.get("type"))
    ips = cluster_ips(spec)
    if stype in ("LoadBalancer", "NodePort") and is_headless(spec):
        return [
            invalid("spec.clusterIPs[0]", ips[0], f"may not be set to 'None' for {stype} services")
        ]
    if stype != "ExternalName":
        return []
    errs: list[FieldError] = []
    if ips:
        errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
    if as_list(spec.get("ipFamilies")):
        errs.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
    if spec.get("ipFamilyPolicy") is not None:
        errs.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
    cname = as_str(spec.get("externalName")).removesuffix(".")
    if cname:
        errs.extend(
            invalid("spec.externalName", cname, m) for m in names.is_dns1123_subdomain(cname)
        )
    else:
        errs.append(required("spec.externalName"))
    return errs


def _session_affinity(spec: dict[str, Any]) -> list[FieldError]:
    affinity = as_str(spec.get("sessionAffinity"))
    if not affinity:
        return [required("spec.sessionAffinity")]
    if affinity not in ("ClientIP", "None"):
        return [unsupported("spec.sessionAffinity", affinity, ["ClientIP", "None"])]
    config = spec.get("sessionAffinityConfig")
    path = "spec.sessionAffinityConfig"
    if affinity == "None":
        return (
            [forbidden(path, "must not be set when session affinity is None")]
            if config is not None
            else []
        )
    when = "when session affinity type is ClientIP"
    if config is None:
        return [required(path, when)]
    client = as_dict(config).get("clientIP")
    if client is None:
        return [required(child(path, "clientIP"), when)]
    timeout = as_dict(client).get("timeoutSeconds")
    if timeout is None:
        return [required(child(path, "clientIP", "timeoutSeconds"), when)]
    if not 0 < as_int(timeout) <= 86400:
        return [
            invalid(
                child(path, "clientIP", "timeoutSeconds"),
                timeout,
                "must be greater than 0 and less than 86400",
            )
        ]
    return []


def _ports_and_policies(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    stype = as_str(spec.get("type"))
    ports = [as_dict(p) for p in as_list(spec.get("ports"))]
    if stype == "ClusterIP":
        for i, port in enumerate(ports):
            if as_int(port.get("nodePort")):
                errs.append(
                    forbidden(
                        f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"
                    )
                )
    node_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        node_port = as_int(port.get("nodePort"))
        if node_port:
            ident = (as_str(port.get("protocol")), node_port)
            if ident in node_ports:
                errs.append(duplicate(f"spec.ports[{i}].nodePort", node_port))
            node_ports.add(ident)
    seen: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        ident = (as_str(port.get("protocol")), as_int(port.get("port")))
        if ident in seen:
            dup = {
                "Name": "",
                "Protocol": ident[0],
                "AppProtocol": None,
                "Port": ident[1],
                "TargetPort": 0,
                "NodePort": 0,
            }
            errs.append(duplicate(f"spec.ports[{i}]", dup))
        seen.add(ident)
    is_lb = stype == "LoadBalancer"
    ranges = [as_str(r) for r in as_list(spec.get("loadBalancerSourceRanges"))]
    if ranges:
        if not is_lb:
            errs.append(
                forbidden(
                    "spec.LoadBalancerSourceRanges",
                    "may only be used when `type` is 'LoadBalancer'",
                )
            )
        for i, value in enumerate(ranges):
            errs.extend(
                invalid(f"spec.LoadBalancerSourceRanges[{i}]", value.strip(), m)
                for m in names.is_valid_cidr(value.strip())
            )
    if spec.get("allocateLoadBalancerNodePorts") is not None and not is_lb:
        errs.append(
            forbidden(
                "spec.allocateLoadBalancerNodePorts",
                "may only be used when `type` is 'LoadBalancer'",
            )
        )
    if is_lb and spec.get("allocateLoadBalancerNodePorts") is None:
        errs.append(required("allocateLoadBalancerNodePorts"))
    lb_class = spec.get("loadBalancerClass")
    if lb_class is not None:
        if is_lb:
            errs.extend(validate_label_name(as_str(lb_class), "spec.loadBalancerClass"))
        else:
            errs.append(
                forbidden(
                    "spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"
                )
            )
    return errs + _traffic_policies(spec)


def _externally_accessible(spec: dict[str, Any]) -> bool:
    stype = spec.get("type")
    return stype in ("LoadBalancer", "NodePort") or (
        stype == "ClusterIP" and bool(as_list(spec.get("externalIPs")))
    )


def _traffic_policies(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    etp = as_str(spec.get("externalTrafficPolicy"))
    if not _externally_accessible(spec):
        if etp:
            errs.append(
                invalid(
                    "spec.externalTrafficPolicy",
                    etp,
                    "may only be set for externally-accessible services",
                )
            )
    elif not etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif etp not in _POLICIES:
        errs.append(unsupported("spec.externalTrafficPolicy", etp, _POLICIES))
    hc = as_int(spec.get("healthCheckNodePort"))
    if not (spec.get("type") == "LoadBalancer" and etp == "Local"):
        if hc:
            errs.append(
                invalid(
                    "spec.healthCheckNodePort",
                    hc,
                    "may only be set when `type` is 'LoadBalancer' and "
                    "`externalTrafficPolicy` is 'Local'",
                )
            )
    elif not hc:
        errs.append(required("spec.healthCheckNodePort"))
    else:
        errs.extend(invalid("spec.healthCheckNodePort", hc, m) for m in names.is_valid_port_num(hc))
    itp = spec.get("internalTrafficPolicy")
    if itp is None and spec.get("type") in ("NodePort", "LoadBalancer", "ClusterIP"):
        errs.append(required("spec.internalTrafficPolicy"))
    if itp is not None and itp not in _POLICIES:
        errs.append(unsupported("spec.internalTrafficPolicy", itp, _POLICIES))
    td = spec.get("trafficDistribution")
    if td is not None and td not in _TRAFFIC_DISTRIBUTIONS:
        errs.append(unsupported("spec.trafficDistribution", td, _TRAFFIC_DISTRIBUTIONS))
    return errs


def validate_service(svc: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(svc, name_is_dns1035_label)
    annotations = as_dict(as_dict(svc.get("metadata")).get("annotations"))
    if _MODE in annotations and _HINTS in annotations and annotations[_MODE] != annotations[_HINTS]:
        errs.append(
            invalid(
                key("metadata.annotations", _MODE),
                annotations[_MODE],
                f"must match annotations[{_HINTS}] when both are specified",
            )
        )
    spec = as_dict(svc.get("spec"))
    ports = [as_dict(p) for p in as_list(spec.get("ports"))]
    if not ports and not is_headless(spec) and spec.get("type") != "ExternalName":
        errs.append(required("spec.ports"))
    errs.extend(_type_rules(spec))
    seen: set[str] = set()
    for i, port in enumerate(ports):
        errs.extend(_service_port(port, len(ports) > 1, seen, f"spec.ports[{i}]"))
    if spec.get("selector") is not None:
        errs.extend(validate_labels(spec.get("selector"), "spec.selector"))
    errs.extend(_session_affinity(spec))
    errs.extend(validate_ip_fields(spec))
    for i, ip in enumerate(as_list(spec.get("externalIPs"))):
        msgs = names.is_valid_ip(as_str(ip))
        path = f"spec.externalIPs[{i}]"
        errs.extend(invalid(path, ip, m) for m in msgs)
        if not msgs:
            errs.extend(validate_non_special_ip(as_str(ip), path))
    stype = as_str(spec.get("type"))
    if not stype:
        errs.append(required("spec.type"))
    elif stype not in _TYPES:
        errs.append(unsupported("spec.type", stype, _TYPES))
    return errs + _ports_and_policies(spec)


def validate_service_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    errs.extend(validate_ip_updates(new_spec, old_spec))
    if new_spec.get("type") == old_spec.get("type") == "LoadBalancer" and new_spec.get(
        "loadBalancerClass"
    ) != old_spec.get("loadBalancerClass"):
        errs.append(
            invalid(
                "spec.loadBalancerClass",
                new_spec.get("loadBalancerClass"),
                "may not change once set",
            )
        )
    needs = [
        s.get("type") == "LoadBalancer" and s.get("externalTrafficPolicy") == "Local"
        for s in (new_spec, old_spec)
    ]
    if all(needs) and new_spec.get("healthCheckNodePort") != old_spec.get("healthCheckNodePort"):
        errs.append(forbidden("spec.healthCheckNodePort", "field is immutable"))
    return errs + validate_service(new)


def validate_service_status(new: dict[str, Any]) -> list[FieldError]:
    spec = as_dict(new.get("spec"))
    ingress = as_list(as_dict(as_dict(new.get("status")).get("loadBalancer")).get("ingress"))
    path = "status.loadBalancer.ingress"
    if spec.get("type") != "LoadBalancer" and ingress:
        return [forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'")]
    errs: list[FieldError] = []
    for i, raw in enumerate(ingress):
        entry, ipath = as_dict(raw), index(path, i)
        ip, mode, host = as_str(entry.get("ip")), entry.get("ipMode"), as_str(entry.get("hostname"))
        if ip:
            errs.extend(invalid(child(ipath, "ip"), ip, m) for m in names.is_valid_ip(ip))
        if mode is None and ip:
            errs.append(required(child(ipath, "ipMode"), "must be specified when `ip` is set"))
        elif mode is not None and not ip:
            errs.append(
                forbidden(child(ipath, "ipMode"), "may not be specified when `ip` is not set")
            )
        elif mode is not None and mode not in ("Proxy", "VIP"):
            errs.append(unsupported(child(ipath, "ipMode"), mode, ["Proxy", "VIP"]))
        if host:
            errs.extend(
                invalid(child(ipath, "hostname"), host, m) for m in names.is_dns1123_subdomain(host)
            )
            if _parses_as_ip(host):
                errs.append(
                    invalid(child(ipath, "hostname"), host, "must be a DNS name, not an IP address")
                )
    return errs


def _parses_as_ip(value: str) -> bool:
    """Go's sloppy parse, which also takes forms the strict check then rejects."""
    return names.is_valid_ip(value)[:1] != [names.NOT_AN_IP]
