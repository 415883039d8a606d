"""What ``services.py`` runs beside the node: nginx in the pods, HAProxy, wrk, nft, the API.

- ``ensure_installed`` installs Debian's ``wrk``, ``haproxy`` and ``nginx-light`` with
  ``apt-get install -y -qq --no-install-recommends`` when one is missing, as
  ``scripts/system-packages`` does for the node's own packages (Debian images forbid
  starting services from a package's scripts, so no system nginx or haproxy starts).
- ``nginx_conf``: one config for every pod, read from the host's root; the pid file and
  temporary directories go under the container's private ``/tmp``; ``/ready`` logs its
  answers with the wall-clock time (``$msec``) to ``<out>/<pod>.ready.log`` and answers 500
  while ``<out>/<pod>.unready`` exists, so the bench flips readiness from the host.
- ``running_haproxy``: HAProxy in the foreground on a config written into the run's
  directory (perf-baselines §2: HTTP mode, round-robin, ``option httpchk``, ``inter 1s
  fall 3 rise 2``, one thread), on 127.0.0.1, stopped with SIGTERM, grace, SIGKILL.
- ``wrk``: one bounded run (``-d`` seconds, ``--timeout``), its output parsed.
- ``Api``: a few HTTPS calls with the node's token, nothing imported from kubeproc.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _node import Node, free_port

PACKAGES = {"wrk": "wrk", "haproxy": "haproxy", "nginx": "nginx-light"}
NGINX = "/usr/sbin/nginx"
STOP_GRACE = 5.0


def ensure_installed() -> list[str]:
    """The Debian packages this call installed; raises if one cannot be had."""
    missing = [pkg for tool, pkg in PACKAGES.items() if not _which(tool)]
    if missing:
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
        subprocess.run(cmd, check=True, capture_output=True, timeout=600, env=env)
    return missing


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")


def _nginx(run: str, listen: str, server: str) -> str:
    """One nginx worker in the foreground, its pid and temp files under ``run``."""
    temps = "".join(
        f"    {kind}_temp_path {run}/{folder};\n"
        for kind, folder in (
            ("client_body", "body"),
            ("proxy", "proxy"),
            ("fastcgi", "fastcgi"),
            ("uwsgi", "uwsgi"),
            ("scgi", "scgi"),
        )
    )
    return (
        f"worker_processes 1;\ndaemon off;\npid {run}/nginx.pid;\n"
        "events { worker_connections 4096; }\n"
        "http {\n    access_log off;\n    keepalive_requests 1000000;\n"
        f"{temps}{server}"
        f"    server {{\n        listen {listen} backlog=4096;\n"
    )


_OK = '        location / {{ default_type text/plain; return 200 "ok\\n"; }}\n    }}\n}}\n'


def nginx_conf(out: Path) -> str:
    """nginx for a pod: one worker, a 3-byte answer on / and a flippable /ready on :8080."""
    log_format = "    log_format probe '$msec $status $remote_addr';\n"
    ready = (
        f"        root {out};\n"
        "        location = /ready {\n"
        f"            access_log {out}/$hostname.ready.log probe;\n"
        f'            if (-f {out}/$hostname.unready) {{ return 500 "unready\\n"; }}\n'
        '            return 200 "ready\\n";\n'
        "        }\n"
    )
    # The container's own private /tmp; root, to read the bench's files.
    return "user root;\n" + _nginx("/tmp/nginx", "8080", log_format) + ready + _OK.format()


def host_nginx_conf(run: Path, port: int) -> str:
    """The pods' nginx on the host's loopback: the machine's own ceiling, for reference."""
    return _nginx(str(run), f"127.0.0.1:{port}", "") + _OK.format()


@contextlib.contextmanager
def running_host_nginx(workdir: Path) -> Iterator[int]:
    """nginx on a free 127.0.0.1 port for the block (SIGTERM, grace, SIGKILL); its port."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(host_nginx_conf(workdir, port))
    cmd = [_which("nginx") or NGINX, "-e", "stderr", "-p", str(workdir), "-c", str(conf)]
    with (workdir / "nginx.stderr").open("w") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the host nginx did not start")
                time.sleep(0.05)
            yield port
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_GRACE)


def nginx_command(conf: Path) -> list[str]:
    script = f"mkdir -p /tmp/nginx && exec {NGINX} -e stderr -p /tmp/nginx -c {conf}"
    return ["/bin/sh", "-c", script]


def haproxy_cfg(port: int, sock: Path, backends: Sequence[str]) -> str:
    servers = "\n".join(f"    server s{i} {ip}:8080 check" for i, ip in enumerate(backends))
    return f"""global
    maxconn 8000
    nbthread 1
    stats socket unix@{sock} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:{port}
    default_backend be

