"""Watch semantics against a real node: raw ``?watch=true`` streams and ``kubectl get -w``.

resourceVersion rules, selector transitions, bookmarks, timeouts, Table events, a watch from
a compacted revision and a watcher too slow to keep up. Each test has its own namespace.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from urllib.parse import quote

import pytest

from kubeproc.storage import SqliteStore
from tests.e2e.harness import Kubectl, Node
from tests.e2e.test_api_support import (
    KubectlWatch,
    Watch,
    bound_pod,
    configmap,
    deleting,
    kubectl_for,
    merge_patch,
    new_namespace,
    ok,
)

pytestmark = pytest.mark.e2e

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


def _list_rv(node: Node, base: str) -> str:
    return str(ok(node.http("GET", base))["metadata"]["resourceVersion"])


def _summary(event: dict[str, object]) -> tuple[object, object]:
    obj = event["object"]
    assert isinstance(obj, dict)
    return event["type"], obj["metadata"]["name"]


def test_watch_from_a_list_version_sends_only_newer_events(node: Node) -> None:
    """A watch from a list's resourceVersion streams only later changes, in order, as NDJSON."""
    ns = new_namespace(node, "newer")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    ok(node.http("POST", base, configmap("a")), 201)
    ok(node.http("POST", base, configmap("b")), 201)
    rv = _list_rv(node, base)
    with Watch(node, f"{base}?watch=true&resourceVersion={rv}") as w:
        assert w.status == 200
        assert w.headers["Transfer-Encoding"] == "chunked"
        assert w.headers["Content-Type"].startswith("application/json")
        modified = ok(merge_patch(node, f"{base}/a", {"data": {"k": "v"}}))
        ok(node.http("POST", base, configmap("c")), 201)
        deleted = ok(node.http("DELETE", f"{base}/b"))
        events = [w.next(), w.next(), w.next()]
    assert [_summary(e) for e in events] == [("MODIFIED", "a"), ("ADDED", "c"), ("DELETED", "b")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert int(rv) < rvs[0] < rvs[1] < rvs[2]
    assert rvs[0] == int(modified["metadata"]["resourceVersion"])
    assert rvs[2] == int(deleted["metadata"]["resourceVersion"])
    assert events[0]["object"]["data"] == {"k": "v"}


@pytest.mark.parametrize("version", ["resourceVersion=0&", ""], ids=["rv0", "no-rv"])
def test_watch_without_a_version_starts_with_the_current_objects(node: Node, version: str) -> None:
    """resourceVersion 0 or none: a synthetic ADDED per current object, then the changes."""
    ns = new_namespace(node, "initial")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    ok(node.http("POST", base, configmap("a")), 201)
    ok(node.http("POST", base, configmap("b")), 201)
    with Watch(node, f"{base}?{version}watch=true") as w:
        first = {_summary(w.next()), _summary(w.next())}
        assert first == {("ADDED", "a"), ("ADDED", "b")}
        ok(merge_patch(node, f"{base}/a", {"data": {"k": "v"}}))
        assert _summary(w.next()) == ("MODIFIED", "a")


def test_label_selector_watch_sees_objects_move_in_and_out(node: Node) -> None:
    """A label change moving an object out of the selector is DELETED, into it ADDED."""
    ns = new_namespace(node, "labels")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    ok(node.http("POST", base, configmap("x", app="web")), 201)
    ok(node.http("POST", base, configmap("y", app="db")), 201)
    rv = _list_rv(node, base)
    with Watch(node, f"{base}?watch=true&labelSelector=app%3Dweb&resourceVersion={rv}") as w:
        moved_out = ok(merge_patch(node, f"{base}/x", {"metadata": {"labels": {"app": "db"}}}))
        out = w.next()
        assert _summary(out) == ("DELETED", "x")
        # The last state the watcher saw, at the revision of the change that moved it out.
        assert out["object"]["metadata"]["labels"] == {"app": "web"}
        assert (
            out["object"]["metadata"]["resourceVersion"]
            == (moved_out["metadata"]["resourceVersion"])
        )
        ok(merge_patch(node, f"{base}/y", {"metadata": {"labels": {"app": "web"}}}))
        moved_in = w.next()
        assert _summary(moved_in) == ("ADDED", "y")
        assert moved_in["object"]["metadata"]["labels"] == {"app": "web"}
        ok(merge_patch(node, f"{base}/y", {"data": {"k": "v"}}))
        assert _summary(w.next()) == ("MODIFIED", "y")
        ok(merge_patch(node, f"{base}/x", {"data": {"k": "v"}}))  # outside: not sent
        ok(node.http("POST", base, configmap("z", app="web")), 201)
        assert _summary(w.next()) == ("ADDED", "z")
        ok(node.http("DELETE", f"{base}/y"))
        assert _summary(w.next()) == ("DELETED", "y")


def test_field_selector_watch_follows_one_name(node: Node) -> None:
    """fieldSelector=metadata.name=N sends events about N only."""
    ns = new_namespace(node, "fields")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    ok(node.http("POST", base, configmap("one")), 201)
    ok(node.http("POST", base, configmap("two")), 201)
    rv = _list_rv(node, base)
    selector = quote("metadata.name=one")
    with Watch(node, f"{base}?watch=true&fieldSelector={selector}&resourceVersion={rv}") as w:
        ok(merge_patch(node, f"{base}/two", {"data": {"k": "v"}}))
        ok(merge_patch(node, f"{base}/one", {"data": {"k": "v"}}))
        assert _summary(w.next()) == ("MODIFIED", "one")
        ok(node.http("DELETE", f"{base}/two"))
        ok(node.http("DELETE", f"{base}/one"))
        assert _summary(w.next()) == ("DELETED", "one")


def test_bookmarks_only_when_allowed_and_timeout_ends_the_stream(node: Node) -> None:
    """BOOKMARK events come only with allowWatchBookmarks=true; timeoutSeconds ends both."""
    ns = new_namespace(node, "bookmarks")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    rv = _list_rv(node, base)
    query = f"watch=true&timeoutSeconds=2&resourceVersion={rv}"
    started = time.monotonic()
    with (
        Watch(node, f"{base}?{query}&allowWatchBookmarks=true") as marked,
        Watch(node, f"{base}?{query}") as plain,
    ):
        created = ok(node.http("POST", base, configmap("a")), 201)
        with_marks = marked.rest(timeout=15)
        without = plain.rest(timeout=15)
    assert time.monotonic() - started < 15
    assert [e["type"] for e in without] == ["ADDED"]
    assert [e["type"] for e in with_marks] == ["ADDED", "BOOKMARK"]
    bookmark = with_marks[-1]["object"]
    assert bookmark["kind"] == "ConfigMap"
    assert bookmark["apiVersion"] == "v1"
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(
        created["metadata"]["resourceVersion"]
    )


def test_timeout_zero_means_no_timeout(node: Node) -> None:
    """timeoutSeconds=0 asks for the server's default, not a stream that ends at once."""
    ns = new_namespace(node, "notimeout")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    rv = _list_rv(node, base)
    with Watch(node, f"{base}?watch=true&timeoutSeconds=0&resourceVersion={rv}") as w:
        ok(node.http("POST", base, configmap("a")), 201)
        assert _summary(w.next()) == ("ADDED", "a")


def test_table_watch_sends_one_row_per_event(node: Node) -> None:
    """A watch asking for Tables gets one Table with exactly one row per event."""
    ns = new_namespace(node, "table")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    rv = _list_rv(node, base)
    with Watch(node, f"{base}?watch=true&resourceVersion={rv}", accept=TABLE) as w:
        ok(node.http("POST", base, configmap("a")), 201)
        ok(merge_patch(node, f"{base}/a", {"data": {"k": "v", "l": "w"}}))
        ok(node.http("DELETE", f"{base}/a"))
        events = [w.next(), w.next(), w.next()]
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    for event in events:
        table = event["object"]
        assert table["kind"] == "Table"
        assert len(table["rows"]) == 1
        assert table["rows"][0]["cells"][0] == "a"
    names = [c["name"] for c in events[0]["object"]["columnDefinitions"]]
    assert names[:2] == ["Name", "Data"]
    assert events[1]["object"]["rows"][0]["cells"][1] == 2


def test_kubectl_get_watch_prints_a_row_per_change(node: Node, kubectl: Kubectl) -> None:
    """kubectl get -w lists, then prints one row per change and no bogus rows."""
    ns = new_namespace(node, "getw")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    ok(node.http("POST", base, configmap("early")), 201)
    with KubectlWatch(kubectl, "get", "configmaps", "-n", ns, "-w", "--output-watch-events") as w:
        assert w.line(lambda cols: cols[:1] == ["EVENT"]) == ["EVENT", "NAME", "DATA", "AGE"]
        assert w.line(lambda cols: True)[:3] == ["ADDED", "early", "0"]
        ok(node.http("POST", base, configmap("late")), 201)
        assert w.line(lambda cols: True)[:3] == ["ADDED", "late", "0"]
        ok(merge_patch(node, f"{base}/late", {"data": {"k": "v"}}))
        assert w.line(lambda cols: True)[:3] == ["MODIFIED", "late", "1"]
        ok(node.http("DELETE", f"{base}/early"))
        assert w.line(lambda cols: True)[:3] == ["DELETED", "early", "0"]
    assert not any("<unknown>" in line for line in w.lines), w.lines


def test_kubectl_get_named_watch_prints_the_object_then_its_changes(
    node: Node, kubectl: Kubectl
) -> None:
    """kubectl get pod NAME -w prints the current row, then each change to that pod."""
    ns = new_namespace(node, "namedw")
    bound_pod(node, ns, "web")
    bound_pod(node, ns, "other")
    path = f"/api/v1/namespaces/{ns}/pods/web"
    pokes = iter(range(1000))
    with KubectlWatch(kubectl, "get", "pod", "web", "-n", ns, "-w") as w:
        assert w.line(lambda cols: cols[:1] == ["NAME"])[:3] == ["NAME", "READY", "STATUS"]
        assert w.line(lambda cols: True)[:3] == ["web", "0/1", "Pending"]
        w.line_after(
            lambda: ok(
                merge_patch(node, path, {"metadata": {"labels": {"poke": str(next(pokes))}}})
            ),
            lambda cols: cols[:3] == ["web", "0/1", "Pending"],
        )
        ok(node.http("DELETE", f"/api/v1/namespaces/{ns}/pods/other", {"gracePeriodSeconds": 0}))
        deleting(node.http("DELETE", path, {"gracePeriodSeconds": 30}))
        assert w.line(lambda cols: cols[2:3] == ["Terminating"])[:3] == [
            "web",
            "0/1",
            "Terminating",
        ]
    assert all(line.split()[0] in ("NAME", "web") for line in w.lines), w.lines


def test_watch_from_a_compacted_revision_is_expired(fresh_node: Node) -> None:
    """A watch from before the compacted revision gets 200 then one ERROR event, 410 Expired."""
    node = fresh_node
    assert node.up().rc == 0
    ns = new_namespace(node, "compacted")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    ok(node.http("POST", base, configmap("a")), 201)
    ok(node.http("POST", base, configmap("b")), 201)
    old_rv = _list_rv(node, base)
    token = ok(node.http("GET", f"{base}?limit=1"))["metadata"]["continue"]
    for i in range(3):
        ok(merge_patch(node, f"{base}/a", {"data": {"i": str(i)}}))
    assert node.down().rc == 0
    # No API compacts on demand: compact the stopped node's store as its timer would.
    with SqliteStore.open(node.data_dir / "state.db") as store:
        compacted = store.compact(0)
    assert compacted > int(old_rv)
    assert node.up().rc == 0

    with Watch(node, f"{base}?watch=true&resourceVersion={old_rv}") as w:
        assert w.status == 200
        events = w.rest(timeout=10)
    assert events == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {old_rv} ({compacted})",
                "reason": "Expired",
                "code": 410,
            },
        }
    ]
    expired = node.http("GET", f"{base}?limit=1&continue={quote(token)}")
    assert expired.status == 410
    assert expired.json()["reason"] == "Expired"
    rv = _list_rv(node, base)
    with Watch(node, f"{base}?watch=true&resourceVersion={rv}") as w:
        ok(merge_patch(node, f"{base}/b", {"data": {"k": "v"}}))
        assert _summary(w.next()) == ("MODIFIED", "b")


