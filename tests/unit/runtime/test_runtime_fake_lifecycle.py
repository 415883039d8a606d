"""FakeRuntime lifecycle: driven by the test, timed by a FakeClock, shaped like the real ones."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from kubeproc.kubelet.logs import LogOptions, read_logs
from kubeproc.kubelet.runtime.fake import FakeRuntime, RuntimeCall
from kubeproc.kubelet.runtime.types import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_POD_UID,
    ContainerConfig,
    ContainerPhase,
    CreateContainerError,
    NotFoundError,
    SandboxConfig,
    StartContainerError,
)
from kubeproc.util.clock import FakeClock

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def fake(clock: FakeClock) -> FakeRuntime:
    return FakeRuntime(clock)


async def running(fake: FakeRuntime, tmp_path: Path | None = None) -> str:
    sandbox = await fake.run_sandbox(SandboxConfig("uid-1", "web", "default", "web", "/logs"))
    log_path = str(tmp_path / "c.log") if tmp_path else ""
    config = ContainerConfig(name="app", attempt=2, argv=("serve",), log_path=log_path)
    cid = await fake.create_container(sandbox.id, config)
    await fake.start_container(cid)
    return cid


async def test_create_start_exit_with_clock_times_and_labels(
    fake: FakeRuntime, clock: FakeClock
) -> None:
    """Statuses follow created → running → exited, stamped by the clock, labelled."""
    cid = await running(fake)
    status = await fake.container_status(cid)
    assert status.phase is ContainerPhase.RUNNING
    assert status.started_at == START and status.pid is not None
    assert status.labels[LABEL_POD_UID] == "uid-1"
    assert status.labels[LABEL_CONTAINER_NAME] == "app"
    assert status.labels[LABEL_ATTEMPT] == "2"
    await clock.advance(5)
    fake.exit(cid, 0)
    status = await fake.container_status(cid)
    assert (status.phase, status.exit_code, status.reason) == (
        ContainerPhase.EXITED,
        0,
        "Completed",
    )
    assert status.finished_at == START + dt.timedelta(seconds=5)
    fake.exit(cid, 137, "OOMKilled")
    assert (await fake.container_status(cid)).reason == "OOMKilled"


async def test_calls_are_logged(fake: FakeRuntime) -> None:
    """Every call is recorded with its arguments, for assertions on what the kubelet did."""
    cid = await running(fake)
    await fake.stop_container(cid, 30)
    assert [c.method for c in fake.calls] == [
        "run_sandbox",
        "create_container",
        "start_container",
        "stop_container",
    ]
    assert fake.calls_to("stop_container") == [RuntimeCall("stop_container", (cid, 30))]
    assert fake.config(cid).argv == ("serve",)


async def test_queued_failures_hit_the_next_call_only(fake: FakeRuntime) -> None:
    """fail_next_create raises once; the call after succeeds."""
    sandbox = await fake.run_sandbox(SandboxConfig("u", "p", "ns", "p", "/l"))
    fake.fail_next_create(CreateContainerError("no such volume"))
    config = ContainerConfig(name="c", attempt=0, argv=("x",))
    with pytest.raises(CreateContainerError, match="no such volume"):
        await fake.create_container(sandbox.id, config)
    assert await fake.create_container(sandbox.id, config)


async def test_start_error_leaves_the_container_exited_like_containerd(fake: FakeRuntime) -> None:
    """A StartContainerError: start raises, and the status says StartError with 128."""
    sandbox = await fake.run_sandbox(SandboxConfig("u", "p", "ns", "p", "/l"))
    cid = await fake.create_container(sandbox.id, ContainerConfig(name="c", attempt=0, argv=("x",)))
    fake.fail_next_start(StartContainerError('exec: "x": executable file not found in $PATH'))
    with pytest.raises(StartContainerError):
        await fake.start_container(cid)
    status = await fake.container_status(cid)
    assert (status.phase, status.exit_code, status.reason) == (
        ContainerPhase.EXITED,
        128,
        "StartError",
    )
    assert "executable file not found" in status.message
    assert status.started_at is None


@pytest.mark.parametrize(("exit_code", "reason"), [(143, "Error"), (0, "Completed")])
async def test_stop_exits_with_the_configured_code(
    fake: FakeRuntime, exit_code: int, reason: str
) -> None:
    """A container that handles its stop signal exits at once with its code."""
    cid = await running(fake)
    fake.on_stop(cid, exit_code=exit_code)
    await fake.stop_container(cid, 30)
    status = await fake.container_status(cid)
    assert (status.exit_code, status.reason) == (exit_code, reason)


async def test_ignored_stop_signal_holds_stop_for_the_grace_on_the_clock(
    fake: FakeRuntime, clock: FakeClock
) -> None:
    """Ignoring the stop signal: stop returns after the grace period (fake time), with 137."""
    cid = await running(fake)
    fake.on_stop(cid, ignore_signal=True)
    stopping = asyncio.create_task(fake.stop_container(cid, 30))
    await clock.advance(0)  # let the stop start: the grace counts from then
    await clock.advance(29.9)
    assert not stopping.done()
    await clock.advance(0.1)
    async with asyncio.timeout(1):
        await stopping
    status = await fake.container_status(cid)
    assert (status.exit_code, status.finished_at) == (137, START + dt.timedelta(seconds=30))


async def test_exit_during_the_grace_ends_stop_early(fake: FakeRuntime, clock: FakeClock) -> None:
    """If the test makes the container exit during the grace, stop returns with that code."""
    cid = await running(fake)
    fake.on_stop(cid, ignore_signal=True)
    stopping = asyncio.create_task(fake.stop_container(cid, 30))
    await clock.advance(0)
    await clock.advance(1)
    fake.exit(cid, 0)
    async with asyncio.timeout(1):
        await stopping
    assert (await fake.container_status(cid)).exit_code == 0


async def test_zero_grace_is_sigkill(fake: FakeRuntime) -> None:
    """Grace 0: killed at once, 137."""
    cid = await running(fake)
    await fake.stop_container(cid, 0)
    assert (await fake.container_status(cid)).exit_code == 137


async def test_unknown_ids_and_idempotent_removal(fake: FakeRuntime) -> None:
    """Unknown containers raise NotFoundError; removing twice and stopping a sandbox twice is fine."""
    with pytest.raises(NotFoundError):
        await fake.container_status("nope")
    with pytest.raises(NotFoundError):
        await fake.create_container("no-sandbox", ContainerConfig(name="c", attempt=0, argv=("x",)))
    cid = await running(fake)
    status = await fake.container_status(cid)
    await fake.stop_sandbox(status.sandbox_id)
    await fake.stop_sandbox(status.sandbox_id)
    assert (await fake.container_status(cid)).exit_code == 137
    assert not (await fake.list_sandboxes())[0].ready
    await fake.remove_container(cid)
    await fake.remove_container(cid)
    assert await fake.list_containers() == []
    await fake.remove_sandbox(status.sandbox_id)
    assert await fake.list_sandboxes() == []


async def test_write_log_writes_cri_records_stamped_by_the_clock(
    fake: FakeRuntime, clock: FakeClock, tmp_path: Path
) -> None:
    """write_log appends CRI records at the container's log path, read back as kubectl would."""
    cid = await running(fake, tmp_path)
    fake.write_log(cid, b"hello\n")
    await clock.advance(1.5)
    fake.write_log(cid, b"world\n")
    options = LogOptions(timestamps=True)
    out = b"".join([c async for c in read_logs(tmp_path / "c.log", options, now=START)])
    assert out == (b"2026-01-01T00:00:00.000000000Z hello\n2026-01-01T00:00:01.500000000Z world\n")
