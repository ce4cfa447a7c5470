"""Stopping the sandbox's background tasks in bounded time.

``asyncio.wait_for(task, t)`` is not a bounded wait: on the timeout it
cancels the task and then waits for it to finish, forever if the task
swallows the cancellation and goes on waiting. ``stop`` gives every task a
grace period together, then cancels what is left a few times with a short
wait each, and gives up on (logs) a task that still runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

CANCEL_ROUNDS = 3
CANCEL_WAIT = 0.5  # seconds per round


async def stop(tasks: Iterable[asyncio.Task[None]], grace: float = 2.0) -> None:
    """Until every task is done: ``grace`` s to end by itself, then cancelled."""
    current = asyncio.current_task()
    tasks = [t for t in tasks if t is not current]
    pending = {t for t in tasks if not t.done()}
    if pending and grace > 0:
        _, pending = await asyncio.wait(pending, timeout=grace)
    for _ in range(CANCEL_ROUNDS):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_WAIT)
    for task in pending:
        log.warning("sandbox: task %s did not stop; left behind", task.get_name())
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.debug("sandbox: task %s ended with %r", task.get_name(), task.exception())
