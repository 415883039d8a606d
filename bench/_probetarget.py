"""The probes bench's far end: one light multi-port server, and the bare prober beside it.

``serve`` listens on ``count`` consecutive loopback ports from ``base`` (one per probed
pod, so every arrival is attributable) in one asyncio loop of ``Protocol``s, no streams:
each accepted connection's arrival time (``time.monotonic``, the system-wide
``CLOCK_MONOTONIC`` the bench reads too) is recorded under its port; a connection that
sends an HTTP request head is answered ``200 ok`` (or ``500`` while its port is flipped)
and closed. A TCP probe sends nothing: its accept is its arrival. A control port takes one
command per line and answers one JSON line:

    take              arrivals per port since the last take, then forgets them
    fail <p,p,...>    those ports answer 500 from now on; {"at": monotonic time}
    fails             per flipped port, when each of its 500s was written

``probe`` is the baseline: a bare asyncio loop making the connections a kubelet probe
makes (linger 0, the same request bytes, ``Connection: close``), one task per port at the
same period, each on its own random phase, for ``duration`` seconds. It does no gating,
no result counting, no status: what remains is the cost of the sockets themselves.

Run as scripts by ``running_target`` / ``running_baseline_prober``; not imported by the
node or by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT = 30.0
STOP_GRACE = 5.0
_LINGER_ABORT = struct.pack("ii", 1, 0)
_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
_FAIL = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail"
_HEAD_LIMIT = 16384


def request_bytes(port: int) -> bytes:
    """What kubeproc's httpGet probe sends for ``host: 127.0.0.1``, ``path: /p/<port>``."""
    return (
        f"GET /p/{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: kube-probe/1.33\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode()


# -- the server ---------------------------------------------------------------------------


class _Target:
    def __init__(self) -> None:
        self.arrivals: dict[int, list[float]] = {}
        self.failing: set[int] = set()
        self.fail_times: dict[int, list[float]] = {}

    def command(self, line: str) -> dict[str, object]:
        verb, _, rest = line.strip().partition(" ")
        if verb == "take":
            taken, self.arrivals = self.arrivals, {}
            return {"arrivals": taken}
        if verb == "fail":
            self.failing |= {int(p) for p in rest.split(",") if p}
            return {"at": time.monotonic()}
        if verb == "fails":
            return {"fail_times": self.fail_times}
        return {"error": f"unknown command {verb!r}"}


class _Probed(asyncio.Protocol):
    """One probe connection: note its arrival; answer a request head, then close."""

    def __init__(self, target: _Target, port: int) -> None:
        self._target = target
        self._port = port
        self._head = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._target.arrivals.setdefault(self._port, []).append(time.monotonic())
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._head += data
        if b"\r\n\r\n" not in self._head and len(self._head) < _HEAD_LIMIT:
            return
        assert self._transport is not None
        if self._port in self._target.failing:
            self._transport.write(_FAIL)
            self._target.fail_times.setdefault(self._port, []).append(time.monotonic())
        else:
            self._transport.write(_OK)
        self._transport.close()


class _Control(asyncio.Protocol):
    def __init__(self, target: _Target) -> None:
        self._target = target
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            answer = self._target.command(line.decode())
            assert self._transport is not None
            self._transport.write(json.dumps(answer).encode() + b"\n")


async def _serve(base: int, count: int, control: int) -> None:
    loop = asyncio.get_running_loop()
    target = _Target()
    servers = [
        await loop.create_server(
            lambda p=port: _Probed(target, p), "127.0.0.1", port, backlog=128, reuse_address=True
        )
        for port in range(base, base + count)
    ]
    servers.append(
        await loop.create_server(lambda: _Control(target), "127.0.0.1", control, backlog=8)
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


# -- the baseline prober ------------------------------------------------------------------


async def _probe_once(port: int, payload: bytes | None, limit: float) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ABORT)
        async with asyncio.timeout(limit):
            await loop.sock_connect(sock, ("127.0.0.1", port))
            if payload is None:
                return
            await loop.sock_sendall(sock, payload)
            got = b""
            while b"\r\n\r\n" not in got or not got.endswith((b"ok", b"fail")):
                chunk = await loop.sock_recv(sock, 4096)
                if not chunk:
                    break
                got += chunk
    except (OSError, TimeoutError):
        pass
    finally:
        sock.close()


async def _probe_port(port: int, http: bool, period: float, until: float) -> None:
    payload = request_bytes(port) if http else None
    loop = asyncio.get_running_loop()
    tick = loop.time() + random.random() * period
    while tick < until:
        await asyncio.sleep(tick - loop.time())
        await _probe_once(port, payload, 1.0)
        tick += period
        now = loop.time()
        if now > tick:  # coalesce missed ticks, as the kubelet's ticker does
            tick += ((now - tick) // period + 1) * period


async def _probe(base: int, count: int, http: bool, period: float, duration: float) -> None:
    until = asyncio.get_running_loop().time() + duration
    async with asyncio.TaskGroup() as tg:
        for port in range(base, base + count):
            tg.create_task(_probe_port(port, http, period, until))


# -- the bench's handles ------------------------------------------------------------------


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"probe target exited rc={proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"probe target not listening after {START_TIMEOUT}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class TargetControl:
    """The bench's side of the control port: one line out, one JSON line back."""

    def __init__(self, port: int, pid: int) -> None:
        self.pid = pid
        self._sock = socket.create_connection(("127.0.0.1", port), 10)
        self._file = self._sock.makefile("rwb")

    def ask(self, line: str) -> dict[str, object]:
        self._file.write(line.encode() + b"\n")
        self._file.flush()
        answer: dict[str, object] = json.loads(self._file.readline())
        return answer

    def take(self) -> dict[int, list[float]]:
        arrivals = self.ask("take")["arrivals"]
        assert isinstance(arrivals, dict)
        return {int(k): v for k, v in arrivals.items()}

    def close(self) -> None:
        self._file.close()
        self._sock.close()


@contextlib.contextmanager
def running_target(base: int, count: int, control: int) -> Iterator[TargetControl]:
    """The server on ``base..base+count-1`` for the block. SIGTERM, grace, SIGKILL."""
    argv = [sys.executable, __file__, "serve", "--base", str(base), "--count", str(count)]
    proc = subprocess.Popen([*argv, "--control", str(control)])
    try:
        _wait_listening(control, proc)
        ctl = TargetControl(control, proc.pid)
        try:
            yield ctl
        finally:
            ctl.close()
    finally:
        _stop(proc)


@contextlib.contextmanager
def running_baseline_prober(
    base: int, count: int, *, http: bool, period: float, duration: float
) -> Iterator[subprocess.Popen[bytes]]:
    """The bare prober for ``duration`` seconds; stopped (if still running) after the block."""
    argv = [sys.executable, __file__, "probe", "--base", str(base), "--count", str(count)]
    argv += ["--period", str(period), "--duration", str(duration)]
    proc = subprocess.Popen([*argv, *(["--http"] if http else [])])
    try:
        yield proc
    finally:
        _stop(proc)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve")
    probe = sub.add_parser("probe")
    for p in (serve, probe):
        p.add_argument("--base", type=int, required=True)
        p.add_argument("--count", type=int, required=True)
    serve.add_argument("--control", type=int, required=True)
    probe.add_argument("--http", action="store_true")
    probe.add_argument("--period", type=float, default=1.0)
    probe.add_argument("--duration", type=float, required=True)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        asyncio.run(_serve(args.base, args.count, args.control))
    else:
        asyncio.run(_probe(args.base, args.count, args.http, args.period, args.duration))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(sys.argv[1:])
