"""The ``kubeproc`` command: ``up`` (foreground or ``--detach``) and ``down``.

``up --detach`` starts the node as a session leader writing to ``DATA_DIR/kubeproc.log``
and returns 0 only once ``/readyz`` answers; every reason it cannot start (port taken,
data dir not writable, another node on that data dir) is one line on stderr and exit 1.
``down`` stops the node that holds the data dir and returns once its process has exited
(not merely once the lock is free). A pid reused by another process after the node exited
is told apart by its start time: ``down`` neither waits on it nor SIGKILLs it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from kubeproc.cli import probes, timeline, why
from kubeproc.cluster.datadir import NodeConfig, NodeError, holder_pid, make_data_dir
from kubeproc.cluster.leftovers import left_behind, remove_leftovers

DEFAULT_PORT = 6443
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
MAX_SHUTDOWN_GRACE = 50.0
"""Leaves ``down`` room, within STOP_TIMEOUT, for the purge after a cut drain."""
KILL_TIMEOUT = 10.0


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
        data_dir=Path(args.data_dir).resolve(),
        port=args.port,
        node_name=args.node_name,
        runtime=args.runtime,
        pod_cidr=args.pod_cidr,
        service_cidr=args.service_cidr,
        proxy_mode=args.proxy_mode,
        backoff_initial=args.crashloop_backoff_initial,
        backoff_max=args.crashloop_backoff_max,
        backoff_reset=args.crashloop_backoff_reset,
        shutdown_grace_period=args.shutdown_grace_period,
    )


def node_flag_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the node flags, in one line, or None."""
    if not 0 < args.port < 65536:
        return f"--port must be between 1 and 65535, got {args.port}"
    for flag, value in (("--pod-cidr", args.pod_cidr), ("--service-cidr", args.service_cidr)):
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as err:
            return f"{flag} {value!r} is not a valid CIDR: {err}"
        if net.num_addresses < 16:
            return f"{flag} {value} is too small; give at least a /28"
    pods = ipaddress.ip_network(args.pod_cidr)
    services = ipaddress.ip_network(args.service_cidr)
    if pods.overlaps(services):
        return f"--pod-cidr {pods} overlaps --service-cidr {services}"
    if not 0 < args.crashloop_backoff_initial <= args.crashloop_backoff_max:
        return "--crashloop-backoff-initial must be positive and at most --crashloop-backoff-max"
    if args.crashloop_backoff_reset <= 0:
        return "--crashloop-backoff-reset must be positive"
    if not 0 <= args.shutdown_grace_period <= MAX_SHUTDOWN_GRACE:
        return f"--shutdown-grace-period must be between 0 and {MAX_SHUTDOWN_GRACE:.0f} seconds"
    return None


def precheck(config: NodeConfig) -> str | None:
    """Why the node cannot start here, or None."""
    try:
        make_data_dir(config.data_dir)
        # A uniquely named probe: two ``up``s racing on one data dir must not trip each other.
        with tempfile.TemporaryFile(dir=config.data_dir):
            pass
    except NodeError as err:
        return str(err)
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
    try:
        ctx = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(f"{config.server}/readyz", context=ctx, timeout=2) as resp:  # noqa: S310 - our own https URL
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _log_since(path: Path, offset: int) -> str:
    """The one line that says why the node stopped: its last ``error:`` line, else its last."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    errors = [ln for ln in lines if ln.startswith("error:")]
    return (errors or lines or [""])[-1].removeprefix("error: ")


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM, a grace period, SIGKILL; always reaped."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


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
        "--runtime",
        config.runtime,
        "--pod-cidr",
        config.pod_cidr,
        "--service-cidr",
        config.service_cidr,
        "--proxy-mode",
        config.proxy_mode,
        "--crashloop-backoff-initial",
        str(config.backoff_initial),
        "--crashloop-backoff-max",
        str(config.backoff_max),
        "--crashloop-backoff-reset",
        str(config.backoff_reset),
        "--shutdown-grace-period",
        str(config.shutdown_grace_period),
    ]
    if args.verbose:
        cmd.append("-v")
    with config.log_path.open("ab") as log_file:
        # Only this start's lines explain this start's failure; the log is appended to.
        log_offset = log_file.tell()
        child = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        problem = _await_ready(child, config, log_offset)
    except BaseException:
        _stop_child(child)
        raise
    if problem:
        _stop_child(child)
        return _fail(problem)
    print(f"kubeproc node {config.node_name} is up at {config.server} (pid {child.pid})")
    print(f"  export KUBECONFIG={config.kubeconfig_path}")
    return 0


def _await_ready(child: subprocess.Popen[bytes], config: NodeConfig, log_offset: int) -> str | None:
    """None once our node answers ``/readyz``; else why it never will.

    "Ours": the child holds the data dir. Another ``up`` racing on the same data dir and
    port could otherwise answer for a child that is about to fail.
    """
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            reason = _log_since(config.log_path, log_offset)
            return reason or f"the node exited with code {child.returncode}; see {config.log_path}"
        if holder_pid(config) == child.pid and _readyz(config):
            return None
        time.sleep(0.1)
    return f"the node did not become ready within {READY_TIMEOUT:.0f}s; see {config.log_path}"


def up_foreground(config: NodeConfig) -> int:
    problem = precheck(config)
    if problem:
        return _fail(problem)

    # Here, not at the top: the node's imports take a second that down and the
    # up --detach parent do without.
    from kubeproc.cluster.node import run_node  # noqa: PLC0415

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
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


@contextlib.contextmanager
def _logging_into(path: Path) -> Iterator[None]:
    """Log lines go to the node's log file (the terminal keeps warnings and errors only)."""
    root = logging.getLogger()
    before = [(h, h.level) for h in root.handlers]
    for handler, _ in before:
        handler.setLevel(max(handler.level, logging.WARNING))
    to_file = logging.FileHandler(path)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(to_file)
    try:
        yield
    finally:
        root.removeHandler(to_file)
        to_file.close()
        for handler, level in before:
            handler.setLevel(level)


