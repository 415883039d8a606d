"""The node's registered status keeps condition transition times that did not change."""

from __future__ import annotations

from kubeproc.kubelet.nodestatus import merge_status


def test_unchanged_condition_keeps_transition_time() -> None:
    """Same type and status: the old lastTransitionTime stays; a changed status takes the new one."""
    old = {
        "conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": "T0"},
            {"type": "DiskPressure", "status": "True", "lastTransitionTime": "T0"},
        ]
    }
    new = {
        "capacity": {"cpu": "2"},
        "conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": "T1"},
            {"type": "DiskPressure", "status": "False", "lastTransitionTime": "T1"},
            {"type": "PIDPressure", "status": "False", "lastTransitionTime": "T1"},
        ],
    }
    merged = merge_status(old, new)
    times = {c["type"]: c["lastTransitionTime"] for c in merged["conditions"]}
    assert times == {"Ready": "T0", "DiskPressure": "T1", "PIDPressure": "T1"}
    assert merged["capacity"] == {"cpu": "2"}
