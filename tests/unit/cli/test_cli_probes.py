"""``kubeproc probes``: kubeconfig as kubectl reads it, the table, kubectl's error words."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest

from kubeproc.cli.probes import (
    CliError,
    Target,
    fetch,
    kubeconfig_path,
    load_target,
    status_error,
    table,
)

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: k
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: {ca}
users:
- name: k
  user:
    token: secret
contexts:
- name: k
  context:
    cluster: k
    user: k
    namespace: team
current-context: k
"""


def test_kubeconfig_is_found_as_kubectl_finds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """--kubeconfig first, then the first path of $KUBECONFIG, then ~/.kube/config."""
    monkeypatch.setenv("KUBECONFIG", "/a:/b")
    assert kubeconfig_path("/flag") == Path("/flag")
    assert kubeconfig_path(None) == Path("/a")
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", "/home/x")
    assert kubeconfig_path(None) == Path("/home/x/.kube/config")


def test_current_context_gives_server_token_ca_and_namespace(tmp_path: Path) -> None:
    """The embedded CA is decoded; the context's namespace is the default."""
    path = tmp_path / "config"
    path.write_text(KUBECONFIG.format(ca=base64.b64encode(b"PEM").decode()))
    target = load_target(path)
    assert (target.server, target.token, target.ca_pem, target.namespace) == (
        "https://127.0.0.1:6443", "secret", b"PEM", "team",
    )  # fmt: skip
    with pytest.raises(CliError, match=r"^error: stat .*: no such file or directory$"):
        load_target(tmp_path / "missing")


@pytest.mark.parametrize(
    ("code", "body", "line"),
    [
        (404, {"kind": "Status", "reason": "NotFound", "message": 'pods "x" not found'},
         'Error from server (NotFound): pods "x" not found'),
        (500, {"kind": "Status", "message": "error dialing backend"},
         "Error from server: error dialing backend"),
    ],
)  # fmt: skip
def test_errors_read_as_kubectls(code: int, body: dict[str, str], line: str) -> None:
    """A Status becomes ``Error from server (Reason): message``."""
    assert status_error(code, json.dumps(body).encode()) == line


def test_table_merges_probes_oldest_first_with_codes() -> None:
    """Rows from every probe sorted by time; exec codes read ``exit``, HTTP ones ``HTTP``."""
    doc = {
        "probes": [
            {"container": "app", "probe": "readiness", "handler": "exec", "attempts": [
                {"start": "2026-11-21T19:00:02.000100Z", "durationSeconds": 0.004,
                 "result": "failure", "code": 1, "output": "odd\n"},
            ]},
            {"container": "web", "probe": "liveness", "handler": "httpGet", "attempts": [
                {"start": "2026-11-21T19:00:01.500000Z", "durationSeconds": 1.5,
                 "result": "success", "code": 200, "output": "ok"},
            ]},
        ]
    }  # fmt: skip
    assert table(doc).splitlines() == [
        "TIME                       CONTAINER   PROBE       RESULT    LATENCY   DETAIL",
        "2026-11-21T19:00:01.500Z   web         liveness    success   1.50s     HTTP 200: ok",
        "2026-11-21T19:00:02.000Z   app         readiness   failure   4ms       exit 1: odd",
    ]


def test_a_refused_connection_reads_as_kubectls() -> None:
    """Nothing listening: kubectl's one line, no traceback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = Target(f"https://127.0.0.1:{port}", "t", None, "default")
    with pytest.raises(CliError) as err:
        fetch(target, "default", "web", "")
    assert str(err.value) == (
        f"The connection to the server 127.0.0.1:{port} was refused - "
        "did you specify the right host or port?"
    )
