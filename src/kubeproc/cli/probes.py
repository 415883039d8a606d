"""``kubeproc probes POD``: a pod's recent probe attempts, read from the API as kubectl would.

Talks only to the API server: ``GET /api/v1/namespaces/{ns}/pods/{pod}/probehistory``
(``apiserver.probehistory`` documents it), with the server, CA and token of a kubeconfig
found as kubectl finds it (``--kubeconfig``, else ``$KUBECONFIG``, else
``~/.kube/config``; its current context's namespace unless ``-n``). Prints one row per
attempt, oldest first, across the pod's probes::

    TIME                       CONTAINER   PROBE       RESULT    LATENCY   DETAIL
    2026-11-21T19:02:03.123Z   app         readiness   failure   4ms       exit 1: odd

or the answer itself with ``-o json``. Failures read as kubectl's do (``Error from server
(NotFound): pods "x" not found``, ``The connection to the server ... was refused``) and
exit 1; never a traceback. The formatting is pure (``table``), the one request thin.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DETAIL_WIDTH = 60
TIMEOUT = 30.0


class CliError(Exception):
    """A failure to report as one line and exit 1."""


@dataclass(frozen=True)
class Target:
    server: str
    token: str
    ca_pem: bytes | None
    namespace: str


def kubeconfig_path(flag: str | None) -> Path:
    if flag:
        return Path(flag)
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), "")
    return Path(first) if first else Path.home() / ".kube" / "config"


def load_target(path: Path) -> Target:
    """The current context's server, token, CA and namespace."""
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise CliError(f"error: stat {path}: no such file or directory") from None
    except (OSError, yaml.YAMLError) as err:
        raise CliError(f"error: loading config file {path!s}: {err}") from None

    def named(kind: str, name: str) -> dict[str, Any]:
        for entry in doc.get(kind + "s") or []:
            if entry.get("name") == name:
                inner: dict[str, Any] = entry.get(kind) or {}
                return inner
        return {}

    current = doc.get("current-context") or ""
    context = named("context", current)
    if not context:
        raise CliError("error: current-context is not set in " + str(path))
    cluster = named("cluster", context.get("cluster", ""))
    user = named("user", context.get("user", ""))
    ca: bytes | None = None
    if cluster.get("certificate-authority-data"):
        ca = base64.b64decode(cluster["certificate-authority-data"])
    elif cluster.get("certificate-authority"):
        ca = Path(cluster["certificate-authority"]).read_bytes()
    server = str(cluster.get("server") or "")
    if not server:
        raise CliError("error: no server found for cluster " + repr(context.get("cluster", "")))
    return Target(server, str(user.get("token") or ""), ca, context.get("namespace") or "default")


def status_error(code: int, body: bytes) -> str:
    """kubectl's words for an error answer: ``Error from server (Reason): message``."""
    try:
        status = json.loads(body)
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        reason, message = status.get("reason") or "", status.get("message") or ""
        return (
            f"Error from server ({reason}): {message}"
            if reason
            else f"Error from server: {message}"
        )
    text = body.decode(errors="replace").strip()
    return f"Error from server: the server responded with the status code {code}: {text}"


def get_json(target: Target, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    """One GET of the API with the kubeconfig's credentials; failures in kubectl's words."""
    url = target.server.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    if not url.startswith(("https://", "http://")):
        raise CliError(f"error: the server {target.server!r} is not an http(s) URL")
    ctx = ssl.create_default_context()
    if target.ca_pem is not None:
        ctx = ssl.create_default_context(cadata=target.ca_pem.decode())
    request = urllib.request.Request(url)  # noqa: S310 - scheme checked just above
    request.add_header("Accept", "application/json")
    if target.token:
        request.add_header("Authorization", f"Bearer {target.token}")
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=TIMEOUT) as resp:  # noqa: S310
            answer: dict[str, Any] = json.loads(resp.read())
            return answer
    except urllib.error.HTTPError as err:
        raise CliError(status_error(err.code, err.read())) from None
    except (urllib.error.URLError, OSError) as err:
        host = urllib.parse.urlsplit(target.server).netloc
        reason = getattr(err, "reason", err)
        if isinstance(reason, ConnectionRefusedError):
            raise CliError(
                f"The connection to the server {host} was refused - "
                "did you specify the right host or port?"
            ) from None
        raise CliError(f"Unable to connect to the server: {reason}") from None
    except ValueError as err:
        raise CliError(f"error: the server sent an answer that is not JSON: {err}") from None


def fetch(target: Target, namespace: str, pod: str, container: str) -> dict[str, Any]:
    """The pod's probe history (of one container, when named)."""
    quote = urllib.parse.quote
    path = f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/probehistory"
    return get_json(target, path, {"container": container} if container else None)


def latency(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.2f}s"


def detail(attempt: dict[str, Any], handler: str) -> str:
    """``exit 1: text`` or ``HTTP 503: text``, on one line, clipped."""
    output = " ".join(str(attempt.get("output", "")).split())
    code = attempt.get("code")
    prefix = ""
    if code is not None:
        prefix = f"HTTP {code}" if handler == "httpGet" else f"exit {code}"
    text = f"{prefix}: {output}" if prefix and output else prefix or output
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 3] + "..."


def table(doc: dict[str, Any]) -> str:
    """The attempts of every probe, oldest first, as kubectl aligns columns."""
    rows: list[tuple[str, ...]] = []
    for probe in doc.get("probes") or []:
        handler = str(probe.get("handler", ""))
        for a in probe.get("attempts") or []:
            start = str(a.get("start", ""))
            shown = start[:23] + "Z" if len(start) > 23 else start
            rows.append(
                (
                    shown,
                    str(probe.get("container", "")),
                    str(probe.get("probe", "")),
                    str(a.get("result", "")),
                    latency(float(a.get("durationSeconds", 0.0))),
                    detail(a, handler),
                )
            )
    rows.sort(key=lambda r: r[0])
    header = ("TIME", "CONTAINER", "PROBE", "RESULT", "LATENCY", "DETAIL")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "   ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()
        for r in [header, *rows]
    ]
    return "\n".join(lines) + "\n"


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "probes", help="show a pod's recent probe attempts (from the API server)"
    )
    p.add_argument("pod", help="the pod's name")
    p.add_argument("-n", "--namespace", default="", help="the pod's namespace")
    p.add_argument("--kubeconfig", default=None, help="path to the kubeconfig file")
    p.add_argument("-c", "--container", default="", help="only this container's probes")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    try:
        target = load_target(kubeconfig_path(args.kubeconfig))
        namespace = args.namespace or target.namespace
        doc = fetch(target, namespace, args.pod, args.container)
    except CliError as err:
        print(str(err), file=sys.stderr)
        return 1
    if args.output == "json":
        sys.stdout.write(json.dumps(doc, indent=4) + "\n")
        return 0
    if not any(p.get("attempts") for p in doc.get("probes") or []):
        print(f'No probe attempts found for pod "{args.pod}" in {namespace} namespace.',
              file=sys.stderr)  # fmt: skip
        return 0
    sys.stdout.write(table(doc))
    return 0
