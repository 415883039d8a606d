"""The scheduler binds only unbound, live pods of the default scheduler, and says so."""

from __future__ import annotations

from kubeproc.scheduler.scheduler import needs_binding, scheduled_event
from kubeproc.util.clock import FakeClock


def test_needs_binding() -> None:
    """Unbound pods of the default scheduler are bound; bound, deleting or foreign ones are not."""
    base = {"metadata": {"name": "p"}, "spec": {}}
    assert needs_binding(base)
    assert not needs_binding({"metadata": {"name": "p"}, "spec": {"nodeName": "n"}})
    assert not needs_binding({"metadata": {"name": "p", "deletionTimestamp": "t"}, "spec": {}})
    assert not needs_binding({"metadata": {"name": "p"}, "spec": {"schedulerName": "other"}})


def test_scheduled_event_wording() -> None:
    """The event reads as kube-scheduler's: Scheduled, Successfully assigned ns/name to node."""
    pod = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}}
    ev = scheduled_event(pod, "node-1", FakeClock())
    assert (ev["reason"], ev["type"], ev["source"]) == (
        "Scheduled",
        "Normal",
        {"component": "default-scheduler"},
    )
    assert ev["message"] == "Successfully assigned default/web to node-1"
    assert ev["involvedObject"]["uid"] == "u1"
    assert ev["metadata"]["name"].startswith("web.")
