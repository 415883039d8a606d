"""The documents against the real kubectl: explain walks them, create -f trusts the server.

A throwaway HTTP server on 127.0.0.1 answers /version, legacy discovery and /openapi/v3
from ``document_bytes`` (and echoes POSTs back as created). Skipped when the versioned
kubectl binaries are not installed.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kubeproc.api.openapi import document_bytes
from kubeproc.api.resources import REGISTRY

KUBECTL = Path("/usr/lib/google-cloud-sdk/bin")


def _resource_list(group: str, version: str) -> dict[str, Any]:
    resources = [
        {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
            "shortNames": list(r.short_names),
        }
        for r in REGISTRY.in_group_version(group, version)
    ]
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "groupVersion": group_version, "resources": resources}


def _discovery(path: str) -> dict[str, Any] | None:
    parts = path.strip("/").split("/")
    if path == "/version":
        return {"major": "1", "minor": "33", "gitVersion": "v1.33.0"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        groups = []
        for g in REGISTRY.groups():
            versions = [
                {"groupVersion": f"{g}/{v}", "version": v} for v in REGISTRY.group_versions(g)
            ]
            groups.append({"name": g, "versions": versions, "preferredVersion": versions[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    if parts[0] == "api" and len(parts) == 2:
        return _resource_list("", parts[1])
    if parts[0] == "apis" and len(parts) == 3:
        return _resource_list(parts[1], parts[2])
    return None


class _Handler(BaseHTTPRequestHandler):
    posts: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/openapi/v3"):
            served = document_bytes(self.path)
            if served is not None:
                return self._reply(200, served[0])
        found = _discovery(path)
        if found is not None:
            return self._reply(200, json.dumps(found).encode())
        return self._reply(
            404, b'{"kind":"Status","apiVersion":"v1","reason":"NotFound","code":404}'
        )

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.posts.append(self.path)
        self._reply(201, body)


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    posts: list[str] = []
    handler = type("Handler", (_Handler,), {"posts": posts})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", posts
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _kubectl(version: str, url: str, home: Path, *args: str) -> str:
    binary = KUBECTL / f"kubectl.{version}"
    if not binary.exists():
        pytest.skip(f"{binary} is not installed")
    done = subprocess.run(
        [str(binary), f"--server={url}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_kubectl_explain_shows_the_probe_fields(
    server: tuple[str, list[str]], tmp_path: Path
) -> None:
    """kubectl 1.33 explain pod.spec.containers.livenessProbe prints <Probe> and its fields."""
    url, _ = server
    out = _kubectl("1.33", url, tmp_path, "explain", "pod.spec.containers.livenessProbe")
    assert "FIELD: livenessProbe <Probe>" in out
    assert "DESCRIPTION:" in out
    for line in (
        "exec\t<ExecAction>",
        "failureThreshold\t<integer>",
        "grpc\t<GRPCAction>",
        "httpGet\t<HTTPGetAction>",
        "initialDelaySeconds\t<integer>",
        "periodSeconds\t<integer>",
        "successThreshold\t<integer>",
        "tcpSocket\t<TCPSocketAction>",
        "terminationGracePeriodSeconds\t<integer>",
        "timeoutSeconds\t<integer>",
    ):
        assert f"  {line}\n" in out
    assert "<no description>" not in out


@pytest.mark.parametrize("version", ["1.29", "1.33"])
def test_kubectl_create_leaves_validation_to_the_server(
    version: str, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    """create -f finds fieldValidation in the documents and sends fieldValidation=Strict."""
    url, posts = server
    manifest = tmp_path / "deploy.json"
    manifest.write_text(
        json.dumps(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                    },
                },
            }
        )
    )
    out = _kubectl(version, url, tmp_path, "create", "-f", str(manifest))
    assert "deployment.apps/web created" in out
    assert len(posts) == 1
    assert posts[0].startswith("/apis/apps/v1/namespaces/default/deployments?")
    assert "fieldValidation=Strict" in posts[0]
