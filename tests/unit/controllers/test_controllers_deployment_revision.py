"""Deployment revisions: template hash, new ReplicaSet lookup, annotations, history cleanup."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubeproc.controllers.deploymentrevision import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    POD_TEMPLATE_HASH,
    REVISION,
    REVISION_HISTORY,
    compute_hash,
    equal_ignore_hash,
    find_new,
    fnv32a,
    history_to_delete,
    last_revision,
    max_revision,
    new_replica_set,
    new_rs_annotations,
    safe_encode,
)

TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
}


def deployment(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "namespace": "ns",
            "uid": "d-uid",
            "annotations": annotations or {},
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": copy.deepcopy(TEMPLATE),
        },
    }


def replica_set(
    name: str,
    *,
    revision: str | None = None,
    replicas: int = 0,
    actual: int = 0,
    created: str = "2026-01-01T00:00:00Z",
    image: str = "busybox:1.36",
) -> dict[str, Any]:
    template = copy.deepcopy(TEMPLATE)
    template["spec"]["containers"][0]["image"] = image
    template["metadata"]["labels"][POD_TEMPLATE_HASH] = name
    annotations = {} if revision is None else {REVISION: revision}
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "annotations": annotations,
            "generation": 1,
        },
        "spec": {"replicas": replicas, "template": template},
        "status": {"replicas": actual, "observedGeneration": 1},
    }


@pytest.mark.parametrize(
    ("data", "want"),
    [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)],
)
def test_fnv32a_matches_the_reference_vectors(data: bytes, want: int) -> None:
    """FNV-1a, 32 bit, as Go's hash/fnv computes it."""
    assert fnv32a(data) == want


def test_safe_encoding_maps_digits_as_upstream() -> None:
    """Decimal digits map to upstream's vowel-free alphabet."""
    assert safe_encode("0123456789") == "456789bcdf"


def test_template_hash_is_stable_and_moves_with_template_and_collisions() -> None:
    """The same template hashes the same; a new image or a collision count changes it."""
    first = compute_hash(TEMPLATE, None)
    assert first == compute_hash(copy.deepcopy(TEMPLATE), None)
    assert set(first) <= set("456789bcdf")
    changed = copy.deepcopy(TEMPLATE)
    changed["spec"]["containers"][0]["image"] = "busybox:1.37"
    assert compute_hash(changed, None) != first
    assert compute_hash(TEMPLATE, 1) not in (first, compute_hash(TEMPLATE, 2))


def test_templates_compare_without_hash_label_nulls_and_empties() -> None:
    """What rollout undo patches back (Go's nulls and empty structs) equals the original."""
    undone = copy.deepcopy(TEMPLATE)
    undone["metadata"]["creationTimestamp"] = None
    undone["metadata"]["labels"][POD_TEMPLATE_HASH] = "abc"
    undone["spec"]["containers"][0]["resources"] = {}
    assert equal_ignore_hash(TEMPLATE, undone)
    undone["spec"]["containers"][0]["image"] = "busybox:1.37"
    assert not equal_ignore_hash(TEMPLATE, undone)


def test_find_new_picks_the_oldest_matching_replica_set() -> None:
    """Among ReplicaSets with the deployment's template the oldest is the new one."""
    sets = [
        replica_set("b", created="2026-01-02T00:00:00Z"),
        replica_set("a", created="2026-01-03T00:00:00Z"),
        replica_set("c", created="2026-01-01T00:00:00Z", image="other"),
    ]
    found = find_new(deployment(), sets)
    assert found is not None and found["metadata"]["name"] == "b"
    assert find_new(deployment(), sets[2:]) is None


@pytest.mark.parametrize(
    ("current", "new_revision", "exists", "want"),
    [
        (
            {},
            1,
            False,
            {REVISION: "1", DESIRED_REPLICAS: "3", MAX_REPLICAS: "4", "team": "a"},
        ),
        ({REVISION: "2"}, 2, True, {REVISION: "2", "team": "a"}),
        ({REVISION: "1"}, 3, True, {REVISION: "3", REVISION_HISTORY: "1", "team": "a"}),
        (
            {REVISION: "3", REVISION_HISTORY: "1"},
            5,
            True,
            {REVISION: "5", REVISION_HISTORY: "1,3", "team": "a"},
        ),
        ({REVISION: "7"}, 5, True, {REVISION: "7", "team": "a"}),
        ({REVISION: "x"}, 5, True, {REVISION: "x"}),
    ],
)
def test_new_replica_set_annotations(
    current: dict[str, str], new_revision: int, exists: bool, want: dict[str, str]
) -> None:
    """Copied deployment annotations, a revision that only rises, history on a revival."""
    d = deployment(
        {"team": "a", "kubectl.kubernetes.io/last-applied-configuration": "{}", REVISION: "9"}
    )
    got = new_rs_annotations(d, current, new_revision, exists=exists, replicas_annotations=(3, 4))
    assert got == want


def test_new_replica_set_body_carries_hash_label_selector_and_owner() -> None:
    """The ReplicaSet is named <deployment>-<hash> and selects its hash."""
    ref = {"kind": "Deployment", "name": "web", "uid": "d-uid", "controller": True}
    body = new_replica_set(
        deployment(), pod_template_hash="5d4f", replicas=1, annotations={}, owner_ref=ref
    )
    assert body["metadata"]["name"] == "web-5d4f"
    assert body["metadata"]["labels"] == {"app": "web", POD_TEMPLATE_HASH: "5d4f"}
    assert body["spec"]["selector"] == {"matchLabels": {"app": "web", POD_TEMPLATE_HASH: "5d4f"}}
    assert body["spec"]["template"]["metadata"]["labels"][POD_TEMPLATE_HASH] == "5d4f"
    assert body["metadata"]["ownerReferences"] == [ref]
    assert TEMPLATE["metadata"]["labels"] == {"app": "web"}, "the deployment is not touched"


def test_history_cleanup_deletes_lowest_revisions_that_are_empty() -> None:
    """Past revisionHistoryLimit, empty settled old ReplicaSets go, lowest revision first."""
    olds = [
        replica_set("r3", revision="3"),
        replica_set("r1", revision="1", replicas=1, actual=1),
        replica_set("r2", revision="2"),
        replica_set("r4", revision="4"),
    ]
    assert [rs["metadata"]["name"] for rs in history_to_delete(olds, 1)] == ["r2", "r3"]
    assert history_to_delete(olds, 4) == []
    assert history_to_delete(olds, None) == []
    unobserved = replica_set("r0", revision="0")
    unobserved["metadata"]["generation"] = 2
    assert history_to_delete([unobserved], 0) == []


def test_max_and_last_revision() -> None:
    """rollout undo's default target is the second highest revision."""
    sets = [replica_set("a", revision="4"), replica_set("b", revision="9"), replica_set("c")]
    assert max_revision(sets) == 9
    assert last_revision(sets) == 4
    assert last_revision([replica_set("a", revision="x")]) == 0
