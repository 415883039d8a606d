"""A Service's cluster IPs and IP families: consistency on write, stability on update.

Mirrors ``ValidateServiceClusterIPsRelatedFields`` (clusterIP and clusterIPs agree, at
most one IP per family, families match the IPs) and the update rules of
``validateUpgradeDowngradeClusterIPs``/``IPFamilies``: the primary IP and family may not
change once set; a secondary may be added or, with ``SingleStack``, released. The bad value
of these errors is the whole new list, as the real server prints it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kubeproc.api.errors import FieldError, duplicate, invalid, required
from kubeproc.api.errors import not_supported as unsupported
from kubeproc.api.validation import names
from kubeproc.api.validation.fields import as_list, as_str, json_list

_FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]


def cluster_ips(spec: dict[str, Any]) -> list[str]:
    return [as_str(ip) for ip in as_list(spec.get("clusterIPs"))]


def is_headless(spec: dict[str, Any]) -> bool:
    ips = cluster_ips(spec)
    return len(ips) == 1 and ips[0] == "None"


def validate_ip_fields(spec: dict[str, Any]) -> list[FieldError]:
    """``ValidateServiceClusterIPsRelatedFields``."""
    if spec.get("type") == "ExternalName":
        return []
    errs: list[FieldError] = []
    ips, cluster_ip = cluster_ips(spec), as_str(spec.get("clusterIP"))
    if cluster_ip:
        if not ips:
            errs.append(required("spec.clusterIPs"))
        elif ips[0] != cluster_ip:
            errs.append(
                invalid("spec.clusterIPs", json_list(ips), "first value must match `clusterIP`")
            )
    elif ips:
        errs.append(
            invalid(
                "spec.clusterIPs", json_list(ips), "must be empty when `clusterIP` is not specified"
            )
        )
    seen: set[str] = set()
    for i, family in enumerate(as_list(spec.get("ipFamilies"))):
        if family not in ("IPv4", "IPv6"):
            errs.append(unsupported(f"spec.ipFamilies[{i}]", family, ["IPv4", "IPv6"]))
        if family in seen:
            errs.append(duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(str(family))
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in _FAMILY_POLICIES:
        errs.append(unsupported("spec.ipFamilyPolicy", policy, _FAMILY_POLICIES))
    bad = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                bad = True
                errs.append(
                    invalid(
                        "spec.clusterIPs", json_list(ips), "'None' must be the first and only value"
                    )
                )
            continue
        msgs = names.is_valid_ip(ip)
        bad = bad or bool(msgs)
        errs.extend(invalid(f"spec.clusterIPs[{i}]", ip, m) for m in msgs)
    if len(ips) > 2:
        errs.append(invalid("spec.clusterIPs", json_list(ips), "may only hold up to 2 values"))
    if bad:
        return errs
    versions = [ipaddress.ip_address(ip).version for ip in ips if ip != "None"]
    if len(ips) > 1 and len(set(versions)) != len(versions):
        errs.append(
            invalid(
                "spec.clusterIPs",
                json_list(ips),
                "may specify no more than one IP for each IP family",
            )
        )
    families = as_list(spec.get("ipFamilies"))
    if not is_headless(spec):
        for i, ip in enumerate(ips[: len(families)]):
            v6 = ipaddress.ip_address(ip).version == 6
            if families[i] == "IPv4" and v6:
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv4 value as indicated by `ipFamilies[{i}]`",
                    )
                )
            if families[i] == "IPv6" and not v6:
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv6 value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


def _cluster_ip_updates(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    if "ExternalName" in (new.get("type"), old.get("type")):
        return []
    if is_headless(new) and is_headless(old):
        return []
    new_ips, old_ips = cluster_ips(new), cluster_ips(old)
    shown = json_list(new_ips)
    errs: list[FieldError] = []
    if len(old_ips) == len(new_ips):
        errs.extend(
            invalid(f"spec.clusterIPs[{i}]", shown, "may not change once set")
            for i, ip in enumerate(old_ips)
            if ip != new_ips[i]
        )
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(invalid("spec.clusterIPs[0]", shown, "primary clusterIP can not be unset"))
        elif new_ips[0] != old_ips[0]:
            errs.append(invalid("spec.clusterIPs[0]", shown, "may not change once set"))
        if len(new_ips) == 1 and new.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    new.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                )
            )
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid("spec.clusterIPs[0]", shown, "may not change once set"))
    return errs


def validate_ip_updates(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """Cluster IPs, then IP families, of an updated spec against the old one."""
    errs = _cluster_ip_updates(new, old)
    if (
        "ExternalName" not in (new.get("type"), old.get("type"))
        and is_headless(new) == is_headless(old)
        and not is_headless(new)
    ):
        new_f, old_f = as_list(new.get("ipFamilies")), as_list(old.get("ipFamilies"))
        if len(new_f) == len(old_f) and new_f != old_f:
            errs.append(invalid("spec.ipFamilies[0]", json_list(new_f), "may not change once set"))
    return errs