def _dechunk(raw: bytes) -> list[dict[str, object]]:
    """The NDJSON events of a raw chunked HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    data = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        data += body[:size]
        body = body[size + 2 :]
    return [json.loads(line) for line in bytes(data).splitlines() if line.strip()]


def test_slow_watcher_is_ended_with_410_so_it_relists(node: Node) -> None:
    """A watcher that stops reading is cut off: its stream ends with an ERROR, 410 Expired."""
    ns = new_namespace(node, "slow")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    ok(node.http("POST", base, configmap("big")), 201)
    ok(node.http("POST", base, configmap("small")), 201)
    rv = _list_rv(node, base)
    ctx = ssl.create_default_context(cafile=str(node.data_dir / "pki" / "ca.crt"))
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader that barely reads
    raw.connect(("127.0.0.1", node.port))
    watcher = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    writer = http.client.HTTPSConnection("127.0.0.1", node.port, context=ctx, timeout=30)
    headers = {"Authorization": f"Bearer {node.token()}"}
    try:
        watcher.sendall(
            f"GET {base}?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {node.token()}\r\n\r\n".encode()
        )

        def patch(name: str, data: dict[str, str]) -> None:
            body = json.dumps({"data": data})
            writer.request(
                "PATCH",
                f"{base}/{name}",
                body,
                {**headers, "Content-Type": "application/merge-patch+json"},
            )
            resp = writer.getresponse()
            resp.read()
            assert resp.status == 200

        # Big events fill the socket buffers (4 MiB at most); then the server's queue and
        # the store's per-watcher buffer (256 + 1000 events) overflow.
        for i in range(8):
            patch("big", {"blob": str(i) * 900_000})
        writes = 1400
        for i in range(writes):
            patch("small", {"i": str(i)})
        watcher.settimeout(30)
        received = bytearray()
        while not received.endswith(b"\r\n0\r\n\r\n"):
            chunk = watcher.recv(1 << 20)
            if not chunk:
                break
            received += chunk
    finally:
        writer.close()
        watcher.close()
    events = _dechunk(bytes(received))
    last = events[-1]
    assert last["type"] == "ERROR", [e["type"] for e in events[-3:]]
    status = last["object"]
    assert isinstance(status, dict)
    assert (status["code"], status["reason"]) == (410, "Expired")
    delivered = events[:-1]
    assert {e["type"] for e in delivered} == {"MODIFIED"}
    assert len(delivered) < 8 + writes
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in delivered]  # type: ignore[index]
    assert rvs == sorted(set(rvs))
