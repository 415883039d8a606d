"""The resource handlers in-process: which refusal wins, and that refusals store nothing.

kube-apiserver checks a write in a fixed order (media type, size, options, decoding,
namespace admission, validation), and clients see whichever check fails first. These
tests run the real aiohttp application over an in-memory connection and a store in a
temporary directory.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kubeproc.api.errors import NotFound
from kubeproc.api.resources import REGISTRY
from kubeproc.apiserver.app import build_app, status_body
from kubeproc.apiserver.bootstrap import ensure_system_namespaces
from kubeproc.apiserver.handlers import MAX_BODY_BYTES
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.storage import SqliteStore
from kubeproc.util.clock import FakeClock

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    store = SqliteStore.open(tmp_path / "state.db")
    objects = ObjectStore(store, REGISTRY, FakeClock())
    ensure_system_namespaces(objects, REGISTRY)
    app = build_app(objects, REGISTRY, FakeClock(), token=TOKEN)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
    store.close()


async def call(
    client: TestClient[Any, Any],
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    data = io.BytesIO(raw) if raw is not None else None  # large raw bytes make aiohttp warn
    headers = {**AUTH, "Content-Type": content_type}
    async with client.request(method, path, data=data, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def stored(client: TestClient[Any, Any], path: str = CONFIGMAPS) -> list[str]:
    _, body = await call(client, "GET", path)
    return [item["metadata"]["name"] for item in body["items"]]


def configmap(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}


async def test_media_type_is_checked_before_size_and_size_before_decoding(
    client: TestClient[Any, Any],
) -> None:
    """An oversized body in an unreadable type is 415; oversized garbage JSON is 413."""
    huge = b"{" * (MAX_BODY_BYTES + 1)
    code, body = await call(client, "POST", CONFIGMAPS, huge, "text/plain")
    assert (code, body["reason"]) == (415, "UnsupportedMediaType")
    code, body = await call(client, "POST", CONFIGMAPS, huge)
    assert (code, body["message"]) == (413, f"Request entity too large: limit is {MAX_BODY_BYTES}")
    assert await stored(client) == []


async def test_options_are_checked_before_the_body_is_decoded(
    client: TestClient[Any, Any],
) -> None:
    """An unknown fieldValidation is the options' 422 even when the body is not JSON."""
    code, body = await call(client, "POST", CONFIGMAPS + "?fieldValidation=Loose", b"{x")
    assert (code, body["details"]["kind"]) == (422, "CreateOptions")


async def test_namespace_admission_precedes_validation(client: TestClient[Any, Any]) -> None:
    """An invalid object in a missing namespace is the namespace's 404."""
    code, body = await call(
        client, "POST", "/api/v1/namespaces/nope/configmaps", configmap("Bad_Name")
    )
    assert (code, body["message"]) == (404, 'namespaces "nope" not found')
    code, body = await call(client, "POST", CONFIGMAPS, configmap("Bad_Name"))
    assert (code, body["reason"]) == (422, "Invalid")
    assert await stored(client) == []


async def test_decoding_precedes_namespace_admission(client: TestClient[Any, Any]) -> None:
    """A body the decoder refuses is a 400 even in a missing namespace."""
    code, body = await call(
        client, "POST", "/api/v1/namespaces/nope/configmaps", configmap("c", data={"a": 1})
    )
    assert (code, body["reason"]) == (400, "BadRequest")


async def test_server_side_apply_into_a_missing_namespace(client: TestClient[Any, Any]) -> None:
    """Apply creating an object runs the same namespace admission: 404, nothing stored."""
    path = "/api/v1/namespaces/nope/configmaps/c?fieldManager=me"
    code, body = await call(
        client, "PATCH", path, json.dumps(configmap("c")).encode(), "application/apply-patch+yaml"
    )
    assert (code, body["message"]) == (404, 'namespaces "nope" not found')


async def test_unrouted_methods_and_paths(client: TestClient[Any, Any]) -> None:
    """405 and 404 carry empty details, as go-restful's answers do; nothing is written."""
    code, body = await call(client, "POST", "/api/v1/configmaps", configmap("c"))
    assert (code, body["reason"], body["details"]) == (405, "MethodNotAllowed", {})
    code, body = await call(client, "GET", "/api/v1/widgets")
    assert (code, body["reason"], body["details"]) == (404, "NotFound", {})
    assert await stored(client, "/api/v1/configmaps") == []


async def test_openapi_v2_is_an_empty_protobuf_document(client: TestClient[Any, Any]) -> None:
    """kubectl's validation fallback finds a parseable v2 document with no definitions."""
    accept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    async with client.get("/openapi/v2", headers={**AUTH, "Accept": accept}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == (
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        )
        data = await resp.read()
    assert data.startswith(b"\x0a\x032.0\x12")
    assert data.endswith(b"\x42\x00")


def test_status_bodies_omit_empty_detail_fields() -> None:
    """Go's omitempty: empty name/group/kind dropped, empty details kept as {}."""
    assert status_body(NotFound("gone", details={}))["details"] == {}
    body = status_body(NotFound("gone", details={"name": "", "kind": "pods", "causes": []}))
    assert body["details"] == {"kind": "pods"}
    assert list(body)[-1] == "code"
    assert "details" not in status_body(NotFound("gone"))
