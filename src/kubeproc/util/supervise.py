"""Keep a long-lived component running: restart it with back-off when it fails.

A component's bug or a transient API error must not take the node down; the failure is
logged with its traceback once, and the component starts again after a back-off that
doubles up to a minute. Cancellation is never swallowed.
"""

from __future__ import annotations

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
) -> None:
    backoff = initial_backoff
    while True:
        started = clock.monotonic()
        try:
            await run()
            log.warning("component returned, restarting component=%s", name)
        except Exception:
            log.exception("component failed, restarting component=%s backoff=%.1fs", name, backoff)
        if clock.monotonic() - started > 60:
            backoff = initial_backoff
        await clock.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)
