"""One 20 ms clock for all AudioSocket legs of a server.

A timer per leg costs a task wake-up per leg every 20 ms (10,000 a second
at 200 calls); one clock that writes every leg's frame on each tick costs
one. Ticks fall on absolute deadlines of the loop's monotonic clock, so a
late wake-up never shifts the ticks after it. After a stall of more than a
few ticks the clock skips the missed ones instead of bursting them: a burst
would only sit in Asterisk's jitter buffer as added latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Ticked(Protocol):
    def tick(self, late: float, missed: int) -> None:
        """Send this tick's frame; ``late`` s behind its deadline, ``missed`` ticks skipped."""


class PacingClock:
    def __init__(self, period: float = 0.020, max_late_ticks: int = 3) -> None:
        self.period = period
        self._max_late = max_late_ticks * period
        self._members: dict[Ticked, None] = {}  # insertion-ordered set
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ticks_skipped = 0

    def __len__(self) -> int:
        return len(self._members)

    def add(self, member: Ticked) -> None:
        """Tick ``member`` from the next tick on (it sends its first frame itself)."""
        self._members[member] = None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="audiosocket-clock")
        self._wake.set()

    def discard(self, member: Ticked) -> None:
        self._members.pop(member, None)

    async def close(self) -> None:
        self._members.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.period
        while True:
            while not self._members:  # idle without waking up every 20 ms
                self._wake.clear()
                await self._wake.wait()
            start = loop.time()
            tick = 1
            while self._members:
                await asyncio.sleep(max(0.0, start + tick * period - loop.time()))
                late = loop.time() - (start + tick * period)
                missed = 0
                if late > self._max_late:
                    missed = int(late // period)
                    tick += missed
                    self.ticks_skipped += missed
                    log.info("AudioSocket clock %.0f ms late: skipped %d frames on %d legs",
                             late * 1000, missed, len(self._members))
                for member in list(self._members):
                    if member not in self._members:  # an earlier one closed it
                        continue
                    try:
                        member.tick(late, missed)
                    except Exception:  # one leg's bug must not stop every call's audio
                        log.exception("AudioSocket clock: tick of %r failed", member)
                        self.discard(member)
                tick += 1
