"""The event correlator: similar events combined, repeats counted, spam dropped."""

from __future__ import annotations

from kubeproc.kubelet.eventcorrelator import COMBINED_PREFIX, EventCorrelator, EventFacts


def facts(message: str, reason: str = "Unhealthy", name: str = "web") -> EventFacts:
    return EventFacts(
        source=("kubelet", "node-a"),
        involved=("Pod", "default", name, "uid-1", "v1", "spec.containers{app}"),
        type="Warning",
        reason=reason,
        message=message,
    )


def test_repeats_patch_the_first_event_with_a_growing_count() -> None:
    c = EventCorrelator()
    first = c.correlate(facts("Liveness probe failed: x"), 0.0, "web.1")
    again = c.correlate(facts("Liveness probe failed: x"), 5.0, "web.2")
    assert first is not None and first.create and first.count == 1
    assert again is not None and not again.create
    assert (again.name, again.count, again.first_seen) == ("web.1", 2, 0.0)


def test_the_tenth_different_message_is_combined_and_later_ones_patch_it() -> None:
    c = EventCorrelator()
    writes = [c.correlate(facts(f"msg {i}"), float(i), f"web.{i}") for i in range(12)]
    assert all(w is not None for w in writes)
    plain = [w for w in writes[:9] if w is not None]
    assert [w.message for w in plain] == [f"msg {i}" for i in range(9)]
    assert all(w.create for w in plain)
    tenth, eleventh, twelfth = writes[9], writes[10], writes[11]
    assert tenth is not None and tenth.create
    assert tenth.message == COMBINED_PREFIX + "msg 9"
    assert eleventh is not None and not eleventh.create
    assert (eleventh.name, eleventh.count) == (tenth.name, 2)
    assert eleventh.message == "(combined from similar events): msg 10"
    assert twelfth is not None and twelfth.count == 3


def test_similar_events_reset_after_ten_quiet_minutes() -> None:
    c = EventCorrelator()
    for i in range(9):
        c.correlate(facts(f"msg {i}"), float(i), f"web.{i}")
    later = c.correlate(facts("msg late"), 9.0 + 601.0, "web.late")
    assert later is not None and later.message == "msg late"


def test_other_reasons_and_objects_are_not_similar() -> None:
    c = EventCorrelator()
    for i in range(9):
        c.correlate(facts(f"msg {i}"), float(i), f"web.{i}")
    other_reason = c.correlate(facts("msg x", reason="ProbeWarning"), 10.0, "web.x")
    other_pod = c.correlate(facts("msg y", name="db"), 10.0, "db.y")
    assert other_reason is not None and other_reason.message == "msg x"
    assert other_pod is not None and other_pod.message == "msg y"


def test_spam_filter_passes_25_then_one_per_five_minutes_with_the_true_count() -> None:
    c = EventCorrelator()
    results = [c.correlate(facts("same"), float(i), f"web.{i}") for i in range(30)]
    passed = [r for r in results if r is not None]
    assert len(passed) == 25
    assert passed[-1].count == 25
    # The bucket refills at 1/300 per second from the first event on: a whole token
    # again at t = 300 s.
    assert c.correlate(facts("same"), 299.0, "web.x") is None  # counted (31), not written
    after = c.correlate(facts("same"), 301.0, "web.y")
    assert after is not None and after.count == 32 and after.name == "web.0"
