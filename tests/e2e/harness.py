"""Real nodes and real kubectl binaries for the end-to-end tests.

A ``Node`` is a ``kubeproc up --detach`` with its own data dir and port, stopped by that
data dir in teardown. ``Kubectl`` runs one installed kubectl binary against it with its
own HOME, so discovery caches never leak between tests or versions.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KUBEPROC = [sys.executable, "-m", "kubeproc"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubectl_binaries(min_minor: int = 29) -> dict[str, Path]:
    """The versioned kubectl binaries installed beside the one on PATH: {"1.31": path}."""
    found: dict[str, Path] = {}
    wrapper = shutil.which("kubectl")
    if wrapper is None:
        return found
    for path in sorted(Path(os.path.realpath(wrapper)).parent.glob("kubectl.1.*")):
        m = re.fullmatch(r"kubectl\.(1\.(\d+))", path.name)
        if m and int(m.group(2)) >= min_minor and os.access(path, os.X_OK):
            found[m.group(1)] = path
    return found


def squash(text: str) -> str:
    """Collapse runs of spaces: kubectl's column alignment depends on the widest key."""
    return re.sub(r"[ \t]+", " ", text)


def wait_for(
    condition: Callable[[], Any],
    timeout: float = 20.0,
    interval: float = 0.1,
    what: str = "condition",
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Result:
    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Node:
    def __init__(self, base: Path, port: int | None = None) -> None:
        self.data_dir = base / "data"
        self.port = port or free_port()
        self.home = base / "home"
        self.home.mkdir(parents=True, exist_ok=True)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def cli(self, *args: str, timeout: float = 90) -> Result:
        """Run ``kubeproc`` for this node; ``up`` gets this node's own CIDRs unless given."""
        if args and args[0] == "up":
            if "--pod-cidr" not in args:
                args = (*args, "--pod-cidr", self.pod_cidr)
            if "--service-cidr" not in args:
                args = (*args, "--service-cidr", self.service_cidr)
        proc = subprocess.run(
            [*KUBEPROC, *args, "--data-dir", str(self.data_dir), "--port", str(self.port)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "HOME": str(self.home)},
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    @property
    def pod_cidr(self) -> str:
        """A /26 of 10.128.0.0/9 picked by the port: unique among nodes alive at once."""
        return str(ipaddress.ip_network("10.128.0.0/9").network_address + self.port * 64) + "/26"

    @property
    def service_cidr(self) -> str:
        """A /26 of 10.64.0.0/10 picked by the port."""
        return str(ipaddress.ip_network("10.64.0.0/10").network_address + self.port * 64) + "/26"

    def up(self, *flags: str) -> Result:
        """``kubeproc up --detach`` with this node's CIDRs and short test timings.

        The drain at ``down`` is cut at 5 s: pods of ``sleep`` (PID 1 ignores SIGTERM)
        would otherwise hold every module's teardown for their 30 s grace period. A test
        about shutdown passes its own ``--shutdown-grace-period`` (the last one counts).
        """
        return self.cli(
            "up",
            "--detach",
            "--shutdown-grace-period",
            "5",
            "--pod-cidr",
            self.pod_cidr,
            "--service-cidr",
            self.service_cidr,
            "--crashloop-backoff-initial",
            "1",
            "--crashloop-backoff-max",
            "4",
            *flags,
        )

    def down(self) -> Result:
        return self.cli("down")

    def token(self) -> str:
        return (self.data_dir / "pki" / "token").read_text().strip()

    def http(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        *,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
        token: str | None = "",
        timeout: float = 30,
    ) -> HttpResult:
        """One raw HTTPS request to the node (token: "" = the node's, None = no header)."""
        ctx = ssl.create_default_context(cafile=str(self.data_dir / "pki" / "ca.crt"))
        data: bytes | None
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.port}{path}", data=data, method=method
        )
        if token is not None:
            req.add_header("Authorization", f"Bearer {token or self.token()}")
        if data is not None and content_type is not None:
            req.add_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
                return HttpResult(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return HttpResult(err.code, dict(err.headers), err.read())


class Kubectl:
    def __init__(self, binary: Path, node: Node, home: Path) -> None:
        self.binary = binary
        self.node = node
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> Result:
        proc = subprocess.run(
            [str(self.binary), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={
                **os.environ,
                "HOME": str(self.home),
                "KUBECONFIG": str(self.node.kubeconfig),
                **(env or {}),
            },
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, stdin: str | None = None, **kw: Any) -> Result:
        res = self(*args, stdin=stdin, **kw)
        assert res.rc == 0, f"kubectl {' '.join(args)} failed rc={res.rc}\n{res.err}\n{res.out}"
        return res
