"""The node's exposure: HTTPS on 127.0.0.1 only, a bearer token everywhere but health and
version, and credentials on disk readable by their owner only.
"""

from __future__ import annotations

import json
import socket
import ssl
import stat
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.harness import Node

pytestmark = pytest.mark.e2e

PUBLIC = ["/healthz", "/livez", "/readyz", "/version"]

# Every kind of path the API serves, and some it does not: without the token, all are 401.
PROTECTED: list[tuple[str, str]] = [
    ("GET", "/api"),
    ("GET", "/api/v1"),
    ("GET", "/apis"),
    ("GET", "/apis/apps/v1"),
    ("GET", "/api/v1/pods"),
    ("GET", "/api/v1/namespaces/default/configmaps"),
    ("GET", "/api/v1/namespaces/default/secrets"),
    ("GET", "/api/v1/pods?watch=true"),
    ("GET", "/api/v1/namespaces/default/pods?watch=1&resourceVersion=0"),
    ("GET", "/openapi/v3"),
    ("GET", "/openapi/v3/api/v1"),
    ("GET", "/openapi/v2"),
    ("GET", "/metrics"),
    ("GET", "/no/such/path"),
    ("GET", "/healthz/extra"),
    ("POST", "/api/v1/namespaces/default/configmaps"),
    ("DELETE", "/api/v1/namespaces/default"),
]


def assert_unauthorized(status: int, body: bytes, what: str) -> None:
    assert status == 401, f"{what}: {status} {body[:200]!r}"
    doc: dict[str, Any] = json.loads(body)
    assert doc["kind"] == "Status", what
    assert doc["apiVersion"] == "v1", what
    assert doc["status"] == "Failure", what
    assert doc["reason"] == "Unauthorized", what
    assert doc["code"] == 401, what


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
@pytest.mark.parametrize("token", [None, "wrong-token", ""], ids=["no-token", "wrong", "empty"])
def test_every_path_but_health_and_version_needs_the_token(
    node: Node, method: str, path: str, token: str | None
) -> None:
    """A request without the right bearer token gets a 401 Unauthorized Status, whatever the path."""
    headers = {"Authorization": "Bearer "} if token == "" else None
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sneaky"}}
    res = node.http(
        method,
        path,
        body if method == "POST" else None,
        token=None if token in (None, "") else token,
        headers=headers,
        timeout=10,
    )
    assert_unauthorized(res.status, res.body, f"{method} {path}")


def test_rejected_writes_change_nothing(node: Node) -> None:
    """A create or delete without the token leaves the store as it was."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unauth-write"}}
    node.http("POST", "/api/v1/namespaces/default/configmaps", body, token="wrong")
    assert node.http("GET", "/api/v1/namespaces/default/configmaps/unauth-write").status == 404
    node.http("DELETE", "/api/v1/namespaces/kube-system", token=None)
    assert node.http("GET", "/api/v1/namespaces/kube-system").status == 200


def test_other_schemes_and_look_alikes_are_refused(node: Node) -> None:
    """Basic auth, a token without the Bearer scheme, and a token prefix are all 401."""
    token = node.token()
    for header in (f"Basic {token}", token, f"Bearer {token[:-1]}", f"Bearer {token}x"):
        res = node.http("GET", "/api/v1/pods", token=None, headers={"Authorization": header})
        assert_unauthorized(res.status, res.body, header.replace(token, "<token>"))


@pytest.mark.parametrize("path", PUBLIC)
def test_health_and_version_answer_without_a_token(node: Node, path: str) -> None:
    """/healthz /livez /readyz /version are readable with no token at all."""
    res = node.http("GET", path, token=None)
    assert res.status == 200, res.body
    if path == "/version":
        assert res.json()["gitVersion"].startswith("v1.33")


def test_the_right_token_is_accepted(node: Node) -> None:
    """With the node's token, discovery and resources answer 200."""
    for path in ("/api", "/apis", "/api/v1/pods", "/openapi/v3"):
        assert node.http("GET", path).status == 200, path


def test_the_api_is_https_with_the_generated_ca(node: Node) -> None:
    """The listener speaks TLS with a certificate for 127.0.0.1 signed by DIR/pki/ca.crt only."""
    ca = str(node.data_dir / "pki" / "ca.crt")
    ctx = ssl.create_default_context(cafile=ca)  # verifies the chain and the IP SAN
    with (
        socket.create_connection(("127.0.0.1", node.port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}

    system_only = ssl.create_default_context()
    with pytest.raises(urllib.error.URLError) as err:
        urllib.request.urlopen(f"https://127.0.0.1:{node.port}/version", context=system_only)
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)

    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as plain:
        plain.sendall(b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            answer = plain.recv(4096)
        except OSError:  # reset: the TLS handshake failed, as it should
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 2"), f"plain HTTP was served: {answer[:200]!r}"
    assert b"gitVersion" not in answer


def test_the_api_listens_on_loopback_127_0_0_1_only(node: Node) -> None:
    """Nothing accepts on the node's port at any other address: not 127.0.0.2, not ::1.

    A wildcard listener (0.0.0.0 or [::]) would accept on those too.
    """
    for family, address in ((socket.AF_INET, "127.0.0.2"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            try:
                s.connect((address, node.port))
            except OSError:
                continue
            pytest.fail(f"the node's port {node.port} accepts connections on {address}")


def _mode(path: Any) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_token_and_kubeconfig_are_readable_by_their_owner_only(node: Node) -> None:
    """pki/server.key, pki/ca.key, pki/token and kubeconfig are 0600; pki/ and the data dir 0700."""
    pki = node.data_dir / "pki"
    for private in (pki / "server.key", pki / "ca.key", pki / "token", node.kubeconfig):
        assert _mode(private) == 0o600, f"{private} is {oct(_mode(private))}"
    assert _mode(pki) == 0o700, oct(_mode(pki))
    # The store holds Secrets: the data dir kubeproc created is closed to others as well.
    assert _mode(node.data_dir) == 0o700, oct(_mode(node.data_dir))
    for public in (pki / "ca.crt", pki / "server.crt"):
        assert "PRIVATE KEY" not in public.read_text()
