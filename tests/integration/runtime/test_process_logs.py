"""Process runtime output: CRI logs stay bounded under a flood, and can be followed to the end."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from processkit import Pod, exists, poll_until, process_pod

from kubeproc.kubelet.logs import LogOptions, parse_record, read_logs, rotated_log_paths
from kubeproc.kubelet.runtime.types import ContainerConfig, ContainerPhase

MiB = 1024 * 1024
LINE = "0123456789012345678901234567890123456789"  # 41 bytes with its newline


@pytest.fixture
async def pod(tmp_path: Path) -> AsyncIterator[Pod]:
    async with process_pod(tmp_path) as p:
        yield p


async def test_a_hundred_megabytes_fast_stay_within_the_rotation_limits(tmp_path: Path) -> None:
    """100 MB written as fast as possible: at most max_files files of max_bytes, bounded RSS."""
    async with process_pod(tmp_path, log_max_bytes=MiB, log_max_files=3) as pod:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        cid = await pod.run("sh", "-c", f"yes {LINE} | head -c 100000000")
        status = await pod.wait_exited(cid, within=120)
        elapsed = time.monotonic() - started
        rss_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        assert status.exit_code == 0
        path = pod.log_path()
        files = [path, *rotated_log_paths(path)]
        assert [p.name for p in files] == ["0.log", "0.log.1", "0.log.2"]
        assert all(p.stat().st_size <= MiB for p in files)
        assert sorted(p.name for p in path.parent.iterdir()) == ["0.log", "0.log.1", "0.log.2"]
        last = parse_record(path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[1])
        assert last.content == LINE[: 100_000_000 % 41].encode()  # head cut the last line
        assert not last.partial
        assert rss_growth_kib < 64 * 1024, f"RSS grew {rss_growth_kib} KiB in {elapsed:.1f}s"


async def test_follow_a_running_container_to_its_end(pod: Pod) -> None:
    """kubectl logs -f: lines as they come, and the end once the container has exited."""
    script = "for i in 1 2 3; do echo line $i; sleep 0.1; done; echo bye >&2; printf tail"
    cid = await pod.run("sh", "-c", script)

    async def exited() -> bool:
        status = await pod.runtime.container_status(cid)
        return status.phase is ContainerPhase.EXITED

    async with asyncio.timeout(10):
        await poll_until(lambda: exists(pod.log_path()))
        chunks = read_logs(
            pod.log_path(), LogOptions(follow=True), container_exited=exited, poll_interval=0.02
        )
        out = b"".join([chunk async for chunk in chunks])
    assert out == b"line 1\nline 2\nline 3\nbye\ntail\n"


async def test_tty_output_is_stdout_with_terminal_newlines(pod: Pod) -> None:
    """tty: true: everything is logged as stdout, with the terminal's CRLF line ends."""
    cid = await pod.run("sh", "-c", "echo out; echo err >&2; tty", tty=True)
    await pod.wait_exited(cid)
    records = [parse_record(line) for line in pod.log_path().read_bytes().split(b"\n")[:-1]]
    assert {r.stream.value for r in records} == {"stdout"}
    assert [r.content for r in records][:2] == [b"out\r", b"err\r"]
    assert records[2].content.startswith(b"/dev/pts/")


async def test_no_log_path_discards_output(pod: Pod, tmp_path: Path) -> None:
    """Without a log path the output is read and dropped; the container still runs."""
    cid = await pod.runtime.create_container(
        pod.sandbox_id,
        ContainerConfig(name="quiet", attempt=0, argv=("sh", "-c", "head -c 1000000 /dev/zero")),
    )
    await pod.runtime.start_container(cid)
    assert (await pod.wait_exited(cid)).exit_code == 0
    assert not (tmp_path / "logs" / "quiet").exists()