backend be
    balance roundrobin
    option httpchk GET /healthz
    default-server inter 1s fall 3 rise 2
{servers}
"""


@dataclass(frozen=True)
class Haproxy:
    pid: int
    port: int
    sock: Path

    def servers_up(self) -> int:
        """How many servers ``show stat`` reports UP."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(str(self.sock))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        rows = [line.split(",") for line in data.decode().splitlines() if line.startswith("be,")]
        return sum(1 for r in rows if r[1] not in ("BACKEND",) and r[17].startswith("UP"))


@contextlib.contextmanager
def running_haproxy(workdir: Path, backends: Sequence[str]) -> Iterator[Haproxy]:
    port, sock = free_port(), workdir / "haproxy.sock"
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(haproxy_cfg(port, sock, backends))
    binary = _which("haproxy") or "haproxy"
    stderr = (workdir / "haproxy.stderr").open("w")
    proc = subprocess.Popen(
        [binary, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=stderr
    )
    try:
        hp = Haproxy(proc.pid, port, sock)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                if hp.servers_up() == len(backends):
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("haproxy did not bring its servers UP")
            time.sleep(0.1)
        yield hp
    finally:
        _stop(proc)
        stderr.close()


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors plus non-2xx answers
    syn_retrans: int  # the host's TcpExt TCPSynRetrans over the run (wrk's and the proxies')
    listen_drops: int  # the host's TcpExt ListenDrops over the run (a full accept queue)


def tcp_ext() -> dict[str, int]:
    """The host network namespace's TcpExt counters (``nstat``'s source)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names.startswith("TcpExt:"):
            return dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=True))
    return {}


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency(out: str, pct: str) -> float:
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    return float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")


def wrk(url: str, *, seconds: float, connections: int, close: bool) -> WrkResult:
    """``wrk -t1 -c<n> -d<s>s --timeout 2s --latency`` (``Connection: close`` if asked)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "2s", "--latency"]
    if close:
        cmd += ["-H", "Connection: close"]
    before = tcp_ext()
    done = subprocess.run(
        [*cmd, url], capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    after = tcp_ext()
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if done.returncode != 0 or rps is None or total is None:
        raise RuntimeError(f"wrk {url} failed rc={done.returncode}: {done.stderr or out}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return WrkResult(
        rps=float(rps.group(1)),
        p50_ms=_latency(out, "50"),
        p99_ms=_latency(out, "99"),
        requests=int(total.group(1)),
        errors=errors,
        syn_retrans=after.get("TCPSynRetrans", 0) - before.get("TCPSynRetrans", 0),
        listen_drops=after.get("ListenDrops", 0) - before.get("ListenDrops", 0),
    )


_DNAT = re.compile(r"dnat to (\d+\.\d+\.\d+\.\d+):8080")


def nft_backends(table: str) -> set[str]:
    """The pod IPs the node's nftables rules send new connections to (port 8080)."""
    out = subprocess.run(
        ["nft", "list", "table", "ip", table], capture_output=True, text=True, check=False
    ).stdout
    return set(_DNAT.findall(out))


def proxy_table(node: Node) -> str:
    for line in (node.data_dir / "kubeproc.log").read_text().splitlines():
        if "service proxy mode=nftables" in line:
            return line.split("table=")[1].split()[0]
    raise RuntimeError("the node runs no nftables proxy")


def proxy_mode(node: Node) -> str | None:
    for line in (node.data_dir / "kubeproc.log").read_text().splitlines():
        if "service proxy mode=" in line:
            return line.split("service proxy mode=")[1].split()[0]
    return None


class Api:
    """JSON over HTTPS to one node with its token; raises on an unexpected status."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._ctx: ssl.SSLContext = node.ssl_context()
        self._token = node.token()

    def call(self, method: str, path: str, body: Any = None, ok: Sequence[int] = (200, 201)) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.node.base_url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self._token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        if status not in ok:
            raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def create(self, path: str, body: Any) -> Any:
        return self.call("POST", path, body)

    def get(self, path: str) -> Any:
        return self.call("GET", path)
