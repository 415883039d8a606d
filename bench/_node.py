"""A real kubeproc node for the benches, and what the benches read from its process.

``running_node`` is ``kubeproc up --detach`` on a fresh data dir and a free loopback port,
always followed by ``kubeproc down --data-dir`` (the data dir is the caller's to remove).
It imports nothing from kubeproc or from tests: the bench drives the node as a user would,
through the CLI, the files in the data dir and the HTTPS API.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UP_TIMEOUT = 120.0
# Longer than ``kubeproc down`` itself takes at worst (60 s of grace, then SIGKILL).
DOWN_TIMEOUT = 90.0
KILL_WAIT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Node:
    data_dir: Path
    port: int

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "pki" / "ca.crt"

    @property
    def cert_file(self) -> Path:
        return self.data_dir / "pki" / "server.crt"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "pki" / "server.key"

    def token(self) -> str:
        return (self.data_dir / "pki" / "token").read_text().strip()

    def pid(self) -> int:
        return int((self.data_dir / "kubeproc.pid").read_text().strip())

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def store_bytes(self) -> int:
        """state.db plus its WAL: what the store occupies on disk right now."""
        return sum(p.stat().st_size for p in self.data_dir.glob("state.db*") if p.is_file())


@contextlib.contextmanager
def running_node(kubeproc: Path, data_dir: Path, extra_args: Sequence[str] = ()) -> Iterator[Node]:
    """A node up on ``data_dir`` for the block; stopped by its data dir whatever happens.

    ``kubeproc down`` sends SIGTERM and, after its own grace, SIGKILL. Should it fail or
    hang, the node's pid (read while the node still holds the data dir) is killed here, so
    no node outlives the bench and its temporary directory.
    """
    node = Node(data_dir, free_port())
    cmd = [str(kubeproc), "up", "--detach", "--data-dir", str(data_dir), "--port", str(node.port)]
    cmd += list(extra_args)
    pid: int | None = None
    try:
        up = subprocess.run(cmd, capture_output=True, text=True, timeout=UP_TIMEOUT, check=False)
        if up.returncode != 0:
            raise RuntimeError(f"kubeproc up failed rc={up.returncode}: {up.stderr.strip()}")
        pid = node.pid()
        yield node
    finally:
        down = [str(kubeproc), "down", "--data-dir", str(data_dir)]
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(down, capture_output=True, timeout=DOWN_TIMEOUT, check=False)
        if pid is not None:
            _kill_if_alive(pid, data_dir)


def _kill_if_alive(pid: int, data_dir: Path) -> None:
    """SIGKILL ``pid`` if it is still this data dir's node, and wait until it is gone."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        if str(data_dir).encode() not in cmdline.read_bytes():
            return  # exited, and the pid was reused
        os.kill(pid, signal.SIGKILL)
    except (FileNotFoundError, ProcessLookupError):
        return
    print(f"kubeproc down did not stop the node; killed pid {pid}", file=sys.stderr)
    deadline = time.monotonic() + KILL_WAIT
    while cmdline.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time ``pid`` has used, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Memory:
    """A process's resident set now and at its peak (VmHWM), in KiB, from /proc."""

    rss_kib: int
    hwm_kib: int

    @classmethod
    def of(cls, pid: int) -> Memory:
        fields: dict[str, int] = {}
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return cls(rss_kib=fields["VmRSS"], hwm_kib=fields["VmHWM"])


def log_problems(node: Node) -> dict[str, int]:
    """The node log's WARNING and ERROR lines, counted by message with numbers blanked."""
    counts: dict[str, int] = {}
    log = node.data_dir / "kubeproc.log"
    if not log.exists():
        return counts
    with log.open(errors="replace") as f:
        for line in f:
            if " WARNING " not in line and " ERROR " not in line:
                continue
            message = re.sub(r"\d+", "N", line.split(" ", 2)[-1].strip())
            counts[message] = counts.get(message, 0) + 1
    return counts


def source_state(repo: Path) -> dict[str, str | int]:
    """The commit the node ran from and how many files under src/ differed from it."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "src")
    return {"commit": git("rev-parse", "HEAD"), "src_files_changed": len(dirty.splitlines())}


def run_header(
    command: str, started: datetime.datetime, load_before: tuple[float, float, float], repo: Path
) -> dict[str, Any]:
    """What every results file opens with: the command, when, the machine, the source."""
    return {
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "loadavg": {"before": load_before, "after": os.getloadavg()},
        "source": source_state(repo),
    }


def write_results(out_dir: Path, name: str, started: datetime.datetime, doc: Any) -> Path:
    """``<out_dir>/<name>-<UTC stamp>.json``, created with its directory, written whole."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{started:%Y%m%dT%H%M%SZ}.json"
    tmp = path.with_suffix(".json.tmp")  # a run cut short leaves no half-written results
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)
    return path
