"""The controllers' work queue: dedup, one worker per key, requeue while processing, retry."""

from __future__ import annotations

import asyncio

from kubeproc.api import errors
from kubeproc.controllers.workqueue import RETRY_BASE, WorkQueue, run_workers
from kubeproc.util.clock import FakeClock


async def test_a_waiting_key_is_queued_once() -> None:
    q = WorkQueue(FakeClock())
    for key in ("a", "b", "a", "a"):
        q.add(key)
    assert len(q) == 2
    assert [await q.get(), await q.get()] == ["a", "b"]


async def test_a_key_added_while_processing_comes_back_after_done() -> None:
    q = WorkQueue(FakeClock())
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    assert len(q) == 0  # not handed to a second worker meanwhile
    q.done("a")
    assert len(q) == 1 and await q.get() == "a"


async def test_failures_retry_with_a_doubling_back_off_and_success_forgets() -> None:
    clock = FakeClock()
    q = WorkQueue(clock)
    assert [q.retry("a"), q.retry("a"), q.retry("a")] == [
        RETRY_BASE,
        RETRY_BASE * 2,
        RETRY_BASE * 4,
    ]
    q.forget("a")
    assert q.retry("a") == RETRY_BASE
    q.close()


async def test_run_workers_reconciles_and_retries_api_errors() -> None:
    clock = FakeClock()
    q = WorkQueue(clock, "test")
    seen: list[str] = []

    async def reconcile(key: str) -> None:
        seen.append(key)
        if len(seen) == 1:
            raise errors.Conflict("stale")

    task = asyncio.ensure_future(run_workers(q, reconcile))
    q.add("ns/rs")
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == ["ns/rs"]
    await clock.advance(RETRY_BASE)
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == ["ns/rs", "ns/rs"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
