"""Keep a long-lived component running: restart it with back-off when it fails.

A component's bug or a transient API error must not take the node down; the failure is
logged with its traceback once, and the component starts again after a back-off that
doubles up to a minute and starts over once a run has lasted ``reset_after`` seconds.

Cancellation is never swallowed: when the supervising task is cancelled, the
``CancelledError`` propagates from wherever it lands (the component or the back-off
sleep), and so does a failure the cancellation provoked (asyncio's ``TaskGroup`` raises a
child's teardown error instead of the ``CancelledError``): a cancelled supervisor stops.
A ``CancelledError`` the component raises on its own while nobody cancelled the
supervisor (a leaked cancellation from a library) is a failure like any other; left to
propagate, the owning ``TaskGroup`` would count the task as cancelled and the component
would stop for good, silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kubeproc.util.clock import Clock

log = logging.getLogger(__name__)


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    clock: Clock,
    *,
    initial_backoff: float = 0.5,
    max_backoff: float = 60.0,
    reset_after: float = 60.0,
) -> None:
    """Run ``run()`` again and again until cancelled; never returns."""
    backoff = initial_backoff
    while True:
        started = clock.monotonic()
        error: BaseException | None = None
        try:
            await run()
        except asyncio.CancelledError as exc:
            if _cancel_requested():
                raise
            error = exc
        except Exception as exc:
            if _cancel_requested():
                # A TaskGroup cancelled while a child fails raises the failure, not the
                # cancellation; restarting here would swallow the shutdown for good.
                log.debug("component failed while cancelled component=%s", name, exc_info=exc)
                raise asyncio.CancelledError from exc
            error = exc
        if clock.monotonic() - started >= reset_after:
            backoff = initial_backoff
        log.log(
            logging.ERROR if error else logging.WARNING,
            "component %s, restarting component=%s backoff=%.1fs",
            _outcome(error),
            name,
            backoff,
            exc_info=error,
        )
        await clock.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "returned"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled itself"
    return "failed"


def _cancel_requested() -> bool:
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0