def down(config: NodeConfig) -> int:
    pid = _holder_named(config)
    if pid is None:
        print(f"no kubeproc node is running with data dir {config.data_dir}")
        return _remove_leftovers(config, "the last one")
    if pid <= 0:
        return _fail(f"the node holding {config.data_dir} left no pid file; stop it by hand")
    started = _start_time(pid)

    def stopped() -> bool:
        # The lock is released before the process is gone: wait for both.
        return holder_pid(config) is None and (started is None or _start_time(pid) != started)

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _poll(stopped, STOP_TIMEOUT):
        print(f"kubeproc node stopped (data dir {config.data_dir})")
        return _remove_leftovers(config, "it")
    if started is not None and _start_time(pid) == started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if _poll(stopped, KILL_TIMEOUT):
        print(f"kubeproc node killed after {STOP_TIMEOUT:.0f}s (data dir {config.data_dir})")
        return _remove_leftovers(config, "it")
    return _fail(f"the node (pid {pid}) did not stop; it still holds {config.data_dir}")


def _remove_leftovers(config: NodeConfig, node: str) -> int:
    """What the stopped node left running (it died, or a container outlived its teardown)
    goes, as its own teardown would have removed it."""
    if not left_behind(config):
        return 0
    try:
        with _logging_into(config.log_path):
            removed = asyncio.run(remove_leftovers(config))
    except NodeError as err:  # a node is starting on it right now, or a container is stuck
        return _fail(str(err))
    if removed:
        print(f"  removed what {node} left running (it did not finish its teardown): its pods,")
        print("  their network namespaces, the bridge, the cgroups and the nftables tables")
    return 0


def _holder_named(config: NodeConfig) -> int | None:
    """``holder_pid``, giving a node that is starting a moment to write its pid file."""
    pid = holder_pid(config)
    deadline = time.monotonic() + 2.0
    while pid is not None and pid <= 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        pid = holder_pid(config)
    return pid


def _start_time(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` while it runs; None once it has exited.

    Comparing start times tells the node apart from a later process given the same pid;
    a zombie (exited, not yet reaped by whoever adopted it) counts as exited.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after "pid (comm)": state is field 3
    if len(fields) < 20 or fields[0] in {"Z", "X"}:
        return None
    return fields[19]  # field 22, starttime


def _poll(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


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
        p.add_argument(
            "--runtime",
            choices=("auto", "oci", "process"),
            default="auto",
            help="oci: runc containers with their own network (needs root and runc, conmon, "
            "CNI plugins); process: plain processes on the host network; auto: oci when possible",
        )
        p.add_argument("--pod-cidr", default="10.244.0.0/16", help="pod IP range")
        p.add_argument("--service-cidr", default="10.96.0.0/16", help="Service cluster IP range")
        p.add_argument(
            "--proxy-mode",
            choices=("auto", "nftables", "userspace"),
            default="auto",
            help="Service proxy: nftables (kernel DNAT, needs the oci runtime); userspace "
            "(an asyncio proxy); auto: nftables with the oci runtime, else userspace",
        )
        p.add_argument(
            "--crashloop-backoff-initial",
            type=float,
            default=10.0,
            help="first CrashLoopBackOff delay in seconds (Kubernetes: 10)",
        )
        p.add_argument(
            "--crashloop-backoff-max",
            type=float,
            default=300.0,
            help="longest CrashLoopBackOff delay in seconds (Kubernetes: 300)",
        )
        p.add_argument(
            "--crashloop-backoff-reset",
            type=float,
            default=600.0,
            help="a container that ran this long starts the back-off over (Kubernetes: 600)",
        )
        p.add_argument(
            "--shutdown-grace-period",
            type=float,
            default=45.0,
            help="on down, the longest pods' grace periods may run before the rest is killed "
            f"(at most {MAX_SHUTDOWN_GRACE:.0f}; the kubelet's shutdownGracePeriod)",
        )
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    up = sub.add_parser("up", help="start the node")
    node_flags(up)
    up.add_argument(
        "--detach", action="store_true", help="run in the background; return once the API is ready"
    )
    dn = sub.add_parser("down", help="stop the node of a data dir")
    node_flags(dn)
    probes.add_parser(sub)
    why.add_parser(sub)
    timeline.add_parser(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "probes":
        return probes.run(args)
    if args.command == "why":
        return why.run(args)
    if args.command == "timeline":
        return timeline.run(args)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    problem = node_flag_problem(args)
    if problem:
        return _fail(problem)
    config = _config(args)
    try:
        if args.command == "up":
            return up_detached(args, config) if args.detach else up_foreground(config)
        return down(config)
    except KeyboardInterrupt:
        return 130
    except OSError as err:  # the data dir or its files unreadable: say so, in one line
        where = f": {err.filename}" if err.filename else ""
        return _fail(f"{err.strerror or err}{where}")


if __name__ == "__main__":
    sys.exit(main())
