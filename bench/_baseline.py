"""The baseline: the least an HTTPS server on this machine can do for the same requests.

A trivial aiohttp server, run by the bench as its own process beside the node, with the
node's own certificate and key (the same TLS handshake and cipher cost). It answers every
request with a prebuilt body of the size the bench asks for, so each kubeproc measure
has a twin that differs only in the work kubeproc does: auth, storage, defaulting,
validation, managed fields, encoding, watch fan-out.

    GET   /bytes/{size}         a body of ``size`` bytes
    POST  /bytes/{size}         reads the request body, answers ``size`` bytes, 201
    GET   /watch                a chunked stream of newline-delimited JSON events
    PATCH /poke/{seq}/{size}    reads the body, writes one event line carrying ``seq`` to
                                every open /watch, answers ``size`` bytes

Run as a script by ``running_baseline``; it is not imported by the node or by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from aiohttp import web

START_TIMEOUT = 20.0
STOP_GRACE = 5.0
_WATCH_QUEUE_BOUND = 4096


@lru_cache(maxsize=4)  # a list's size repeats sample after sample; a pod's varies
def _body(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (at least 10)."""
    return b'{"pad":"' + b"x" * max(size - 10, 0) + b'"}'


def _event_line(seq: int, size: int) -> bytes:
    """One watch event shaped like kubeproc's, carrying ``seq`` where a pod's label is."""
    head = {"type": "MODIFIED", "object": {"metadata": {"labels": {"bench-seq": str(seq)}}}}
    text = json.dumps(head, separators=(",", ":"))
    pad = max(size - len(text) - len(',"pad":""') - 1, 0)
    return (text[:-2] + ',"pad":"' + "x" * pad + '"}}').encode() + b"\n"


class _Baseline:
    def __init__(self) -> None:
        self.watchers: set[asyncio.Queue[bytes]] = set()

    async def get_bytes(self, request: web.Request) -> web.Response:
        return web.Response(
            body=_body(int(request.match_info["size"])), content_type="application/json"
        )

    async def post_bytes(self, request: web.Request) -> web.Response:
        await request.read()
        size = int(request.match_info["size"])
        return web.Response(body=_body(size), status=201, content_type="application/json")

    async def poke(self, request: web.Request) -> web.Response:
        await request.read()
        line = _event_line(int(request.match_info["seq"]), int(request.query.get("line", "0")))
        for queue in self.watchers:
            queue.put_nowait(line)
        return web.Response(
            body=_body(int(request.match_info["size"])), content_type="application/json"
        )

    async def watch(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_type = "application/json"
        response.enable_chunked_encoding()
        await response.prepare(request)
        queue: asyncio.Queue[bytes] = asyncio.Queue(_WATCH_QUEUE_BOUND)
        self.watchers.add(queue)
        try:
            while True:
                await response.write(await queue.get())
        finally:
            self.watchers.discard(queue)


def _app() -> web.Application:
    baseline = _Baseline()
    app = web.Application()
    app.router.add_get("/bytes/{size:\\d+}", baseline.get_bytes)
    app.router.add_post("/bytes/{size:\\d+}", baseline.post_bytes)
    app.router.add_patch("/poke/{seq:\\d+}/{size:\\d+}", baseline.poke)
    app.router.add_get("/watch", baseline.watch)
    return app


def _serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="the bench's trivial HTTPS baseline server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    web.run_app(
        _app(), host="127.0.0.1", port=args.port, ssl_context=ctx, print=None, access_log=None
    )


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"baseline server exited rc={proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"baseline server not listening after {START_TIMEOUT}s")


@contextlib.contextmanager
def running_baseline(port: int, cert: Path, key: Path) -> Iterator[int]:
    """The baseline server on ``port`` for the block; yields its pid. SIGTERM, grace, SIGKILL."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--port", str(port), "--cert", str(cert), "--key", str(key)]
    )
    try:
        _wait_listening(port, proc)
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    _serve(sys.argv[1:])
