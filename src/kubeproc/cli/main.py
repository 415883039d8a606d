"""The ``kubeproc`` command: ``up`` (foreground or ``--detach``) and ``down``.

``up --detach`` starts the node as a session leader writing to ``DATA_DIR/kubeproc.log``
and returns 0 only once ``/readyz`` answers; every reason it cannot start (port taken,
data dir not writable, another node on that data dir) is one line on stderr and exit 1.
``down`` stops the node that holds the data dir and returns once it has exited.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from kubeproc.cluster.node import NodeConfig, NodeError, holder_pid, run_node

DEFAULT_PORT = 6443
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0


def default_data_dir() -> Path:
    return Path(os.environ.get("KUBEPROC_DATA_DIR", Path.home() / ".kubeproc"))


def default_node_name() -> str:
    name = socket.gethostname().lower().split(".")[0]
    if re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name):
        return name
    return "kubeproc"


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _config(args: argparse.Namespace) -> NodeConfig:
    return NodeConfig(
        data_dir=Path(args.data_dir).resolve(), port=args.port, node_name=args.node_name
    )


def precheck(config: NodeConfig) -> str | None:
    """Why the node cannot start here, or None."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        probe = config.data_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        return f"data dir {config.data_dir} is not writable: {err.strerror}"
    pid = holder_pid(config)
    if pid is not None:
        suffix = f" (pid {pid})" if pid > 0 else ""
        return f"another kubeproc node is running with data dir {config.data_dir}{suffix}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the listener does: connections of an earlier node in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((config.host, config.port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return f"port {config.port} on {config.host} is already in use"
            return f"cannot listen on {config.host}:{config.port}: {err.strerror}"
    return None


def _readyz(config: NodeConfig) -> bool:
    ca = config.data_dir / "pki" / "ca.crt"
    if not ca.exists():
        return False
    ctx = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(f"{config.server}/readyz", context=ctx, timeout=2) as resp:  # noqa: S310 - our own https URL
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    errors = [ln for ln in text if ln.startswith("error:")]
    return "\n".join(errors[-1:] or text[-lines:])


def up_detached(args: argparse.Namespace, config: NodeConfig) -> int:
    problem = precheck(config)
    if problem:
        return _fail(problem)
    cmd = [
        sys.executable,
        "-m",
        "kubeproc",
        "up",
        "--data-dir",
        str(config.data_dir),
        "--port",
        str(config.port),
        "--node-name",
        config.node_name,
    ]
    if args.verbose:
        cmd.append("-v")
    with config.log_path.open("ab") as log_file:
        child = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            detail = _log_tail(config.log_path)
            return _fail(
                detail.removeprefix("error: ")
                or f"the node exited with code {child.returncode}; see {config.log_path}"
            )
        if _readyz(config):
            print(f"kubeproc node {config.node_name} is up at {config.server} (pid {child.pid})")
            print(f"  export KUBECONFIG={config.kubeconfig_path}")
            return 0
        time.sleep(0.1)
    child.terminate()
    return _fail(
        f"the node did not become ready within {READY_TIMEOUT:.0f}s; see {config.log_path}"
    )


def up_foreground(config: NodeConfig) -> int:
    problem = precheck(config)
    if problem:
        return _fail(problem)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run_node(config)

    try:
        asyncio.run(main())
    except (NodeError, OSError, ExceptionGroup) as err:
        return _fail(_startup_message(err))
    logging.getLogger(__name__).info("node stopped data_dir=%s", config.data_dir)
    return 0


def _startup_message(err: BaseException) -> str:
    """The one line a user sees: the first NodeError or OSError inside task groups."""
    while isinstance(err, BaseExceptionGroup):
        inner = next((e for e in err.exceptions if isinstance(e, NodeError | OSError)), None)
        err = inner or err.exceptions[0]
    if isinstance(err, NodeError):
        return str(err)
    return f"the node stopped: {err}"


def down(config: NodeConfig) -> int:
    pid = holder_pid(config)
    if pid is None:
        print(f"no kubeproc node is running with data dir {config.data_dir}")
        return 0
    if pid <= 0:
        return _fail(f"the node holding {config.data_dir} left no pid file; stop it by hand")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if holder_pid(config) is None:
            print(f"kubeproc node stopped (data dir {config.data_dir})")
            return 0
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while holder_pid(config) is not None and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    print(f"kubeproc node killed after {STOP_TIMEOUT:.0f}s (data dir {config.data_dir})")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kubeproc", description="Kubernetes on one machine.")
    sub = top.add_subparsers(dest="command", required=True)

    def node_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir",
            default=str(default_data_dir()),
            help="where the store, certificates, kubeconfig and logs live",
        )
        p.add_argument("--port", type=int, default=DEFAULT_PORT, help="API server port")
        p.add_argument("--node-name", default=default_node_name(), help="this node's name")
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    up = sub.add_parser("up", help="start the node")
    node_flags(up)
    up.add_argument(
        "--detach", action="store_true", help="run in the background; return once the API is ready"
    )
    dn = sub.add_parser("down", help="stop the node of a data dir")
    node_flags(dn)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not 0 < args.port < 65536:
        return _fail(f"--port must be between 1 and 65535, got {args.port}")
    config = _config(args)
    try:
        if args.command == "up":
            return up_detached(args, config) if args.detach else up_foreground(config)
        return down(config)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
