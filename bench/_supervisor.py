"""The supervisord baseline: a private supervisord running the same shell programs as pods.

Installs the Debian package ``supervisor`` if ``supervisord`` is missing (``apt-get install
-y -qq supervisor``), then runs it in the foreground (``nodaemon``) on a config written into
a temporary directory, with its XML-RPC interface on a free 127.0.0.1 port. It never reads or
touches ``/etc/supervisor``. The process is stopped (SIGTERM, grace, SIGKILL, reaped) when
the block ends, whatever happens. Programs are driven through XML-RPC, which is what
``supervisorctl`` itself speaks, so no ``supervisorctl`` interpreter start-up is timed.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import xmlrpc.client
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _node import free_port

START_TIMEOUT = 30.0
STOP_GRACE = 10.0


def ensure_installed() -> bool:
    """True if this call installed supervisor; raises if it cannot be had."""
    if shutil.which("supervisord"):
        return False
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "supervisor"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    # The package's own service is not started here (no init in the container); if it was,
    # it is the system's and this bench does not use it.
    return True


@dataclass(frozen=True)
class Program:
    """One ``[program:x]`` section: a shell command, started only when asked."""

    name: str
    script: str
    autorestart: bool = True


def _config(workdir: Path, port: int, programs: Mapping[str, Program]) -> str:
    lines = [
        "[supervisord]",
        "nodaemon=true",
        f"logfile={workdir / 'supervisord.log'}",
        f"pidfile={workdir / 'supervisord.pid'}",
        f"childlogdir={workdir}",
        "loglevel=warn",
        "",
        "[inet_http_server]",
        f"port=127.0.0.1:{port}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
    ]
    for p in programs.values():
        command = p.script.replace("%", "%%").replace("\n", " ")
        lines += [
            f"[program:{p.name}]",
            f"command=/bin/sh -c '{command}'",
            "autostart=false",
            f"autorestart={'true' if p.autorestart else 'false'}",
            "startsecs=0",
            "startretries=1000",
            "stopwaitsecs=1",
            "stdout_logfile=NONE",
            "stderr_logfile=NONE",
            "",
        ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Supervisor:
    pid: int
    rpc: Any  # xmlrpc ServerProxy: its ``supervisor`` namespace is dynamic


@contextlib.contextmanager
def running_supervisor(workdir: Path, programs: Mapping[str, Program]) -> Iterator[Supervisor]:
    port = free_port()
    conf = workdir / "supervisord.conf"
    conf.write_text(_config(workdir, port, programs))
    proc = subprocess.Popen(
        ["supervisord", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "supervisord.stderr").open("w"),
        cwd=workdir,
    )
    try:
        rpc = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                rpc.supervisor.getState()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("supervisord did not come up") from None
                time.sleep(0.05)
        yield Supervisor(proc.pid, rpc)
    finally:
        proc.terminate()
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_GRACE)
