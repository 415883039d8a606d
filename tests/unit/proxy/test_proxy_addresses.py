"""The proxy's source address: the pod CIDR's last usable one, never handed to a pod."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeproc.kubelet.runtime.oci.layout import Layout
from kubeproc.kubelet.runtime.oci.network import bridge_config
from kubeproc.proxy.backend import proxy_source_address


@pytest.mark.parametrize(
    ("pod_cidr", "source", "range_end"),
    [
        ("10.244.0.0/16", "10.244.255.254", "10.244.255.253"),
        ("10.145.5.192/26", "10.145.5.254", "10.145.5.253"),
        ("10.1.2.0/29", "10.1.2.6", "10.1.2.5"),
    ],
)
def test_proxy_source_is_last_usable_and_outside_ipam(
    pod_cidr: str, source: str, range_end: str
) -> None:
    """The runtime's layout and the proxy agree; host-local IPAM stops just before it."""
    layout = Layout.build(
        Path("/s"), pod_cidr=pod_cidr, bridge="kp0", netns_prefix="a", cgroup_parent="b"
    )
    assert proxy_source_address(pod_cidr) == str(layout.proxy_source) == source
    (ipam_range,) = bridge_config(layout)["ipam"]["ranges"][0]
    assert ipam_range["rangeEnd"] == range_end
    assert ipam_range["gateway"] == str(layout.gateway)
