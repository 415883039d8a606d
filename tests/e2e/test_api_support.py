"""Helpers shared by the ``test_api_*`` modules; this module holds no tests of its own.

A ``Watch`` is one raw ``?watch=true`` request and a ``KubectlWatch`` one ``kubectl get -w``
process; each is read line by line by a daemon thread into a queue, so a test can change
objects while it watches. Every read has a deadline and both close in ``__exit__``.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import queue
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from tests.e2e.harness import HttpResult, Kubectl, Node, kubectl_binaries

_names = itertools.count()
_END = object()


def newest_kubectl() -> Path:
    """The kubectl every ``test_api_*`` module drives (the newest; versions do not matter)."""
    binary = kubectl_binaries().get("1.33")
    if binary is None:
        pytest.skip("kubectl 1.33 is not installed")
    return binary


def kubectl_for(node: Node, home: Path) -> Kubectl:
    return Kubectl(newest_kubectl(), node, home)


def new_namespace(node: Node, prefix: str) -> str:
    """Create a namespace of our own for one test and return its name."""
    name = f"{prefix}-{next(_names)}"
    res = node.http("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert res.status == 201, res.body
    return name


def ok(res: HttpResult, status: int = 200) -> dict[str, Any]:
    """The JSON body of a response that must have ``status``."""
    assert res.status == status, (res.status, res.body[:600])
    body: dict[str, Any] = res.json()
    return body


def deleting(res: HttpResult) -> dict[str, Any]:
    """The body of a DELETE that started but did not finish a deletion.

    kube-apiserver answers 200 (202 only for ``orphanDependents: false``); kubeproc answers
    202, which kubectl treats the same, so both are accepted here.
    """
    assert res.status in (200, 202), (res.status, res.body[:600])
    body: dict[str, Any] = res.json()
    assert body["metadata"].get("deletionTimestamp"), body["metadata"]
    return body


def merge_patch(node: Node, path: str, patch: dict[str, Any]) -> HttpResult:
    return node.http("PATCH", path, patch, content_type="application/merge-patch+json")


def gone(node: Node, path: str) -> bool:
    return node.http("GET", path).status == 404


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}}


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
    }


ABSENT_NODE = "node-without-kubelet"


def bound_pod(node: Node, namespace: str, name: str, **labels: str) -> dict[str, Any]:
    """Create a pod bound to a node that has no kubelet, as when a real node is down.

    The API server's own rules (graceful deletion, Terminating, watches) are then seen
    without this node's kubelet acting on the pod; the scheduler leaves bound pods alone.
    """
    body = pod(name, **labels)
    body.setdefault("spec", {})["nodeName"] = ABSENT_NODE
    return ok(node.http("POST", f"/api/v1/namespaces/{namespace}/pods", body), 201)  # type: ignore[no-any-return]


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "it") -> Any:
    """Poll ``condition`` with a deadline; its first truthy value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class _LineReader:
    """Lines from a blocking source, read by a daemon thread, with deadlines."""

    def __init__(self) -> None:
        self._lines: queue.Queue[Any] = queue.Queue()
        self.ended = False

    def start(self, read_lines: Callable[[], Any]) -> None:
        def pump() -> None:
            with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
                for line in read_lines():
                    self._lines.put(line)
            self._lines.put(_END)

        self._thread = threading.Thread(target=pump, daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join(timeout=10)

    def next(self, timeout: float) -> Any:
        """The next line; AssertionError if none comes in time or the source ended."""
        if self.ended:
            raise AssertionError("the stream has ended")
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing arrived within {timeout}s") from None
        if item is _END:
            self.ended = True
            raise AssertionError("the stream ended")
        return item

    def rest(self, timeout: float) -> list[Any]:
        """Every line until the source ends, which it must within ``timeout``."""
        deadline = time.monotonic() + timeout
        out: list[Any] = []
        while not self.ended:
            left = deadline - time.monotonic()
            try:
                item = self._lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"the stream did not end within {timeout}s") from None
            if item is _END:
                self.ended = True
            else:
                out.append(item)
        return out


class Watch:
    """One ``?watch=true`` request; ``next()`` is the next decoded event."""

    def __init__(self, node: Node, path: str, *, accept: str = "application/json") -> None:
        ctx = ssl.create_default_context(cafile=str(node.data_dir / "pki" / "ca.crt"))
        self._conn = http.client.HTTPSConnection("127.0.0.1", node.port, context=ctx, timeout=60)
        self._conn.connect()
        assert self._conn.sock is not None
        self._sock: socket.socket = self._conn.sock
        self._conn.request(
            "GET", path, headers={"Authorization": f"Bearer {node.token()}", "Accept": accept}
        )
        self.response = self._conn.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        self._reader = _LineReader()
        response = self.response
        self._reader.start(lambda: (json.loads(line) for line in response if line.strip()))

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        event: dict[str, Any] = self._reader.next(timeout)
        return event

    def next_of(self, *names: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next event about one of ``names``, skipping events about other objects."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(deadline - time.monotonic(), 0.001))
            if event["object"].get("metadata", {}).get("name") in names:
                return event

    def rest(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The remaining events; the server must end the stream within ``timeout``."""
        events: list[dict[str, Any]] = self._reader.rest(timeout)
        return events

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._reader.join()
        self.response.close()
        self._sock.close()
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class KubectlWatch:
    """``kubectl get ... -w`` running in the background; ``line()`` waits for a line."""

    def __init__(self, kubectl: Kubectl, *args: str) -> None:
        self._proc = subprocess.Popen(
            [str(kubectl.binary), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "HOME": str(kubectl.home),
                "KUBECONFIG": str(kubectl.node.kubeconfig),
            },
        )
        self._reader = _LineReader()
        stdout = self._proc.stdout
        assert stdout is not None
        self._reader.start(lambda: (line.rstrip("\n") for line in stdout))
        self.lines: list[str] = []

    def line(self, match: Callable[[list[str]], bool], timeout: float = 15.0) -> list[str]:
        """The next output line (split into columns) that ``match`` accepts."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                text: str = self._reader.next(max(left, 0.001))
            except AssertionError as err:
                raise AssertionError(f"{err}; output so far: {self.lines}") from None
            self.lines.append(text)
            if match(text.split()):
                return text.split()

    def line_after(
        self, action: Callable[[], object], match: Callable[[list[str]], bool], timeout: float = 15
    ) -> list[str]:
        """Repeat ``action`` until a line ``match`` accepts appears.

        For ``get NAME -w``: kubectl drops the first event of its watch, so a change made
        before that watch is open never shows; repeating it shows when it is.
        """
        deadline = time.monotonic() + timeout
        while True:
            action()
            try:
                return self.line(match, timeout=0.5)
            except AssertionError:
                if time.monotonic() > deadline or self._reader.ended:
                    raise

    def close(self) -> str:
        """Stop kubectl (SIGTERM, then SIGKILL); what it wrote to stderr."""
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join()
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._proc.stdout.close()
        err = self._proc.stderr.read()
        self._proc.stderr.close()
        return err

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
