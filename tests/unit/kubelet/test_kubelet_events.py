"""Kubelet events are written as a cluster writes them, repeats aggregated into a count."""

from __future__ import annotations

from kubelet_fakes import EVENTS, FakeApi

from kubeproc.kubelet import events as ev
from kubeproc.kubelet.events import EventRecorder
from kubeproc.util.clock import FakeClock

POD = {"metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "7"}}


async def test_event_shape() -> None:
    """An event names its pod and container, the kubelet and the node, with v1.33 wording."""
    clock = FakeClock()
    api = FakeApi(clock)
    recorder = EventRecorder(api, EVENTS, clock, node_name="node-a")
    recorder.event(
        POD,
        ev.NORMAL,
        ev.CREATED,
        ev.created_message("app"),
        field_path=ev.field_path("app", init=False),
    )
    await recorder.flush()
    (event,) = api.of_kind("events")
    assert event["metadata"]["name"].startswith("web.")
    int(event["metadata"]["name"].split(".", 1)[1], 16)  # <pod>.<hex nanoseconds>
    assert event["involvedObject"] == {
        "kind": "Pod",
        "namespace": "shop",
        "name": "web",
        "uid": "u-1",
        "apiVersion": "v1",
        "resourceVersion": "7",
        "fieldPath": "spec.containers{app}",
    }
    assert (event["type"], event["reason"], event["message"]) == (
        "Normal",
        "Created",
        "Created container: app",
    )
    assert event["source"] == {"component": "kubelet", "host": "node-a"}
    assert (event["reportingComponent"], event["reportingInstance"]) == ("kubelet", "node-a")
    assert event["count"] == 1
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2026-01-01T00:00:00Z"


async def test_repeats_bump_count_and_last_timestamp() -> None:
    """Same reason, message and object: one event, count 3, lastTimestamp moved; others are new."""
    clock = FakeClock()
    api = FakeApi(clock)
    recorder = EventRecorder(api, EVENTS, clock, node_name="node-a")
    message = "Back-off restarting failed container app in pod web_shop(u-1)"
    for _ in range(3):
        recorder.event(POD, ev.WARNING, ev.BACKOFF, message, field_path="spec.containers{app}")
        await recorder.flush()
        await clock.advance(10)
    recorder.event(
        POD, ev.NORMAL, ev.PULLED, ev.pulled_message("busybox"), field_path="spec.containers{app}"
    )
    await recorder.flush()
    backoff, pulled = sorted(api.of_kind("events"), key=lambda e: e["reason"])
    assert (backoff["count"], backoff["firstTimestamp"], backoff["lastTimestamp"]) == (
        3,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:20Z",
    )
    assert pulled["message"] == 'Container image "busybox" already present on machine'
    assert [w[0] for w in api.writes] == ["create", "patch", "patch", "create"]


async def test_event_deleted_meanwhile_is_created_again() -> None:
    """If the aggregated event is gone (TTL), the repeat creates it again, count kept."""
    clock = FakeClock()
    api = FakeApi(clock)
    recorder = EventRecorder(api, EVENTS, clock, node_name="node-a")
    recorder.event(POD, ev.NORMAL, ev.KILLING, "Stopping container app")
    await recorder.flush()
    api.objects.clear()
    recorder.event(POD, ev.NORMAL, ev.KILLING, "Stopping container app")
    await recorder.flush()
    (event,) = api.of_kind("events")
    assert event["count"] == 2
