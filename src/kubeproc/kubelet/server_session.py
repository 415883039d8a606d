"""One exec or attach session on the kubelet, over the WebSocket channel protocol.

Owns the session's tasks and its end. Client frames: channel 0 is stdin, 4 a resize, and
``[255, 0]`` (v5) the end of stdin; the kubelet sends channel 1 (stdout), 2 (stderr) and
finally one ``Status`` on channel 3, then closes the WebSocket.

Exec runs the command through the runtime's ``exec_session``: its output is pumped while
the client's frames are applied, the status says ``Success`` or ``NonZeroExitCode`` with
the exit code (kubectl exits with it), and a client that goes away kills the command.

Attach has no runtime call to lean on: what a container prints reaches the kubelet only
through its CRI log, so attach follows the log from its current end, one reader per
stream (so stdout and stderr stay apart), until the container exits. Input is not
delivered: the runtimes do not keep a container's stdin open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from kubeproc.api.errors import InternalError
from kubeproc.api.remotecommand import (
    Channel,
    StreamOptions,
    encode_status,
    exit_status,
    failure_status,
    frame,
    parse_resize,
    success_status,
)
from kubeproc.kubelet.locator import PodContainers
from kubeproc.kubelet.logs import LogOptions, Stream, read_logs
from kubeproc.kubelet.runtime.types import ContainerRuntimeError, ExecSession, Runtime
from kubeproc.kubelet.server_logs import close_iterator

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0


@dataclass(frozen=True)
class PendingSession:
    """A checked exec or attach request, waiting for its stream."""

    kind: str
    namespace: str
    pod: str
    container: str
    container_id: str
    log_path: str
    argv: tuple[str, ...]
    options: StreamOptions


async def _finish(ws: web.WebSocketResponse, status: Mapping[str, Any]) -> None:
    """Send the status on channel 3 and close; a client already gone is not an error."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_bytes(frame(Channel.ERROR, encode_status(status)))
    with contextlib.suppress(ConnectionError, RuntimeError, TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await ws.close()


async def _pump(
    ws: web.WebSocketResponse, source: AsyncIterator[bytes], channel: Channel | None
) -> None:
    """Copy output to a channel; keep draining (and drop it) once the client is gone."""
    async for chunk in source:
        if channel is None or not chunk:
            continue
        try:
            await ws.send_bytes(frame(channel, chunk))
        except (ConnectionError, RuntimeError):
            channel = None


async def _apply_input(
    ws: web.WebSocketResponse, session: ExecSession | None, *, stdin: bool
) -> None:
    """Apply the client's frames until it closes (stdin and resize go to ``session``)."""
    stdin_open = stdin and session is not None
    while True:
        msg = await ws.receive()
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        if msg.type is not WSMsgType.BINARY or not msg.data or session is None:
            continue
        channel, payload = msg.data[0], msg.data[1:]
        try:
            if channel == Channel.STDIN and stdin_open and payload:
                await session.write_stdin(payload)
            elif channel == Channel.RESIZE:
                size = parse_resize(payload)
                if size is not None:
                    await session.resize(size.width, size.height)
            elif channel == Channel.CLOSE and payload[:1] == bytes((Channel.STDIN,)):
                stdin_open = False
                await session.close_stdin()
        except (ContainerRuntimeError, OSError) as err:
            # The command stopped reading (or exited): drop its input from here on.
            log.debug("exec input dropped: %s", err)
            stdin_open = False


async def serve_exec(ws: web.WebSocketResponse, runtime: Runtime, pending: PendingSession) -> None:
    options = pending.options
    try:
        session = await runtime.exec_session(
            pending.container_id, pending.argv, tty=options.tty, stdin=options.stdin
        )
    except (ContainerRuntimeError, OSError) as err:
        detail = err.message if isinstance(err, ContainerRuntimeError) else str(err)
        text = f"error executing command in container: {detail}"
        failure = InternalError(
            f"Internal error occurred: {text}", details={"causes": [{"message": text}]}
        )
        await _finish(ws, failure_status(failure))
        return
    code = await _run_exec(ws, session, options)
    if code is None:
        return
    await _finish(ws, success_status() if code == 0 else exit_status(code, pending.argv))


async def _run_exec(
    ws: web.WebSocketResponse, session: ExecSession, options: StreamOptions
) -> int | None:
    """The command's exit code, or None if the client left first (the command is killed)."""

    async def outputs_then_exit() -> int:
        async with asyncio.TaskGroup() as pumps:
            pumps.create_task(
                _pump(ws, session.stdout(), Channel.STDOUT if options.stdout else None)
            )
            pumps.create_task(
                _pump(ws, session.stderr(), Channel.STDERR if options.stderr else None)
            )
        return await session.wait()

    finished = False
    try:
        async with asyncio.TaskGroup() as tasks:
            client = tasks.create_task(_apply_input(ws, session, stdin=options.stdin))
            command = tasks.create_task(outputs_then_exit())
            await asyncio.wait({client, command}, return_when=asyncio.FIRST_COMPLETED)
            if command.done():
                client.cancel()
            else:
                command.cancel()
        finished = not command.cancelled()
        return command.result() if finished else None
    finally:
        if not finished:
            await session.kill()


async def serve_attach(
    ws: web.WebSocketResponse, locator: PodContainers, pending: PendingSession
) -> None:
    options = pending.options

    async def exited() -> bool:
        return not locator.is_running(pending.container_id)

    async def follow(stream: Stream) -> AsyncIterator[bytes]:
        # tail_lines=0: only what is written from now on, as an attached terminal sees.
        selected = LogOptions(tail_lines=0, follow=True, stream=stream)
        chunks = read_logs(pending.log_path, selected, container_exited=exited)
        try:
            async for chunk in chunks:
                yield chunk
        except FileNotFoundError:
            return
        finally:
            await close_iterator(chunks)

    async def outputs() -> None:
        async with asyncio.TaskGroup() as pumps:
            out, err = follow(Stream.STDOUT), follow(Stream.STDERR)
            pumps.create_task(_pump(ws, out, Channel.STDOUT if options.stdout else None))
            pumps.create_task(_pump(ws, err, Channel.STDERR if options.stderr else None))

    async with asyncio.TaskGroup() as tasks:
        client = tasks.create_task(_apply_input(ws, None, stdin=False))
        output = tasks.create_task(outputs())
        await asyncio.wait({client, output}, return_when=asyncio.FIRST_COMPLETED)
        ended = output.done()
        (client if ended else output).cancel()
    if ended:
        await _finish(ws, success_status())
