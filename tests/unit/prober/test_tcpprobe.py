"""tcpSocket probe handler against real listeners on 127.0.0.1 (spec §3.3, AT-43, AT-51)."""

from __future__ import annotations

import asyncio

from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome
from kubeproc.kubelet.prober.netdial import go_errno_text, join_host_port
from kubeproc.kubelet.prober.tcpprobe import tcp_probe


async def test_accept_and_close_is_healthy() -> None:
    """A server that accepts and closes at once is healthy; the probe sends nothing (AT-51)."""
    received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            received.set_result(await reader.read())
        except ConnectionError:
            received.set_result(b"")
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        outcome = await tcp_probe("127.0.0.1", port, 1.0)
        data = await asyncio.wait_for(received, 2)
    assert outcome == Outcome(HandlerResult.SUCCESS, "")
    assert data == b""


async def test_refused_is_a_failure_with_the_dial_text() -> None:
    """Nothing listening fails with Go's dial error text (AT-43)."""
    outcome = await tcp_probe("127.0.0.1", 1, 1.0)
    assert outcome == Outcome(
        HandlerResult.FAILURE, "dial tcp 127.0.0.1:1: connect: connection refused"
    )


async def test_tcp_probes_leave_no_time_wait() -> None:
    """Closing right after the handshake leaves no TIME_WAIT socket behind."""
    closed = 0
    all_closed = asyncio.Event()

    async def on_connect(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal closed
        writer.close()
        closed += 1
        if closed == 100:
            all_closed.set()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        for _ in range(100):
            assert (await tcp_probe("127.0.0.1", port, 1.0)).result is HandlerResult.SUCCESS
        await asyncio.wait_for(all_closed.wait(), 5)
        proc = await asyncio.create_subprocess_exec(
            *["ss", "-tanH", "state", "time-wait", f"( sport = :{port} or dport = :{port} )"],
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert len(out.splitlines()) <= 2, out


def test_error_texts_are_go_syscall_strings() -> None:
    """errno maps to Go's lower-case syscall strings; IPv6 hosts are bracketed."""
    assert go_errno_text(113) == "no route to host"
    assert go_errno_text(101) == "network is unreachable"
    assert join_host_port("fd00::1", 8080) == "[fd00::1]:8080"
    assert join_host_port("10.1.2.3", 8080) == "10.1.2.3:8080"
