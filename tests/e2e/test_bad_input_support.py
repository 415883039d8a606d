"""Helpers shared by the bad-input and protobuf end-to-end tests (this module has no tests).

Every rejected write is checked twice: the answer (a Kubernetes ``Status`` with the real
server's reason, code and text, or the line kubectl prints from it) and the store
(nothing created, nothing changed).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import HttpResult, Kubectl, Node, kubectl_binaries

pytestmark = pytest.mark.e2e

VERSIONS = kubectl_binaries(min_minor=29)
LATEST = max(VERSIONS, key=lambda v: int(v.split(".")[1]), default="")
NOT_FOUND_PATH = "the server could not find the requested resource"


def kubectl(node: Node, home: Path, version: str = "") -> Kubectl:
    """One installed kubectl (the newest by default) against ``node``, with its own HOME."""
    if not VERSIONS:
        pytest.skip("no versioned kubectl binaries installed")
    return Kubectl(VERSIONS[version or LATEST], node, home)


def new_namespace(node: Node, prefix: str) -> str:
    """A fresh namespace, created through the API."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    res = node.http(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert res.status == 201, res.body
    return name


def status(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A failure ``Status`` body as kube-apiserver sends it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def failure(res: HttpResult) -> dict[str, Any]:
    """The ``Status`` of a failed request, checking it is one and matches the HTTP code."""
    assert res.headers.get("Content-Type", "").startswith("application/json"), res.headers
    body: dict[str, Any] = json.loads(res.body)
    assert body.get("kind") == "Status", body
    assert body.get("code") == res.status, body
    return body


def names(node: Node, path: str) -> list[str]:
    """The names in a list response."""
    res = node.http("GET", path)
    assert res.status == 200, res.body
    return sorted(item["metadata"]["name"] for item in res.json()["items"])


def get(node: Node, path: str) -> dict[str, Any]:
    res = node.http("GET", path)
    assert res.status == 200, res.body
    obj: dict[str, Any] = res.json()
    return obj


def missing(node: Node, path: str) -> bool:
    """Whether ``path`` names no object (a 404 NotFound Status)."""
    res = node.http("GET", path)
    return res.status == 404 and failure(res)["reason"] == "NotFound"


def configmap(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}


def pod(name: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": "busybox", **container}]},
    }
